import type { ClickHouseClient } from '@clickhouse/client';
import {
  chSql,
  VigilError,
  type ApiDailyMetrics,
  type MetricName,
  type PoolClient,
} from '../../schemas/mod.ts';
import {
  dailyMetrics,
  dayWindow,
  daysBetween,
  nextDay,
  type DailyMetrics,
  type DayValue,
  type PeopleEvent,
} from '../analytics/mod.ts';
import { iso } from './context.ts';

/**
 * Daily metrics: read a site's people events from ClickHouse (`people_events`, deduplicated
 * with FINAL), compute them per local day, and replace that day's rows in PostgreSQL.
 */
interface EventRow {
  camera_id: string;
  event_id: string;
  kind: string;
  zone_id: string;
  entrance: number;
  track_id: string | number | null;
  at_ms: string | number;
  dwell_s: number | null;
  occupancy: string | number | null;
}

/** Largest span one recompute or realtime read covers. */
export const MAX_RECOMPUTE_DAYS = 31;

export async function readPeopleEvents(
  ch: ClickHouseClient,
  tenantId: string,
  siteId: string,
  from: number,
  to: number,
): Promise<PeopleEvent[]> {
  // `at` (seconds) prunes partitions; `at_ms` is the exact bound.
  const rs = await ch.query({
    query: chSql`SELECT camera_id, event_id, kind, zone_id, entrance, track_id, at_ms, dwell_s, occupancy
      FROM people_events FINAL
      WHERE tenant_id = ${tenantId} AND site_id = ${siteId}
        AND at >= toDateTime(${Math.floor(from / 1000)}) AND at <= toDateTime(${Math.ceil(to / 1000)})
        AND at_ms >= ${from} AND at_ms < ${to}`,
    format: 'JSONEachRow',
  });
  const rows = await rs.json<EventRow>();
  return rows.map((r) => ({
    eventId: r.event_id,
    cameraId: r.camera_id,
    zoneId: r.zone_id,
    kind: r.kind,
    entrance: Number(r.entrance) === 1,
    trackId: r.track_id === null ? null : Number(r.track_id),
    atMs: Number(r.at_ms),
    dwellS: r.dwell_s === null ? null : Number(r.dwell_s),
    occupancy: r.occupancy === null ? null : Number(r.occupancy),
  }));
}

/** Each day's metrics of a site, computed from its events in its time zone. */
export async function computeDays(
  ch: ClickHouseClient,
  tenantId: string,
  site: { id: string; timezone: string },
  from: string,
  to: string,
): Promise<{ events: number; days: Map<string, DailyMetrics[]> }> {
  const days = daysBetween(from, to);
  if (days.length > MAX_RECOMPUTE_DAYS)
    throw new VigilError('VALIDATION_FAILED', `at most ${MAX_RECOMPUTE_DAYS} days at once`);
  const window = { from: dayWindow(from, site.timezone).from, to: dayWindow(to, site.timezone).to };
  const events = await readPeopleEvents(ch, tenantId, site.id, window.from, window.to);
  return {
    events: events.length,
    days: new Map(days.map((d) => [d, dailyMetrics(events, d, site.timezone)])),
  };
}

/**
 * Replace the site's rows of each day (within the caller's transaction): a recompute after late
 * events writes the same rows as a first computation over the same events.
 */
export async function storeDays(
  c: PoolClient,
  siteId: string,
  days: ReadonlyMap<string, DailyMetrics[]>,
): Promise<number> {
  let written = 0;
  for (const [day, rows] of days) {
    await c.query('DELETE FROM metrics_daily WHERE site_id = $1 AND day = $2', [siteId, day]);
    if (rows.length === 0) continue;
    await c.query(
      `INSERT INTO metrics_daily (tenant_id, site_id, day, scope, camera_id, zone_id, footfall, unique_visitors_estimate,
         zone_entries, dwell_avg_s, dwell_median_s, interactions, peak_occupancy, peak_at, hourly)
       SELECT vigil_current_tenant(), $1, $2, r.scope, r.camera_id, r.zone_id, r.footfall, r.unique_visitors_estimate,
         r.zone_entries, r.dwell_avg_s, r.dwell_median_s, r.interactions, r.peak_occupancy,
         to_timestamp(r.peak_at_ms / 1000.0), r.hourly
       FROM jsonb_to_recordset($3::jsonb) AS r(scope text, camera_id uuid, zone_id text, footfall int,
         unique_visitors_estimate int, zone_entries int, dwell_avg_s float8, dwell_median_s float8, interactions int,
         peak_occupancy int, peak_at_ms float8, hourly int[])`,
      [
        siteId,
        day,
        JSON.stringify(
          rows.map((r) => ({
            scope: r.scope,
            camera_id: r.cameraId,
            zone_id: r.zoneId,
            footfall: r.footfall,
            unique_visitors_estimate: r.uniqueVisitorsEstimate,
            zone_entries: r.zoneEntries,
            dwell_avg_s: r.dwellAvgS,
            dwell_median_s: r.dwellMedianS,
            interactions: r.interactions,
            peak_occupancy: r.peakOccupancy,
            peak_at_ms: r.peakAtMs,
            hourly: r.hourly,
          })),
        ),
      ],
    );
    written += rows.length;
  }
  return written;
}

