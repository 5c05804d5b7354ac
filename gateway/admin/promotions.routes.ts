import { Type } from '@sinclair/typebox';
import {
  ApiPromotion,
  ApiPromotionLift,
  IdParams,
  Page,
  PromotionCreateBody,
  PromotionListQuery,
  PromotionUpdateBody,
  VigilError,
} from '../../schemas/mod.ts';
import { audit, inTenant } from './context.ts';
import { COLUMNS, getPromotion, toApi, withLift, type PromotionRow } from './promotions.repo.ts';
import { guards, NewestFirst, resource, updateById } from './route-kit.ts';
import { assertSitesVisible } from './sites.repo.ts';

function assertPeriod(from: string | undefined, to: string | undefined): void {
  if (from !== undefined && to !== undefined && to < from)
    throw new VigilError('VALIDATION_FAILED', 'body/to: before from');
}

export const promotionRoutes = resource('promotions', async (app, { deps }) => {
  const { reader, operator } = guards(app);

  app.get(
    '/promotions',
    {
      ...reader,
      schema: {
        summary: 'List promotions and events (those of the caller’s sites when restricted)',
        querystring: PromotionListQuery,
        response: { 200: Page(ApiPromotion) },
      },
    },
    async (request) => {
      const list = new NewestFirst(request.query, 'created_at');
      return inTenant(deps, request, (c) => list.fetch(c, `SELECT ${COLUMNS} FROM promotions`, toApi));
    },
  );

  app.get(
    '/promotions/:id',
    {
      ...reader,
      schema: {
        summary: 'A promotion with its lift per metric',
        description:
          'Lift against the equal-length period right before it, and against the same weekdays of the 4 weeks before (medians), from the stored daily metrics.',
        params: IdParams,
        response: { 200: ApiPromotionLift },
      },
    },
    async (request) =>
      inTenant(deps, request, async (c) => withLift(c, await getPromotion(c, request.params.id))),
  );

  app.post(
    '/promotions',
    {
      ...operator,
      schema: {
        summary: 'Create a promotion or event',
        body: PromotionCreateBody,
        response: { 201: ApiPromotion },
      },
    },
    async (request, reply) => {
      const b = request.body;
      assertPeriod(b.from, b.to);
      const row = await inTenant(deps, request, async (c) => {
        await assertSitesVisible(c, b.siteIds);
        const { rows } = await c.query<PromotionRow>(
          `INSERT INTO promotions (tenant_id, name, from_day, to_day, site_ids, zone_ids)
           VALUES (vigil_current_tenant(), $1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
          [b.name, b.from, b.to, [...new Set(b.siteIds)], b.zoneIds ?? null],
        );
        const p = rows[0]!;
        await audit(c, request, {
          action: 'promotion.create',
          targetType: 'promotion',
          targetId: p.id,
          after: b,
        });
        return p;
      });
      return reply.code(201).send(toApi(row));
    },
  );

  app.patch(
    '/promotions/:id',
    {
      ...operator,
      schema: {
        summary: 'Update a promotion',
        params: IdParams,
        body: PromotionUpdateBody,
        response: { 200: ApiPromotion },
      },
    },
    async (request) => {
      const { id } = request.params;
      const b = request.body;
      const row = await inTenant(deps, request, async (c) => {
        const before = await getPromotion(c, id, true);
        assertPeriod(b.from ?? before.from_day, b.to ?? before.to_day);
        if (b.siteIds) await assertSitesVisible(c, b.siteIds);
        const fields = { ...b, ...(b.siteIds ? { siteIds: [...new Set(b.siteIds)] } : {}) };
        const row = await updateById<PromotionRow>(
          c,
          'promotions',
          id,
          fields,
          { name: 'name', from: 'from_day', to: 'to_day', siteIds: 'site_ids', zoneIds: 'zone_ids' },
          COLUMNS,
        );
        await audit(c, request, {
          action: 'promotion.update',
          targetType: 'promotion',
          targetId: id,
          before: toApi(before),
          after: b,
        });
        return row;
      });
      return toApi(row);
    },
  );

  app.delete(
    '/promotions/:id',
    {
      ...operator,
      schema: { summary: 'Delete a promotion', params: IdParams, response: { 204: Type.Null() } },
    },
    async (request, reply) => {
      const { id } = request.params;
      await inTenant(deps, request, async (c) => {
        const before = await getPromotion(c, id, true);
        await c.query('DELETE FROM promotions WHERE id = $1', [id]);
        await audit(c, request, {
          action: 'promotion.delete',
          targetType: 'promotion',
          targetId: id,
          before: toApi(before),
        });
      });
      return reply.code(204).send(null);
    },
  );
});
