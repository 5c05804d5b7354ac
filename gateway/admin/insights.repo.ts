import type { ApiFinding, ApiInsights, PoolClient } from '../../schemas/mod.ts';
import { findSpikes, median, DEFAULT_SPIKES, type InsightStats } from '../analytics/mod.ts';
import { iso } from './context.ts';
import { metricSeries, weeksBefore } from './metrics.repo.ts';
import { COLUMNS as PROMOTION_COLUMNS, withLift, type PromotionRow } from './promotions.repo.ts';
import { timeKey } from './pagination.ts';

export interface InsightsRow {
  id: string;
  site_id: string;
  from_day: string;
  to_day: string;
  findings: ApiFinding[];
  model: string | null;
  created_at: Date;
  _k: string;
}

export const COLUMNS = `id, site_id, to_char(from_day, 'YYYY-MM-DD') AS from_day, to_char(to_day, 'YYYY-MM-DD') AS to_day,
  findings, model, created_at, ${timeKey('created_at')} AS _k`;

export function toApi(r: InsightsRow): ApiInsights {
  return {
    id: r.id,
    siteId: r.site_id,
    from: r.from_day,
    to: r.to_day,
    findings: r.findings,
    model: r.model,
    createdAt: iso(r.created_at),
  };
}

const BASELINE_WEEKS = 4;

/**
 * Vigil's own statistics of a site over a period, from the stored daily metrics (of this
 * tenant only: RLS): promotions overlapping it, footfall spikes in it, zones whose median dwell
 * moved against the weeks before.
 */
export async function insightStats(
  c: PoolClient,
  site: { id: string; name: string },
  from: string,
  to: string,
): Promise<InsightStats> {
  const { rows: promos } = await c.query<PromotionRow>(
    `SELECT ${PROMOTION_COLUMNS} FROM promotions
      WHERE $1 = ANY(site_ids) AND from_day <= $3 AND to_day >= $2 ORDER BY from_day, id`,
    [site.id, from, to],
  );
  const promotions: InsightStats['promotions'] = [];
  for (const p of promos) {
    const footfall = (await withLift(c, p)).lift.find((l) => l.metric === 'footfall')!;
    promotions.push({
      name: p.name,
      metric: 'footfall',
      from: p.from_day,
      to: p.to_day,
      liftPct: footfall.previousPeriod.liftPct,
      during: footfall.previousPeriod.during,
      baseline: footfall.previousPeriod.baseline,
    });
  }

  const series = await metricSeries(c, 'footfall', {
    siteIds: [site.id],
    from: weeksBefore(from, BASELINE_WEEKS),
    to,
  });
  const spikes = findSpikes(series, { ...DEFAULT_SPIKES, weeks: BASELINE_WEEKS })
    .filter((v) => v.spike && v.day >= from && v.day <= to)
    .map((v) => ({
      day: v.day,
      metric: 'footfall',
      scope: site.name,
      value: v.value,
      baseline: v.baseline,
      liftPct: v.liftPct,
      weeks: BASELINE_WEEKS,
    }));

  const { rows: dwellRows } = await c.query<{ zone_id: string; day: string; dwell: number }>(
    `SELECT zone_id, to_char(day, 'YYYY-MM-DD') AS day, dwell_median_s AS dwell FROM metrics_daily
      WHERE site_id = $1 AND scope = 'zone' AND day BETWEEN $2 AND $3 AND dwell_median_s IS NOT NULL
      ORDER BY zone_id, day`,
    [site.id, weeksBefore(from, BASELINE_WEEKS), to],
  );
  const byZone = new Map<string, { during: number[]; before: number[] }>();
  for (const r of dwellRows) {
    const z = byZone.get(r.zone_id) ?? { during: [], before: [] };
    (r.day >= from ? z.during : z.before).push(r.dwell);
    byZone.set(r.zone_id, z);
  }
  const dwell: InsightStats['dwell'] = [];
  for (const [zone, z] of byZone) {
    const now = median(z.during);
    const then = median(z.before);
    if (now === null || then === null) continue;
    // Sentences show one decimal: the statistics use the same rounded figures.
    dwell.push({
      zone: `zone '${zone}'`,
      dwellMedianS: Math.round(now * 10) / 10,
      baselineMedianS: Math.round(then * 10) / 10,
      weeks: BASELINE_WEEKS,
    });
  }
  return { promotions, spikes, dwell };
}
