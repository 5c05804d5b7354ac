import {
  ApiRealtime,
  MAX_METRIC_DAYS,
  MetricsDailyList,
  MetricsDailyQuery,
  MetricsRecomputeBody,
  MetricsRecomputeResult,
  SiteQuery,
  SpikesList,
  SpikesQuery,
  VigilError,
} from '../../schemas/mod.ts';
import {
  dailyMetrics,
  dayWindow,
  daysBetween,
  findSpikes,
  DEFAULT_SPIKES,
  localDay,
} from '../analytics/mod.ts';
import { principalOf } from '../identity/mod.ts';
import { inTenant } from './context.ts';
import {
  computeDays,
  COLUMNS,
  metricSeries,
  readPeopleEvents,
  storeDays,
  toApi,
  weeksBefore,
  type MetricsRow,
} from './metrics.repo.ts';
import { resource, route } from './route-kit.ts';
import { getSite } from './sites.repo.ts';
import { Where } from './pagination.ts';

function assertRange(from: string, to: string, max: number): void {
  if (to < from) throw new VigilError('VALIDATION_FAILED', 'querystring/to: before from');
  if (daysBetween(from, to).length > max)
    throw new VigilError('VALIDATION_FAILED', `at most ${max} days at once`);
}

export const metricsRoutes = resource('metrics', async (app, { deps }) => {
  route(app, 'GET', '/metrics/daily', 'viewer', {
    summary: "Daily people metrics of a site, per site, camera and zone, in the site's local days",
    description: `At most ${MAX_METRIC_DAYS} days; rows are written by POST /v1/metrics/recompute.`,
    querystring: MetricsDailyQuery,
    response: MetricsDailyList,
    handler: async (request) => {
      const q = request.query;
      assertRange(q.from, q.to, MAX_METRIC_DAYS);
      return inTenant(deps, request, async (c) => {
        const w = new Where();
        if (q.siteId) {
          await getSite(c, q.siteId);
          w.and(`site_id = ${w.p(q.siteId)}`);
        }
        w.and(`day BETWEEN ${w.p(q.from)} AND ${w.p(q.to)}`);
        if (q.scope) w.and(`scope = ${w.p(q.scope)}`);
        if (q.cameraId) w.and(`camera_id = ${w.p(q.cameraId)}`);
        if (q.zoneId) w.and(`zone_id = ${w.p(q.zoneId)}`);
        const { rows } = await c.query<MetricsRow>(
          `SELECT ${COLUMNS} FROM metrics_daily ${w.sql}
           ORDER BY day, site_id, scope DESC, camera_id NULLS FIRST, zone_id NULLS FIRST`,
          w.params,
        );
        return { items: rows.map(toApi) };
      });
    },
  });

  route(app, 'POST', '/metrics/recompute', 'operator', {
    summary: "Recompute a site's daily metrics from its people events (idempotent)",
    description: 'Replaces the days’ rows; run it again after late events arrive. At most 31 days.',
    body: MetricsRecomputeBody,
    response: MetricsRecomputeResult,
    handler: async (request) => {
      const { siteId, from, to } = request.body;
      assertRange(from, to, 31);
      const site = await inTenant(deps, request, (c) => getSite(c, siteId));
      const { events, days } = await computeDays(deps.ch, principalOf(request).tenantId, site, from, to);
      const rows = await inTenant(deps, request, async (c) => {
        await getSite(c, siteId, true);
        return storeDays(c, siteId, days);
      });
      return { days: days.size, events, rows };
    },
  });

  route(app, 'GET', '/metrics/realtime', 'viewer', {
    summary: "Today's counts and current occupancy per camera and zone of a site",
    querystring: SiteQuery,
    response: ApiRealtime,
    handler: async (request) => {
      const site = await inTenant(deps, request, (c) => getSite(c, request.query.siteId));
      const day = localDay(Date.now(), site.timezone);
      const { from, to } = dayWindow(day, site.timezone);
      const events = await readPeopleEvents(deps.ch, principalOf(request).tenantId, site.id, from, to);
      // Each zone's latest occupancy; a camera and the site show their busiest zone's.
      const latest = new Map<string, { at: number; count: number }>();
      for (const e of events) {
        if (e.kind !== 'occupancy' || e.occupancy === null) continue;
        const key = `${e.cameraId}/${e.zoneId}`;
        const prev = latest.get(key);
        if (!prev || e.atMs >= prev.at) latest.set(key, { at: e.atMs, count: e.occupancy });
      }
      const occupancy = (cameraId: string | null, zoneId: string | null): number | null => {
        let best: number | null = null;
        for (const [key, v] of latest) {
          const [cam, zone] = key.split('/');
          if ((cameraId === null || cam === cameraId) && (zoneId === null || zone === zoneId))
            best = Math.max(best ?? 0, v.count);
        }
        return best;
      };
      return {
        siteId: site.id,
        day,
        items: dailyMetrics(events, day, site.timezone).map((m) => ({
          scope: m.scope,
          cameraId: m.cameraId,
          zoneId: m.zoneId,
          occupancy: occupancy(m.cameraId, m.zoneId),
          footfall: m.footfall,
          zoneEntries: m.zoneEntries,
          interactions: m.interactions,
        })),
      };
    },
  });

  route(app, 'GET', '/analytics/spikes', 'viewer', {
    summary: 'Days outside the robust band of the same weekday over the trailing weeks',
    description:
      'Baseline: median of the same weekday over `weeks` weeks before each day; band: 3 scaled MADs (at least 5 % of the baseline); lift % against the baseline.',
    querystring: SpikesQuery,
    response: SpikesList,
    handler: async (request) => {
      const q = request.query;
      assertRange(q.from, q.to, MAX_METRIC_DAYS);
      const metric = q.metric ?? 'footfall';
      const weeks = q.weeks ?? DEFAULT_SPIKES.weeks;
      const series = await inTenant(deps, request, async (c) => {
        await getSite(c, q.siteId);
        return metricSeries(c, metric, { siteIds: [q.siteId], from: weeksBefore(q.from, weeks), to: q.to });
      });
      const verdicts = findSpikes(series, {
        ...DEFAULT_SPIKES,
        weeks,
        minWeeks: Math.min(DEFAULT_SPIKES.minWeeks, weeks),
      });
      return { metric, items: verdicts.filter((v) => v.day >= q.from && v.day <= q.to) };
    },
  });
});
