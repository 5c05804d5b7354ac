import { Type } from '@sinclair/typebox';
import {
  ApiSite,
  IdParams,
  SiteCreateBody,
  SiteListQuery,
  SiteUpdateBody,
  VigilError,
} from '../../schemas/mod.ts';
import { audit, inTenant } from './context.ts';
import { guards, readOne, readPage, resource, updateById } from './route-kit.ts';
import { type SiteRow, COLUMNS, getSite, toApi, assertTimezone } from './sites.repo.ts';

export const siteRoutes = resource('sites', async (app, { deps }) => {
  const { reader, admin } = guards(app);

  readPage(
    app,
    deps,
    '/sites',
    {
      guard: reader,
      summary: "List sites (only the caller's sites when restricted)",
      querystring: SiteListQuery,
      response: ApiSite,
      column: 'created_at',
      select: `SELECT ${COLUMNS} FROM sites`,
    },
    toApi,
  );
  readOne(app, deps, '/sites/:id', { guard: reader, summary: 'One site', response: ApiSite }, getSite, toApi);

  app.post(
    '/sites',
    {
      ...admin,
      schema: {
        summary: 'Create a site',
        body: SiteCreateBody,
        response: { 201: ApiSite },
      },
    },
    async (request, reply) => {
      const body = request.body;
      assertTimezone(body.timezone);
      const row = await inTenant(deps, request, async (c) => {
        const { rows } = await c.query<SiteRow>(
          `INSERT INTO sites (tenant_id, name, timezone, address) VALUES (vigil_current_tenant(), $1, $2, $3)
           RETURNING ${COLUMNS}`,
          [body.name, body.timezone, body.address ?? null],
        );
        const site = rows[0]!;
        await audit(c, request, {
          action: 'site.create',
          targetType: 'site',
          targetId: site.id,
          after: body,
        });
        return site;
      });
      return reply.code(201).send(toApi(row));
    },
  );

  app.patch(
    '/sites/:id',
    {
      ...admin,
      schema: {
        summary: 'Update a site',
        params: IdParams,
        body: SiteUpdateBody,
        response: { 200: ApiSite },
      },
    },
    async (request) => {
      const { id } = request.params;
      const body = request.body;
      assertTimezone(body.timezone);
      const row = await inTenant(deps, request, async (c) => {
        const before = await getSite(c, id, true);
        const after = await updateById<SiteRow>(
          c,
          'sites',
          id,
          body,
          { name: 'name', timezone: 'timezone', address: 'address' },
          COLUMNS,
        );
        await audit(c, request, {
          action: 'site.update',
          targetType: 'site',
          targetId: id,
          before: { name: before.name, timezone: before.timezone, address: before.address },
          after: body,
        });
        return after;
      });
      return toApi(row);
    },
  );

  app.delete(
    '/sites/:id',
    {
      ...admin,
      schema: {
        summary: 'Delete a site without equipment',
        description: '409 CONFLICT while equipment (in service or decommissioned) still belongs to the site.',
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await inTenant(deps, request, async (c) => {
        const before = await getSite(c, id, true);
        const { rowCount } = await c.query('SELECT 1 FROM equipment WHERE site_id = $1 LIMIT 1', [id]);
        // Deleting would cascade to the equipment's alerts and history: never implicitly.
        if (rowCount) throw new VigilError('CONFLICT', 'the site still has equipment');
        await c.query('DELETE FROM sites WHERE id = $1', [id]);
        await audit(c, request, {
          action: 'site.delete',
          targetType: 'site',
          targetId: id,
          before: { name: before.name, timezone: before.timezone },
        });
      });
      return reply.code(204).send(null);
    },
  );
});
