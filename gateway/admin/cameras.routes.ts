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
  type CameraHealthRequest,
} from '../../schemas/mod.ts';
import { principalOf } from '../identity/mod.ts';
import { announce, audit, inTenant, type AdminDeps } from './context.ts';
import { crud, guards, resource, type Change } from './route-kit.ts';
import {
  CAMERAS,
  CAMERA_FIELDS,
  cameraToApi,
  getCamera,
  insertCamera,
  type CameraRow,
} from './cameras.repo.ts';

type CameraAction = Change | 'restart';

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

  crud(app, deps, {
    path: '/cameras',
    table: CAMERAS,
    item: ApiCamera,
    show: cameraToApi,
    audit: { type: 'camera' },
    changed: (request, row, change) => changed(request, row.id, change),
    list: {
      guard: reader,
      summary: "List cameras (only the caller's sites when restricted)",
      querystring: CameraListQuery,
      column: 'created_at',
      equal: { siteId: 'site_id' },
    },
    get: { guard: reader, summary: 'One camera' },
    create: {
      guard: operator,
      summary: 'Add a camera: its actor and video pipeline start at once',
      body: CameraCreateBody,
      insert: insertCamera,
    },
    update: {
      guard: operator,
      summary: 'Update a camera (the site is fixed); its pipeline restarts with the new settings',
      body: CameraUpdateBody,
      columns: CAMERA_FIELDS,
    },
    remove: { guard: operator, summary: 'Delete a camera and its zones: its pipeline and actor stop' },
  });

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
