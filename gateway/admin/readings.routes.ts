import { Type } from '@sinclair/typebox';
import {
  ApiFleetUnit,
  ApiHourly,
  ApiReading,
  FleetQuery,
  HourlyQuery,
  IdParams,
  Page,
  ReadingsQuery,
  RollupPage,
  VigilError,
  type PoolClient,
} from '../../schemas/mod.ts';
import { inTenant, iso } from './context.ts';
import { Where, decodeCursor, page, timeKey } from './pagination.ts';
import { guards, resource } from './route-kit.ts';
import { rollupWindow, unitRollups } from './rollups.ts';
import { READING_COLUMNS, toReading, type ReadingRow } from './readings.repo.ts';

/**
 * Reads of stored telemetry. They go through `telemetry_v` / `telemetry_hourly_v` only: the
 * app role has no grant on the table, its partitions or rollups (SPEC §8), and the views filter
 * on the transaction's tenant and sites. Equipment visibility (RLS) is checked first, so an
 * invisible unit answers 404 rather than an empty history.
 */

const HOUR_MS = 3_600_000;
const MAX_HOURLY_SPAN_MS = 31 * 24 * HOUR_MS;

async function assertVisible(c: PoolClient, equipmentId: string): Promise<void> {
  const { rowCount } = await c.query('SELECT 1 FROM equipment WHERE id = $1', [equipmentId]);
  if (!rowCount) throw new VigilError('NOT_FOUND', 'equipment not found');
}

