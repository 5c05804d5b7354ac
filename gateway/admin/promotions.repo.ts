import {
  VigilError,
  type ApiPromotion,
  type ApiPromotionLift,
  type PoolClient,
  type PromotionCreateBody,
  type PromotionUpdateBody,
} from '../../schemas/mod.ts';
import { promotionLift } from '../analytics/mod.ts';
import { iso } from './context.ts';
import { ADDITIVE_METRICS, metricSeries, weeksBefore } from './metrics.repo.ts';
import { timeKey } from './pagination.ts';
import { assertSitesVisible } from './sites.repo.ts';
import { Table } from './table.ts';

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
export const PROMOTIONS = new Table<PromotionRow>('promotions', COLUMNS, 'promotion not found');

/** API field → column, for partial updates. */
export const PROMOTION_FIELDS = {
  name: 'name',
  from: 'from_day',
  to: 'to_day',
  siteIds: 'site_ids',
  zoneIds: 'zone_ids',
};

export function assertPeriod(from: string | undefined, to: string | undefined): void {
  if (from !== undefined && to !== undefined && to < from)
    throw new VigilError('VALIDATION_FAILED', 'body/to: before from');
}

/** The promotion's sites must be ones the caller can see. */
export async function insertPromotion(c: PoolClient, b: PromotionCreateBody): Promise<PromotionRow> {
  await assertSitesVisible(c, b.siteIds);
  const { rows } = await c.query<PromotionRow>(
    `INSERT INTO promotions (tenant_id, name, from_day, to_day, site_ids, zone_ids)
     VALUES (vigil_current_tenant(), $1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [b.name, b.from, b.to, [...new Set(b.siteIds)], b.zoneIds ?? null],
  );
  return rows[0]!;
}

/** The period as `b` changes it must still run forwards; new sites must be visible. */
export async function assertPromotionChange(
  c: PoolClient,
  before: PromotionRow,
  b: PromotionUpdateBody,
): Promise<void> {
  assertPeriod(b.from ?? before.from_day, b.to ?? before.to_day);
  if (b.siteIds) await assertSitesVisible(c, b.siteIds);
}

/** The update's fields, each site once. */
export const promotionFields = (b: PromotionUpdateBody) => ({
  ...b,
  ...(b.siteIds ? { siteIds: [...new Set(b.siteIds)] } : {}),
});

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
