import type { FastifyRequest } from 'fastify';
import {
  ApiEquipment,
  ApiKeyIssued,
  EquipmentCreateBody,
  EquipmentCreated,
  EquipmentListQuery,
  EquipmentUpdateBody,
  VigilError,
} from '../../schemas/mod.ts';
import { principalOf } from '../identity/mod.ts';
import { announce, audit, inTenant } from './context.ts';
import { crud, resource, route } from './route-kit.ts';
import { assertSitesVisible } from './sites.repo.ts';
import {
  EQUIPMENT,
  EQUIPMENT_FIELDS,
  assertInService,
  assertWatchZone,
  getEquipment,
  issueKey,
  toApi,
} from './equipment.repo.ts';

export const equipmentRoutes = resource('equipment', async (app, { deps }) => {
  // Actors reload the unit; gateways drop the unit's cached API keys.
  const changed = (request: FastifyRequest, equipmentId: string, action: string) =>
    announce(deps, request, {
      topic: 'equipmentChanged',
      body: { tenantId: principalOf(request).tenantId, equipmentId, action },
    });

  crud(app, deps, {
    path: '/equipment',
    table: EQUIPMENT,
    item: ApiEquipment,
    show: toApi,
    audit: {
      type: 'equipment',
      before: (r) => ({
        name: r.name,
        serial: r.serial,
        kind: r.kind,
        setpoint: r.setpoint,
        watchZoneId: r.watch_zone_id,
      }),
    },
    changed: (request, row, change) => changed(request, row.id, change),
    list: {
      guard: 'viewer',
      summary: "List equipment (only the caller's sites when restricted)",
      querystring: EquipmentListQuery,
      column: 'e.created_at',
      idColumn: 'e.id',
      equal: { siteId: 'e.site_id', kind: 'e.kind' },
      filter: (q, w) => {
        if (q.decommissioned !== undefined)
          w.and(`e.decommissioned_at IS ${q.decommissioned ? 'NOT ' : ''}NULL`);
      },
    },
    get: { guard: 'viewer', summary: 'One equipment unit' },
    update: {
      guard: 'tenant_admin',
      summary: 'Update equipment (the site is fixed)',
      body: EquipmentUpdateBody,
      check: async (c, before, body) => {
        assertInService(before);
        await assertWatchZone(c, before.site_id, body.watchZoneId);
      },
      columns: EQUIPMENT_FIELDS,
    },
  });

  route(app, 'POST', '/equipment', 'tenant_admin', {
    summary: 'Register equipment; returns its API key once',
    body: EquipmentCreateBody,
    response: EquipmentCreated,
    status: 201,
    handler: async (request) => {
      const body = request.body;
      const created = await inTenant(deps, request, async (c) => {
        await assertSitesVisible(c, [body.siteId]);
        await assertWatchZone(c, body.siteId, body.watchZoneId);
        const { rows } = await c.query<{ id: string }>(
          `INSERT INTO equipment (tenant_id, site_id, name, serial, kind, setpoint, watch_zone_id)
           VALUES (vigil_current_tenant(), $1, $2, $3, $4, $5, $6) RETURNING id`,
          [
            body.siteId,
            body.name,
            body.serial ?? null,
            body.kind ?? 'freezer',
            body.setpoint ?? null,
            body.watchZoneId ?? null,
          ],
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
      return created;
    },
  });

  route(app, 'POST', '/equipment/:id/decommission', 'tenant_admin', {
    summary: 'Decommission equipment: its API keys stop working; history is kept',
    response: ApiEquipment,
    handler: async (request) => {
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
  });

  route(app, 'POST', '/equipment/:id/api-key', 'tenant_admin', {
    summary: 'Rotate the API key: the old key stops working, the new one is shown once',
    response: ApiKeyIssued,
    status: 201,
    handler: async (request) => {
      const { id } = request.params;
      const issued = await inTenant(deps, request, async (c) => {
        const before = await getEquipment(c, id, true);
        assertInService(before);
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
      return issued;
    },
  });
});