export interface MetricsRow {
  site_id: string;
  day: string;
  scope: 'site' | 'camera' | 'zone';
  camera_id: string | null;
  zone_id: string | null;
  footfall: number;
  unique_visitors_estimate: number;
  zone_entries: number;
  dwell_avg_s: number | null;
  dwell_median_s: number | null;
  interactions: number;
  peak_occupancy: number | null;
  peak_at: Date | null;
  hourly: number[];
}

export const COLUMNS = `site_id, to_char(day, 'YYYY-MM-DD') AS day, scope, camera_id, zone_id, footfall,
  unique_visitors_estimate, zone_entries, dwell_avg_s, dwell_median_s, interactions, peak_occupancy, peak_at, hourly`;

export function toApi(r: MetricsRow): ApiDailyMetrics {
  return {
    siteId: r.site_id,
    day: r.day,
    scope: r.scope,
    cameraId: r.camera_id,
    zoneId: r.zone_id,
    footfall: r.footfall,
    uniqueVisitorsEstimate: r.unique_visitors_estimate,
    zoneEntries: r.zone_entries,
    dwellAvgS: r.dwell_avg_s,
    dwellMedianS: r.dwell_median_s,
    interactions: r.interactions,
    peakOccupancy: r.peak_occupancy,
    peakAt: iso(r.peak_at),
    hourly: r.hourly,
  };
}

/** Column of each metric; constants only, never request input. */
const METRIC_COLUMNS: Record<MetricName, string> = {
  footfall: 'footfall',
  uniqueVisitorsEstimate: 'unique_visitors_estimate',
  zoneEntries: 'zone_entries',
  interactions: 'interactions',
  dwellAvgS: 'dwell_avg_s',
  dwellMedianS: 'dwell_median_s',
  peakOccupancy: 'peak_occupancy',
};

/** Metrics that add up across sites and zones (a promotion's total). */
export const ADDITIVE_METRICS = [
  'footfall',
  'uniqueVisitorsEstimate',
  'zoneEntries',
  'interactions',
] as const;

/**
 * One metric per day, summed over the given sites (site rows) or, with zones, over those zones'
 * rows. Days without rows are absent (no data), not zero.
 */
export async function metricSeries(
  c: PoolClient,
  metric: MetricName,
  q: { siteIds: readonly string[]; zoneIds?: readonly string[] | null; from: string; to: string },
): Promise<DayValue[]> {
  const column = METRIC_COLUMNS[metric];
  const zones = q.zoneIds && q.zoneIds.length > 0 ? q.zoneIds : null;
  const { rows } = await c.query<{ day: string; value: number | null }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, sum(${column})::float8 AS value
       FROM metrics_daily
      WHERE site_id = ANY($1::uuid[]) AND day BETWEEN $2 AND $3
        AND ${zones ? "scope = 'zone' AND zone_id = ANY($4::text[])" : "scope = 'site'"}
      GROUP BY day ORDER BY day`,
    zones ? [q.siteIds, q.from, q.to, zones] : [q.siteIds, q.from, q.to],
  );
  return rows.filter((r) => r.value !== null).map((r) => ({ day: r.day, value: r.value! }));
}

/** The first day of a look-back of `weeks` whole weeks before `day`. */
export const weeksBefore = (day: string, weeks: number): string => nextDay(day, -7 * weeks);
