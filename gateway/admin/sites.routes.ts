import { Type } from '@sinclair/typebox';
import {
  ApiSite,
  IdParams,
  Page,
  SiteCreateBody,
  SiteListQuery,
  SiteUpdateBody,
  VigilError,
} from '../../schemas/mod.ts';
import { audit, inTenant, setClause } from './context.ts';
import { guards, NewestFirst, resource } from './route-kit.ts';
import { type SiteRow, COLUMNS, getSite, toApi, assertTimezone } from './sites.repo.ts';

export const siteRoutes = resource('sites', async (app, { deps }) => {
  const { reader, admin } = guards(app);

  app.get(
    '/sites',
    {
      ...reader,
      schema: {
        summary: "List sites (only the caller's sites when restricted)",
        querystring: SiteListQuery,
        response: { 200: Page(ApiSite) },
      },
    },
    async (request) => {
      const list = new NewestFirst(request.query, 'created_at');
      return inTenant(deps, request, (c) => list.fetch(c, `SELECT ${COLUMNS} FROM sites`, toApi));
    },
  );

  app.get(
    '/sites/:id',
    {
      ...reader,
      schema: {
        summary: 'One site',
        params: IdParams,
        response: { 200: ApiSite },
      },
    },
    async (request) => {
      const { id } = request.params;
      return toApi(await inTenant(deps, request, (c) => getSite(c, id)));
    },
  );

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
        const params: unknown[] = [id];
        const set = setClause(body, { name: 'name', timezone: 'timezone', address: 'address' }, params);
        const { rows } = await c.query<SiteRow>(
          `UPDATE sites SET ${set} WHERE id = $1 RETURNING ${COLUMNS}`,
          params,
        );
        await audit(c, request, {
          action: 'site.update',
          targetType: 'site',
          targetId: id,
          before: { name: before.name, timezone: before.timezone, address: before.address },
          after: body,
        });
        return rows[0]!;
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
