import type { FastifyRequest } from 'fastify';
import {
  ApiEquipment,
  ApiKeyIssued,
  EquipmentCreateBody,
  EquipmentCreated,
  EquipmentListQuery,
  EquipmentUpdateBody,
  IdParams,
  VigilError,
} from '../../schemas/mod.ts';
import { principalOf } from '../identity/mod.ts';
import { announce, audit, inTenant } from './context.ts';
import { guards, readOne, readPage, resource, updateById } from './route-kit.ts';
import { assertSitesVisible } from './sites.repo.ts';
import { SELECT, toApi, getEquipment, issueKey } from './equipment.repo.ts';

export const equipmentRoutes = resource('equipment', async (app, { deps }) => {
  const { reader, admin } = guards(app);
  // Actors reload the unit; gateways drop the unit's cached API keys.
  const changed = (request: FastifyRequest, equipmentId: string, action: string) =>
    announce(deps, request, {
      topic: 'equipmentChanged',
      body: { tenantId: principalOf(request).tenantId, equipmentId, action },
    });

  readPage(
    app,
    deps,
    '/equipment',
    {
      guard: reader,
      summary: "List equipment (only the caller's sites when restricted)",
      querystring: EquipmentListQuery,
      response: ApiEquipment,
      column: 'e.created_at',
      idColumn: 'e.id',
      select: SELECT,
      filter: (q, w) => {
        if (q.siteId) w.and(`e.site_id = ${w.p(q.siteId)}`);
        if (q.kind) w.and(`e.kind = ${w.p(q.kind)}`);
        if (q.decommissioned !== undefined)
          w.and(`e.decommissioned_at IS ${q.decommissioned ? 'NOT ' : ''}NULL`);
      },
    },
    toApi,
  );

  const one = { guard: reader, summary: 'One equipment unit', response: ApiEquipment };
  readOne(app, deps, '/equipment/:id', one, getEquipment, toApi);

  app.post(
    '/equipment',
    {
      ...admin,
      schema: {
        summary: 'Register equipment; returns its API key once',
        body: EquipmentCreateBody,
        response: { 201: EquipmentCreated },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const created = await inTenant(deps, request, async (c) => {
        await assertSitesVisible(c, [body.siteId]);
        const { rows } = await c.query<{ id: string }>(
          `INSERT INTO equipment (tenant_id, site_id, name, serial, kind, setpoint)
           VALUES (vigil_current_tenant(), $1, $2, $3, $4, $5) RETURNING id`,
          [body.siteId, body.name, body.serial ?? null, body.kind ?? 'freezer', body.setpoint ?? null],
        );
        const id = rows[0]!.id;
        const { revoked: _revoked, ...apiKey } = await issueKey(c, id);
        await audit(c, request, {
          action: 'equipment.create',
          targetType: 'equipment',
          targetId: id,
          after: body,
        });
        await audit(c, request, {
          action: 'equipment.api_key_issue',
          targetType: 'equipment',
          targetId: id,
          after: { prefix: apiKey.prefix },
        });
        return { equipment: toApi(await getEquipment(c, id)), apiKey };
      });
      await changed(request, created.equipment.id, 'created');
      return reply.code(201).send(created);
    },
  );

  app.patch(
    '/equipment/:id',
    {
      ...admin,
      schema: {
        summary: 'Update equipment (the site is fixed)',
        params: IdParams,
        body: EquipmentUpdateBody,
        response: { 200: ApiEquipment },
      },
    },
    async (request) => {
      const { id } = request.params;
      const body = request.body;
      const row = await inTenant(deps, request, async (c) => {
        const before = await getEquipment(c, id, true);
        if (before.decommissioned_at)
          throw new VigilError('INVALID_STATE', 'the equipment is decommissioned');
        const columns = { name: 'name', serial: 'serial', kind: 'kind', setpoint: 'setpoint' };
        await updateById(c, 'equipment', id, body, columns, 'id');
        await audit(c, request, {
          action: 'equipment.update',
          targetType: 'equipment',
          targetId: id,
          before: { name: before.name, serial: before.serial, kind: before.kind, setpoint: before.setpoint },
          after: body,
        });
        return getEquipment(c, id);
      });
      await changed(request, id, 'updated');
      return toApi(row);
    },
  );

  app.post(
    '/equipment/:id/decommission',
    {
      ...admin,
      schema: {
        summary: 'Decommission equipment: its API keys stop working; history is kept',
        params: IdParams,
        response: { 200: ApiEquipment },
      },
    },
    async (request) => {
      const { id } = request.params;
      const row = await inTenant(deps, request, async (c) => {
        const before = await getEquipment(c, id, true);
        if (before.decommissioned_at)
          throw new VigilError('INVALID_STATE', 'the equipment is already decommissioned');
        await c.query('UPDATE equipment SET decommissioned_at = now(), updated_at = now() WHERE id = $1', [
          id,
        ]);
        const { rowCount } = await c.query(
          'UPDATE equipment_api_keys SET revoked_at = now() WHERE equipment_id = $1 AND revoked_at IS NULL',
          [id],
        );
        await audit(c, request, {
          action: 'equipment.decommission',
          targetType: 'equipment',
          targetId: id,
          after: { revokedKeys: rowCount ?? 0 },
        });
        return getEquipment(c, id);
      });
      await changed(request, id, 'decommissioned');
      return toApi(row);
    },
  );

  app.post(
    '/equipment/:id/api-key',
    {
      ...admin,
      schema: {
        summary: 'Rotate the API key: the old key stops working, the new one is shown once',
        params: IdParams,
        response: { 201: ApiKeyIssued },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const issued = await inTenant(deps, request, async (c) => {
        const before = await getEquipment(c, id, true);
        if (before.decommissioned_at)
          throw new VigilError('INVALID_STATE', 'the equipment is decommissioned');
        const { revoked, ...key } = await issueKey(c, id);
        await audit(c, request, {
          action: 'equipment.api_key_rotate',
          targetType: 'equipment',
          targetId: id,
          before: { prefix: before.api_key_prefix },
          after: { prefix: key.prefix, revokedKeys: revoked },
        });
        return key;
      });
      await changed(request, id, 'api_key_rotated');
      return reply.code(201).send(issued);
    },
  );
});
