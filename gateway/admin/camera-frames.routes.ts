import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  ApiScreenshot,
  assertValid,
  BinaryBody,
  CameraTracksView,
  ImageResponse,
  OverlayQuery,
  SCREENSHOT_LIMITS,
  SCREENSHOT_MEDIA_TYPES,
  VigilError,
  type FrameSource,
} from '../../schemas/mod.ts';
import { detectionsPartition, requestActorState, requestCameraFrame } from '../../streams/mod.ts';
import { principalOf } from '../identity/mod.ts';
import { audit, inTenant, type AdminDeps } from './context.ts';
import { resource, route } from './route-kit.ts';
import { getCamera, type CameraRow } from './cameras.repo.ts';
import { deleteScreenshot, loadScreenshot, overlayZones, saveScreenshot } from './camera-frames.repo.ts';
import { liveBoxes, renderOverlay, type OverlayBox } from './overlay.ts';
import { screenshotOf } from './screenshot-image.ts';

/** How long the node running the camera may take to hand over (and encode) its latest frame. */
const FRAME_TIMEOUT_MS = 3000;
/** How long the camera's actor may take to say what it tracks; without it the overlay has no boxes. */
const TRACKS_TIMEOUT_MS = 1000;

const FRAME_HEADERS = {
  'x-vigil-frame-source': {
    type: 'string',
    enum: ['live', 'screenshot'],
    description: 'where the picture came from',
  },
  'x-vigil-frame-at': {
    type: 'string',
    format: 'date-time',
    description: "live: the frame's time; screenshot: when it was uploaded",
  },
};

/**
 * An image answer: JPEG or PNG, its headers documented. Declared per media type on the 200
 * answer alone, so the errors stay documented as JSON (`produces` would apply to every answer).
 */
const imageAnswer = (description: string, headers: Record<string, unknown> = {}) =>
  Type.Unsafe<Buffer>({
    description,
    headers: { ...FRAME_HEADERS, ...headers },
    content: { 'image/jpeg': { schema: ImageResponse }, 'image/png': { schema: ImageResponse } },
  });

interface CurrentFrame {
  source: FrameSource;
  image: Buffer;
  type: 'image/jpeg' | 'image/png';
  at: string;
}

/**
 * The camera's picture: the latest decoded frame from the node running its pipeline (the
 * gateway holds no frames), else its uploaded screenshot, else NO_FRAME saying why.
 */
async function currentFrame(
  deps: AdminDeps,
  request: FastifyRequest,
  camera: CameraRow,
): Promise<CurrentFrame> {
  const { tenantId } = principalOf(request);
  // A disabled camera runs on no node: nobody to ask.
  const live = camera.enabled
    ? await requestCameraFrame(deps.nc, deps.names, camera.id, tenantId, FRAME_TIMEOUT_MS)
    : null;
  if (live?.kind === 'frame')
    return { source: 'live', image: live.jpeg, type: 'image/jpeg', at: new Date(live.at).toISOString() };
  const shot = await inTenant(deps, request, (c) => loadScreenshot(c, camera.id));
  if (shot)
    return { source: 'screenshot', image: shot.image, type: `image/${shot.format}`, at: shot.uploadedAt };
  const why =
    live === null
      ? 'the camera is disabled'
      : live.kind === 'none'
        ? live.reason
        : 'no camera node runs it now';
  throw new VigilError('NO_FRAME', `no live frame (${why}) and no screenshot uploaded`);
}

/**
 * The people the camera's actor tracks in its latest frame, from the node serving its partition
 * (as a unit's live state is asked). Null when no node answered or the answer did not read.
 */
async function liveTracks(
  deps: AdminDeps,
  request: FastifyRequest,
  cameraId: string,
): Promise<OverlayBox[] | null> {
  const { tenantId } = principalOf(request);
  const partition = detectionsPartition(tenantId, cameraId, deps.config.VIGIL_PARTITIONS);
  try {
    const reply = await requestActorState(
      deps.nc,
      deps.names,
      'camera',
      partition,
      cameraId,
      TRACKS_TIMEOUT_MS,
    );
    if ('error' in reply) {
      request.log.warn({ cameraId, partition, error: reply.error }, 'camera actor state query refused');
      return null;
    }
    // Served, but no frame of the camera since the partition was taken: nobody tracked yet.
    if (!reply.found) return [];
    return liveBoxes(assertValid(CameraTracksView, reply.state));
  } catch (err) {
    request.log.debug({ err, cameraId, partition }, 'no camera actor answered');
    return null;
  }
}

function sendImage(reply: FastifyReply, frame: CurrentFrame, image: Buffer, type: string): FastifyReply {
  return (
    reply
      .type(type)
      .header('x-vigil-frame-source', frame.source)
      .header('x-vigil-frame-at', frame.at)
      // A frame is private and stale within a second.
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .send(image)
  );
}

/**
 * A camera's current frame (snapshot), the frame with its zones and live boxes drawn (overlay),
 * and the screenshot uploaded for a camera that is not streaming (SPEC §6, zone editing).
 */
