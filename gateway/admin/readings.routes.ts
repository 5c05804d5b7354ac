import { Type } from '@sinclair/typebox';
import {
  ApiFleetUnit,
  ApiHourly,
  ApiReading,
  FleetQuery,
  HourlyQuery,
  Page,
  ReadingsQuery,
  RollupPage,
  SiteRollupQuery,
  VigilError,
  type PoolClient,
} from '../../schemas/mod.ts';
import { inTenant } from './context.ts';
import { Where, decodeCursor, page, timeKey } from './pagination.ts';
import { resource, route } from './route-kit.ts';
import { rollupWindow, siteRollups, unitHours, unitRollups } from './rollups.ts';
import { FLEET_SELECT, READING_COLUMNS, toFleetUnit, toReading, type ReadingRow } from './readings.repo.ts';
import { NewestFirst } from './table.ts';

/**
 * Reads of stored telemetry. They go through `telemetry_v` and the rollup views only: the app
 * role has no grant on the table, its partitions or rollups (SPEC §8), and the views filter on
 * the transaction's tenant and sites. Equipment (or site) visibility (RLS) is checked first, so
 * an invisible unit answers 404 rather than an empty history.
 */

async function assertVisible(c: PoolClient, equipmentId: string): Promise<void> {
  const { rowCount } = await c.query('SELECT 1 FROM equipment WHERE id = $1', [equipmentId]);
  if (!rowCount) throw new VigilError('NOT_FOUND', 'equipment not found');
}

export const readingRoutes = resource('equipment', async (app, { deps }) => {
  route(app, 'GET', '/fleet', 'viewer', {
    summary: 'Fleet board: every unit in service with its latest reading and open alerts',
    querystring: FleetQuery,
    response: Page(ApiFleetUnit),
    handler: async (request) => {
      const q = request.query;
      const list = new NewestFirst(q, 'e.created_at', 'e.id');
      list.where.and('e.decommissioned_at IS NULL');
      if (q.siteId) list.where.and(`e.site_id = ${list.where.p(q.siteId)}`);
      return inTenant(deps, request, (c) => list.fetch(c, FLEET_SELECT, toFleetUnit));
    },
  });

  route(app, 'GET', '/equipment/:id/readings', 'viewer', {
    summary: 'Stored readings of one unit (newest first), or its hourly / daily rollups',
    description:
      '`bucket=raw` (default): stored readings, paged newest first. `bucket=1h|1d`: rollups ' +
      '(see GET /v1/sites/{id}/readings), oldest first, no paging.',
    querystring: ReadingsQuery,
    response: Type.Union([Page(ApiReading), RollupPage]),
    handler: async (request) => {
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
  });

  route(app, 'GET', '/equipment/:id/readings/hourly', 'viewer', {
    summary: 'Hourly min/avg/max, door-open ratio and compressor duty of one unit (≤ 31 days)',
    description: 'Defaults to the last 24 hours. Rollups are refreshed by the maintenance job.',
    querystring: HourlyQuery,
    response: Type.Array(ApiHourly),
    handler: async (request) => {
      const { id } = request.params;
      const w = rollupWindow('1h', request.query.from, request.query.to);
      return inTenant(deps, request, async (c) => {
        await assertVisible(c, id);
        return unitHours(c, w, id);
      });
    },
  });

  route(app, 'GET', '/sites/:id/readings', 'viewer', {
    summary: 'Hourly or daily rollups of every unit of a site',
    description:
      'Min/avg/max temperature and pressure, compressor duty, door-open readings and minutes, ' +
      'readings and minutes out of the setpoint band (±2 °C), per unit and bucket, oldest first. ' +
      '`1h`: at most 31 days (default the last 24 hours); `1d`: at most 2 years (default 30 days).',
    querystring: SiteRollupQuery,
    response: RollupPage,
    handler: async (request) => {
      const { id } = request.params;
      const q = request.query;
      const w = rollupWindow(q.bucket ?? '1h', q.from, q.to);
      return inTenant(deps, request, async (c) => {
        const { rowCount } = await c.query('SELECT 1 FROM sites WHERE id = $1', [id]);
        if (!rowCount) throw new VigilError('NOT_FOUND', 'site not found');
        return siteRollups(c, w, id);
      });
    },
  });
});
