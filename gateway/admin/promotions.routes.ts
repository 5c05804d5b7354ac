import {
  ApiPromotion,
  ApiPromotionLift,
  PromotionCreateBody,
  PromotionListQuery,
  PromotionUpdateBody,
} from '../../schemas/mod.ts';
import {
  PROMOTIONS,
  PROMOTION_FIELDS,
  assertPeriod,
  assertPromotionChange,
  insertPromotion,
  promotionFields,
  toApi,
  withLift,
} from './promotions.repo.ts';
import { crud, resource } from './route-kit.ts';

export const promotionRoutes = resource('promotions', async (app, { deps }) => {
  crud(app, deps, {
    path: '/promotions',
    table: PROMOTIONS,
    item: ApiPromotion,
    show: toApi,
    audit: { type: 'promotion' },
    list: {
      guard: 'viewer',
      summary: 'List promotions and events (those of the caller’s sites when restricted)',
      querystring: PromotionListQuery,
      column: 'created_at',
    },
    get: {
      guard: 'viewer',
      summary: 'A promotion with its lift per metric',
      description:
        'Lift against the equal-length period right before it, and against the same weekdays of the 4 weeks before (medians), from the stored daily metrics.',
      detail: { response: ApiPromotionLift, load: withLift },
    },
    create: {
      guard: 'operator',
      summary: 'Create a promotion or event',
      body: PromotionCreateBody,
      validate: (b) => assertPeriod(b.from, b.to),
      insert: insertPromotion,
    },
    update: {
      guard: 'operator',
      summary: 'Update a promotion',
      body: PromotionUpdateBody,
      check: assertPromotionChange,
      columns: PROMOTION_FIELDS,
      fields: promotionFields,
    },
    remove: { guard: 'operator', summary: 'Delete a promotion' },
  });
});
