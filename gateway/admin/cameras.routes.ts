import type { FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  ApiCamera,
  assertValid,
  CameraCreateBody,
  CameraHealth,
  CameraListQuery,
  CameraUpdateBody,
  IdParams,
  Page,
  type CameraHealthRequest,
} from '../../schemas/mod.ts';
import { principalOf } from '../identity/mod.ts';
import { announce, audit, inTenant, type AdminDeps } from './context.ts';
import { guards, NewestFirst, resource, updateById } from './route-kit.ts';
import { assertSitesVisible } from './sites.repo.ts';
import { CAMERA_COLUMNS, CAMERA_FIELDS, cameraToApi, getCamera, type CameraRow } from './cameras.repo.ts';

type CameraAction = 'created' | 'updated' | 'deleted' | 'restart';

/**
 * The camera's video health from the node that runs its pipeline. Nobody answering means no
 * camera node runs it right now (none up, disabled, or being handed over): `stopped`.
 */
async function videoHealth(deps: AdminDeps, tenantId: string, camera: CameraRow): Promise<CameraHealth> {
  const request: CameraHealthRequest = { tenantId };
  try {
    const msg = await deps.nc.request(deps.names.cameras.health(camera.id), JSON.stringify(request), {
      timeout: 2000,
    });
    return assertValid(CameraHealth, msg.json());
  } catch (err) {
    deps.log.debug({ err, cameraId: camera.id }, 'no camera node answered');
    return {
      cameraId: camera.id,
      state: 'stopped',
      framesIn: 0,
      framesDetected: 0,
      framesDropped: 0,
      detectFps: 0,
      inferenceMs: { p50: null, p95: null },
      lastFrameAt: null,
      reconnects: 0,
      lastError: camera.enabled ? 'no camera node runs this camera' : 'camera disabled',
      node: null,
    };
  }
}

export const cameraRoutes = resource('cameras', async (app, { deps }) => {
  const { reader, operator } = guards(app);
  const changed = (request: FastifyRequest, cameraId: string, action: CameraAction) =>
    announce(deps, request, {
      topic: 'cameraChanged',
      body: { tenantId: principalOf(request).tenantId, cameraId, action },
    });

  app.get(
    '/cameras',
    {
      ...reader,
      schema: {
        summary: "List cameras (only the caller's sites when restricted)",
        querystring: CameraListQuery,
        response: { 200: Page(ApiCamera) },
      },
    },
    async (request) => {
      const q = request.query;
      const list = new NewestFirst(q, 'created_at');
      if (q.siteId) list.where.and(`site_id = ${list.where.p(q.siteId)}`);
      return inTenant(deps, request, (c) =>
        list.fetch(c, `SELECT ${CAMERA_COLUMNS} FROM cameras`, cameraToApi),
      );
    },
  );

  app.get(
    '/cameras/:id',
    {
      ...reader,
      schema: { summary: 'One camera', params: IdParams, response: { 200: ApiCamera } },
    },
    async (request) => cameraToApi(await inTenant(deps, request, (c) => getCamera(c, request.params.id))),
  );

  app.post(
    '/cameras',
    {
      ...operator,
      schema: {
        summary: 'Add a camera: its actor and video pipeline start at once',
        body: CameraCreateBody,
        response: { 201: ApiCamera },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const row = await inTenant(deps, request, async (c) => {
        await assertSitesVisible(c, [body.siteId]);
        const { rows } = await c.query<CameraRow>(
          `INSERT INTO cameras (tenant_id, site_id, name, source_url, enabled, detect_fps, model_path, input_size, confidence)
           VALUES (vigil_current_tenant(), $1, $2, $3, COALESCE($4, true), COALESCE($5, 5), $6, COALESCE($7, 640), COALESCE($8, 0.25))
           RETURNING ${CAMERA_COLUMNS}`,
          [
            body.siteId,
            body.name,
            body.sourceUrl,
            body.enabled ?? null,
            body.detectFps ?? null,
            body.modelPath ?? null,
            body.inputSize ?? null,
            body.confidence ?? null,
          ],
        );
        const camera = rows[0]!;
        await audit(c, request, {
          action: 'camera.create',
          targetType: 'camera',
          targetId: camera.id,
          after: body,
        });
        return camera;
      });
      await changed(request, row.id, 'created');
      return reply.code(201).send(cameraToApi(row));
    },
  );

  app.patch(
    '/cameras/:id',
    {
      ...operator,
      schema: {
        summary: 'Update a camera (the site is fixed); its pipeline restarts with the new settings',
        params: IdParams,
        body: CameraUpdateBody,
        response: { 200: ApiCamera },
      },
    },
    async (request) => {
      const { id } = request.params;
      const body = request.body;
      const row = await inTenant(deps, request, async (c) => {
        const before = await getCamera(c, id, true);
        const after = await updateById<CameraRow>(c, 'cameras', id, body, CAMERA_FIELDS, CAMERA_COLUMNS);
        await audit(c, request, {
          action: 'camera.update',
          targetType: 'camera',
          targetId: id,
          before: cameraToApi(before),
          after: body,
        });
        return after;
      });
      await changed(request, id, 'updated');
      return cameraToApi(row);
    },
  );

  app.delete(
    '/cameras/:id',
    {
      ...operator,
      schema: {
        summary: 'Delete a camera and its zones: its pipeline and actor stop',
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await inTenant(deps, request, async (c) => {
        const before = await getCamera(c, id, true);
        await c.query('DELETE FROM cameras WHERE id = $1', [id]);
        await audit(c, request, {
          action: 'camera.delete',
          targetType: 'camera',
          targetId: id,
          before: cameraToApi(before),
        });
      });
      await changed(request, id, 'deleted');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/cameras/:id/health',
    {
      ...reader,
      schema: {
        summary: "The camera's video pipeline: state, frames, detect rate, inference time, reconnects",
        params: IdParams,
        response: { 200: CameraHealth },
      },
    },
    async (request) => {
      const camera = await inTenant(deps, request, (c) => getCamera(c, request.params.id));
      return videoHealth(deps, principalOf(request).tenantId, camera);
    },
  );

  app.post(
    '/cameras/:id/restart',
    {
      ...operator,
      schema: {
        summary: "Restart the camera's video pipeline (reopen the source, reload the model)",
        params: IdParams,
        response: {
          202: Type.Object({ cameraId: Type.String({ format: 'uuid' }), restarting: Type.Boolean() }),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await inTenant(deps, request, async (c) => {
        await getCamera(c, id, true);
        await audit(c, request, { action: 'camera.restart', targetType: 'camera', targetId: id });
      });
      await changed(request, id, 'restart');
      return reply.code(202).send({ cameraId: id, restarting: true });
    },
  );
});