export const cameraFrameRoutes = resource('cameras', async (app, { deps }) => {
  // Uploads arrive as the image's bytes; what they are is decided by decoding them.
  app.addContentTypeParser(
    [...SCREENSHOT_MEDIA_TYPES],
    { parseAs: 'buffer', bodyLimit: SCREENSHOT_LIMITS.bytes },
    (_request, body, done) => done(null, body),
  );

  route(app, 'GET', '/cameras/:id/snapshot', 'viewer', {
    summary: "The camera's current frame",
    description:
      'The latest frame decoded by the camera node running the camera (JPEG, the camera’s size), or, ' +
      'when it has none (disabled, not streaming, no node), the screenshot uploaded for it (JPEG or ' +
      'PNG as stored). `x-vigil-frame-source` says which. Neither: 409 NO_FRAME with the reason.',
    response: imageAnswer('the frame'),
    handler: async (request, reply) => {
      const camera = await inTenant(deps, request, (c) => getCamera(c, request.params.id));
      const frame = await currentFrame(deps, request, camera);
      return sendImage(reply, frame, frame.image, frame.type);
    },
  });

  route(app, 'GET', '/cameras/:id/overlay', 'viewer', {
    summary: "The camera's current frame with its zones and live boxes drawn",
    description:
      'The snapshot’s picture (live frame, else the uploaded screenshot) with every zone of the camera ' +
      'drawn and labelled (areas cyan, product zones amber, lines magenta with an arrow to their "in" ' +
      'side) and, on a live frame, the people its actor tracks now (green boxes labelled with the ' +
      'track id). `x-vigil-tracks`: boxes drawn, or `unavailable` when the actor did not answer.',
    querystring: OverlayQuery,
    response: imageAnswer('the frame with zones and boxes', {
      'x-vigil-tracks': { type: 'string', description: 'number of live boxes drawn, or `unavailable`' },
    }),
    handler: async (request, reply) => {
      const { id } = request.params;
      const { camera, zones } = await inTenant(deps, request, async (c) => ({
        camera: await getCamera(c, id),
        zones: await overlayZones(c, id),
      }));
      // Both asked at once: the frame from the video node, the boxes from the actor's node.
      const [frame, tracks] = await Promise.all([
        currentFrame(deps, request, camera),
        camera.enabled ? liveTracks(deps, request, id) : Promise.resolve(null),
      ]);
      // Boxes belong to the live picture; a screenshot is not what the camera sees now.
      const boxes = frame.source === 'live' ? tracks : [];
      const format = request.query.format ?? 'jpeg';
      const image = await renderOverlay(frame.image, zones, boxes ?? [], format);
      reply.header('x-vigil-tracks', boxes === null ? 'unavailable' : String(boxes.length));
      return sendImage(reply, frame, image, `image/${format}`);
    },
  });

  route(app, 'PUT', '/cameras/:id/screenshot', 'operator', {
    summary: 'Upload a screenshot for a camera that is not streaming',
    description:
      'The image itself as the body (image/jpeg, image/png or application/octet-stream; the bytes are ' +
      `decoded, whatever the type says), at most ${SCREENSHOT_LIMITS.bytes / (1024 * 1024)} MiB and ` +
      `${SCREENSHOT_LIMITS.pixels} pixels. It replaces the camera's previous screenshot and is the ` +
      'background of the snapshot and overlay while the camera has no live frame, so zones can be ' +
      'drawn on it. Stored re-encoded, metadata removed. Errors: IMAGE_INVALID (not a JPEG/PNG that ' +
      'decodes), UNSUPPORTED_MEDIA_TYPE (another image format), IMAGE_TOO_LARGE (pixels), ' +
      'PAYLOAD_TOO_LARGE (bytes).',
    consumes: SCREENSHOT_MEDIA_TYPES,
    body: BinaryBody,
    bodyLimit: SCREENSHOT_LIMITS.bytes,
    response: ApiScreenshot,
    handler: async (request) => {
      const upload: unknown = request.body;
      if (!Buffer.isBuffer(upload))
        throw new VigilError(
          'UNSUPPORTED_MEDIA_TYPE',
          `send the image itself, as ${SCREENSHOT_MEDIA_TYPES.join(', ')}`,
        );
      // Decoded before any transaction: a large image holds no connection while it decodes.
      const shot = await screenshotOf(upload);
      return inTenant(deps, request, async (c) => {
        const camera = await getCamera(c, request.params.id, true);
        const saved = await saveScreenshot(c, camera, shot);
        await audit(c, request, {
          action: 'camera.screenshot_upload',
          targetType: 'camera',
          targetId: camera.id,
          after: { format: saved.format, width: saved.width, height: saved.height, bytes: saved.bytes },
        });
        return saved;
      });
    },
  });

  route(app, 'DELETE', '/cameras/:id/screenshot', 'operator', {
    summary: "Delete a camera's screenshot",
    response: Type.Null(),
    status: 204,
    handler: async (request) => {
      const { id } = request.params;
      await inTenant(deps, request, async (c) => {
        await getCamera(c, id, true);
        const removed = await deleteScreenshot(c, id);
        await audit(c, request, {
          action: 'camera.screenshot_delete',
          targetType: 'camera',
          targetId: id,
          before: {
            format: removed.format,
            width: removed.width,
            height: removed.height,
            bytes: removed.bytes,
          },
        });
      });
      return null;
    },
  });
});
