import type { FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ApiZone, IdParams, Page, ZoneCreateBody, ZoneListQuery, ZoneUpdateBody } from '../../schemas/mod.ts';
import { principalOf } from '../identity/mod.ts';
import { announce, audit, inTenant } from './context.ts';
import { guards, NewestFirst, resource } from './route-kit.ts';
import { assertZone, getCamera, getZone, ZONE_COLUMNS, zoneToApi, type ZoneRow } from './cameras.repo.ts';

/**
 * Zones of a camera (areas, lines, product shelves). Every change reaches the camera's live
 * actor through `ctl.camera.changed` (action `zones`); the actor also reloads them on its own.
 */
export const zoneRoutes = resource('zones', async (app, { deps }) => {
  const { reader, operator } = guards(app);
  const changed = (request: FastifyRequest, cameraId: string) =>
    announce(deps, request, {
      topic: 'cameraChanged',
      body: { tenantId: principalOf(request).tenantId, cameraId, action: 'zones' },
    });

  app.get(
    '/zones',
    {
      ...reader,
      schema: {
        summary: "List zones (only the caller's sites when restricted)",
        querystring: ZoneListQuery,
        response: { 200: Page(ApiZone) },
      },
    },
    async (request) => {
      const q = request.query;
      const list = new NewestFirst(q, 'created_at');
      const w = list.where;
      if (q.cameraId) w.and(`camera_id = ${w.p(q.cameraId)}`);
      if (q.siteId) w.and(`site_id = ${w.p(q.siteId)}`);
      return inTenant(deps, request, (c) => list.fetch(c, `SELECT ${ZONE_COLUMNS} FROM zones`, zoneToApi));
    },
  );

  app.get(
    '/zones/:id',
    { ...reader, schema: { summary: 'One zone', params: IdParams, response: { 200: ApiZone } } },
    async (request) => zoneToApi(await inTenant(deps, request, (c) => getZone(c, request.params.id))),
  );

  app.post(
    '/zones',
    {
      ...operator,
      schema: {
        summary: 'Add a zone to a camera',
        description:
          'Points are checked: ZONE_TOO_FEW_POINTS (< 3, or a line not of 2), ZONE_OUTSIDE_IMAGE (outside 0..1), ZONE_SELF_INTERSECTING (crossing edges, or no area).',
        body: ZoneCreateBody,
        response: { 201: ApiZone },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const zone = {
        kind: body.kind,
        points: body.points,
        entrance: body.entrance ?? false,
        dwellSeconds: body.dwellSeconds ?? null,
        crowding: body.crowding ?? null,
      };
      const row = await inTenant(deps, request, async (c) => {
        const camera = await getCamera(c, body.cameraId);
        assertZone(zone);
        const { rows } = await c.query<ZoneRow>(
          `INSERT INTO zones (tenant_id, site_id, camera_id, name, kind, points, entrance, inertia_frames,
                              dwell_seconds, crowding_occupancy, crowding_seconds)
           VALUES (vigil_current_tenant(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           RETURNING ${ZONE_COLUMNS}`,
          [
            camera.site_id,
            camera.id,
            body.name,
            zone.kind,
            JSON.stringify(zone.points),
            zone.entrance,
            body.inertiaFrames ?? null,
            zone.dwellSeconds,
            zone.crowding?.occupancy ?? null,
            zone.crowding?.seconds ?? null,
          ],
        );
        const created = rows[0]!;
        await audit(c, request, {
          action: 'zone.create',
          targetType: 'zone',
          targetId: created.id,
          after: body,
        });
        return created;
      });
      await changed(request, row.camera_id);
      return reply.code(201).send(zoneToApi(row));
    },
  );

  app.patch(
    '/zones/:id',
    {
      ...operator,
      schema: {
        summary: 'Update a zone (the camera is fixed); the result is checked as a whole',
        params: IdParams,
        body: ZoneUpdateBody,
        response: { 200: ApiZone },
      },
    },
    async (request) => {
      const { id } = request.params;
      const body = request.body;
      const row = await inTenant(deps, request, async (c) => {
        const before = zoneToApi(await getZone(c, id, true));
        const after = { ...before, ...body };
        assertZone(after);
        const { rows } = await c.query<ZoneRow>(
          `UPDATE zones SET name = $2, kind = $3, points = $4, entrance = $5, inertia_frames = $6, dwell_seconds = $7,
                  crowding_occupancy = $8, crowding_seconds = $9, updated_at = now()
           WHERE id = $1 RETURNING ${ZONE_COLUMNS}`,
          [
            id,
            after.name,
            after.kind,
            JSON.stringify(after.points),
            after.entrance,
            after.inertiaFrames,
            after.dwellSeconds,
            after.crowding?.occupancy ?? null,
            after.crowding?.seconds ?? null,
          ],
        );
        await audit(c, request, {
          action: 'zone.update',
          targetType: 'zone',
          targetId: id,
          before,
          after: body,
        });
        return rows[0]!;
      });
      await changed(request, row.camera_id);
      return zoneToApi(row);
    },
  );

  app.delete(
    '/zones/:id',
    {
      ...operator,
      schema: { summary: 'Delete a zone', params: IdParams, response: { 204: Type.Null() } },
    },
    async (request, reply) => {
      const { id } = request.params;
      const cameraId = await inTenant(deps, request, async (c) => {
        const before = await getZone(c, id, true);
        await c.query('DELETE FROM zones WHERE id = $1', [id]);
        await audit(c, request, {
          action: 'zone.delete',
          targetType: 'zone',
          targetId: id,
          before: zoneToApi(before),
        });
        return before.camera_id;
      });
      await changed(request, cameraId);
      return reply.code(204).send(null);
    },
  );
});