export const readingRoutes = resource('equipment', async (app, { deps }) => {
  const { reader } = guards(app);

  app.get(
    '/fleet',
    {
      ...reader,
      schema: {
        summary: 'Fleet board: every unit in service with its latest reading and open alerts',
        querystring: FleetQuery,
        response: { 200: Page(ApiFleetUnit) },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 50;
      const w = new Where()
        .before(decodeCursor(q.cursor), 'e.created_at', 'e.id')
        .and('e.decommissioned_at IS NULL');
      if (q.siteId) w.and(`e.site_id = ${w.p(q.siteId)}`);
      return inTenant(deps, request, async (c) => {
        // One index probe per unit for its newest reading: (equipment_id, ts) is the key.
        const { rows } = await c.query<
          ReadingRow & {
            id: string;
            site_id: string;
            name: string;
            kind: string;
            unit_setpoint: number | null;
            has_reading: boolean;
            open_alerts: number;
            worst: 'info' | 'warning' | 'critical' | null;
            _k: string;
          }
        >(
          `SELECT e.id, e.site_id, e.name, e.kind, e.setpoint AS unit_setpoint, ${timeKey('e.created_at')} AS _k,
                  r.ts IS NOT NULL AS has_reading, r.ts, r.temperature, r.pressure, r.door, r.heater,
                  r.compressor, r.fan, r.setpoint, r.metrics,
                  COALESCE(a.open, 0)::int AS open_alerts, a.worst
           FROM equipment e
           LEFT JOIN LATERAL (
             SELECT ${READING_COLUMNS} FROM telemetry_v t WHERE t.equipment_id = e.id ORDER BY t.ts DESC LIMIT 1
           ) r ON true
           LEFT JOIN LATERAL (
             SELECT count(*) AS open,
                    (ARRAY['info', 'warning', 'critical'])[max(CASE severity WHEN 'critical' THEN 3
                                                               WHEN 'warning' THEN 2 ELSE 1 END)] AS worst
             FROM alerts WHERE equipment_id = e.id AND status <> 'resolved'
           ) a ON true
           ${w.sql}
           ORDER BY e.created_at DESC, e.id DESC LIMIT ${w.p(limit + 1)}`,
          w.params,
        );
        return page(rows, limit, (r) => ({
          id: r.id,
          siteId: r.site_id,
          name: r.name,
          kind: r.kind,
          setpoint: r.unit_setpoint,
          lastReading: r.has_reading ? toReading(r) : null,
          openAlerts: r.open_alerts,
          worstSeverity: r.worst,
        }));
      });
    },
  );

  app.get(
    '/equipment/:id/readings',
    {
      ...reader,
      schema: {
        summary: 'Stored readings of one unit (newest first), or its hourly / daily rollups',
        description:
          '`bucket=raw` (default): stored readings, paged newest first. `bucket=1h|1d`: rollups ' +
          '(see GET /v1/sites/{id}/readings), oldest first, no paging.',
        params: IdParams,
        querystring: ReadingsQuery,
        response: { 200: Type.Union([Page(ApiReading), RollupPage]) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const q = request.query;
      if (q.bucket === '1h' || q.bucket === '1d') {
        const w = rollupWindow(q.bucket, q.from, q.to);
        return inTenant(deps, request, async (c) => {
          await assertVisible(c, id);
          return unitRollups(c, w, id);
        });
      }
      const limit = q.limit ?? 50;
      const cursor = decodeCursor(q.cursor);
      if (cursor && cursor.id !== id)
        throw new VigilError('VALIDATION_FAILED', 'querystring/cursor: invalid cursor');
      const w = new Where();
      w.and(`equipment_id = ${w.p(id)}`).before(cursor, 'ts', 'equipment_id');
      if (q.from) w.and(`ts >= ${w.p(q.from)}`);
      if (q.to) w.and(`ts < ${w.p(q.to)}`);
      return inTenant(deps, request, async (c) => {
        await assertVisible(c, id);
        const { rows } = await c.query<ReadingRow & { id: string; _k: string }>(
          `SELECT equipment_id AS id, ${timeKey('ts')} AS _k, ${READING_COLUMNS} FROM telemetry_v ${w.sql}
           ORDER BY ts DESC LIMIT ${w.p(limit + 1)}`,
          w.params,
        );
        return page(rows, limit, toReading);
      });
    },
  );

  app.get(
    '/equipment/:id/readings/hourly',
    {
      ...reader,
      schema: {
        summary: 'Hourly min/avg/max, door-open ratio and compressor duty of one unit (≤ 31 days)',
        description: 'Defaults to the last 24 hours. Rollups are refreshed by the maintenance job.',
        params: IdParams,
        querystring: HourlyQuery,
        response: { 200: Type.Array(ApiHourly) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const q = request.query;
      const to = q.to ? Date.parse(q.to) : Date.now();
      const from = q.from ? Date.parse(q.from) : to - 24 * HOUR_MS;
      if (to <= from) throw new VigilError('VALIDATION_FAILED', 'querystring: from must be before to');
      if (to - from > MAX_HOURLY_SPAN_MS)
        throw new VigilError('VALIDATION_FAILED', 'querystring: at most 31 days');
      return inTenant(deps, request, async (c) => {
        await assertVisible(c, id);
        const { rows } = await c.query<{
          bucket: Date;
          readings: number;
          temp_min: number | null;
          temp_avg: number | null;
          temp_max: number | null;
          pressure_min: number | null;
          pressure_avg: number | null;
          pressure_max: number | null;
          door_open_ratio: number | null;
          compressor_duty: number | null;
        }>(
          `SELECT bucket, readings, temp_min, temp_avg, temp_max, pressure_min, pressure_avg, pressure_max,
                  door_open_ratio, compressor_duty
           FROM telemetry_hourly_v WHERE equipment_id = $1 AND bucket >= $2 AND bucket < $3 ORDER BY bucket`,
          [id, new Date(from), new Date(to)],
        );
        return rows.map((r) => ({
          hour: iso(r.bucket),
          readings: r.readings,
          temperatureMin: r.temp_min,
          temperatureAvg: r.temp_avg,
          temperatureMax: r.temp_max,
          pressureMin: r.pressure_min,
          pressureAvg: r.pressure_avg,
          pressureMax: r.pressure_max,
          doorOpenRatio: r.door_open_ratio,
          compressorDuty: r.compressor_duty,
        }));
      });
    },
  );
});
