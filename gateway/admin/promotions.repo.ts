import type { ApiPromotion, ApiPromotionLift, PoolClient } from '../../schemas/mod.ts';
import { promotionLift } from '../analytics/mod.ts';
import { iso } from './context.ts';
import { ADDITIVE_METRICS, metricSeries, weeksBefore } from './metrics.repo.ts';
import { timeKey } from './pagination.ts';
import { byId } from './route-kit.ts';

export interface PromotionRow {
  id: string;
  name: string;
  from_day: string;
  to_day: string;
  site_ids: string[];
  zone_ids: string[] | null;
  created_at: Date;
  updated_at: Date;
  _k: string;
}

export const COLUMNS = `id, name, to_char(from_day, 'YYYY-MM-DD') AS from_day, to_char(to_day, 'YYYY-MM-DD') AS to_day,
  site_ids, zone_ids, created_at, updated_at, ${timeKey('created_at')} AS _k`;
export const getPromotion = byId<PromotionRow>('promotions', COLUMNS, 'promotion not found');

export function toApi(r: PromotionRow): ApiPromotion {
  return {
    id: r.id,
    name: r.name,
    from: r.from_day,
    to: r.to_day,
    siteIds: r.site_ids,
    zoneIds: r.zone_ids,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/** Same-weekday medians look this many weeks back. */
export const LIFT_WEEKS = 4;

/** The promotion with its lift on every additive metric, from the stored daily metrics. */
export async function withLift(c: PoolClient, r: PromotionRow): Promise<ApiPromotionLift> {
  const lift: ApiPromotionLift['lift'] = [];
  const length = Math.round((Date.parse(r.to_day) - Date.parse(r.from_day)) / 86_400_000) + 1;
  const earliest = [
    weeksBefore(r.from_day, LIFT_WEEKS),
    weeksBefore(r.from_day, Math.ceil(length / 7)),
  ].sort()[0]!;
  for (const metric of ADDITIVE_METRICS) {
    const series = await metricSeries(c, metric, {
      siteIds: r.site_ids,
      zoneIds: r.zone_ids,
      from: earliest,
      to: r.to_day,
    });
    lift.push({ metric, ...promotionLift(series, { from: r.from_day, to: r.to_day }, LIFT_WEEKS) });
  }
  return { ...toApi(r), lift };
}
