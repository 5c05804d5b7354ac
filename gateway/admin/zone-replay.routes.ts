import {
  outboundEvents,
  ZoneReplayer,
  zoneDefOf,
  zoneShapeProblem,
  type ZoneDef,
} from '../../actors/camera/mod.ts';
import {
  VigilError,
  ZONE_REPLAY_LIMITS,
  ZoneReplayBody,
  ZoneReplayQuery,
  ZoneReplayResult,
} from '../../schemas/mod.ts';
import { readDetectionsRange } from '../../streams/mod.ts';
import { principalOf } from '../identity/mod.ts';
import { inTenant, type AdminDeps } from './context.ts';
import { getCamera, ZONES, zoneToApi } from './cameras.repo.ts';
import { resource, route } from './route-kit.ts';

/**
 * Zone replay (SPEC §6): a zone — stored, or a draft not saved yet — run over the detections
 * its camera's frames left in DETECTIONS for a time range, through the camera actor's own
 * decider (same tracker, same zone code, same settings), answering the events it would have
 * produced. Started where the camera's tracking started, a stored zone's replay is exactly its
 * live events. Reading role: nothing is written. The camera (and the zone) are looked up under
 * the caller's tenant and sites first, so another tenant's or site's answers 404 before any
 * detection is read.
 */
interface Target {
  tenantId: string;
  siteId: string;
  cameraId: string;
  zone: ZoneDef;
  entrance: boolean;
}

function range(from: string, to: string): { from: number; to: number } {
  const f = Date.parse(from);
  const t = Date.parse(to);
  if (!(t >= f)) throw new VigilError('VALIDATION_FAILED', 'to: must not be before from');
  return { from: f, to: t };
}

async function replay(
  deps: AdminDeps,
  target: Target,
  span: { from: number; to: number },
): Promise<ZoneReplayResult> {
  const read = await readDetectionsRange(deps.js, deps.names, deps.config, {
    tenantId: target.tenantId,
    cameraId: target.cameraId,
    ...span,
    maxFrames: ZONE_REPLAY_LIMITS.frames,
  });
  if (read.truncated)
    throw new VigilError(
      'REPLAY_TOO_LARGE',
      `more than ${ZONE_REPLAY_LIMITS.frames} frames in the range: replay a shorter one`,
      { details: { limit: ZONE_REPLAY_LIMITS.frames } },
    );
  const replayer = new ZoneReplayer(target.zone);
  for (const frame of read.frames) replayer.push(frame);
  const result = replayer.result();
  const published = outboundEvents(result.events, {
    tenantId: target.tenantId,
    siteId: target.siteId,
    cameraId: target.cameraId,
    entrances: new Set(target.entrance ? [target.zone.id] : []),
  });
  return {
    cameraId: target.cameraId,
    zoneId: null,
    from: new Date(span.from).toISOString(),
    to: new Date(span.to).toISOString(),
    frames: result.frames,
    rejected: read.rejected,
    tracks: result.tracks,
    events: published.flatMap((e) =>
      'zoneId' in e.data
        ? [
            {
              type: e.type as ZoneReplayResult['events'][number]['type'],
              ts: e.ts,
              trackId: e.data.trackId,
              dwellSeconds: e.data.dwellSeconds,
              count: e.data.count,
              since: e.data.since,
            },
          ]
        : [],
    ),
    inside: result.inside,
  };
}

export const zoneReplayRoutes = resource('zones', async (app, { deps }) => {
  route(app, 'GET', '/zones/:id/replay', 'viewer', {
    summary: "Replay a zone over its camera's retained detections: the events it produced",
    description:
      "Runs the camera actor's tracker and zone code over the camera's frames retained in DETECTIONS whose " +
      'frame time lies in [from, to], with this zone alone, and returns its events. Started where the ' +
      "camera's tracking started, it equals the zone's live events. At most " +
      `${ZONE_REPLAY_LIMITS.frames} frames (400 REPLAY_TOO_LARGE past that).`,
    querystring: ZoneReplayQuery,
    response: ZoneReplayResult,
    handler: async (request) => {
      const tenantId = principalOf(request).tenantId;
      const zone = zoneToApi(await inTenant(deps, request, (c) => ZONES.get(c, request.params.id)));
      const span = range(request.query.from, request.query.to);
      const target = {
        tenantId,
        siteId: zone.siteId,
        cameraId: zone.cameraId,
        zone: zoneDefOf(zone),
        entrance: zone.entrance,
      };
      return { ...(await replay(deps, target, span)), zoneId: zone.id };
    },
  });

  // Drafting zones is configuration work, as backtesting a draft rule is: operators and admins.
  route(app, 'POST', '/zones/replay', 'operator', {
    summary: "Try a draft zone on a camera's retained detections: the events it would have produced",
    description:
      'As GET /v1/zones/{id}/replay, for a zone not saved yet (points checked as when saving: ' +
      'ZONE_TOO_FEW_POINTS, ZONE_OUTSIDE_IMAGE, ZONE_SELF_INTERSECTING).',
    body: ZoneReplayBody,
    response: ZoneReplayResult,
    handler: async (request) => {
      const body = request.body;
      const tenantId = principalOf(request).tenantId;
      const camera = await inTenant(deps, request, (c) => getCamera(c, body.cameraId));
      const problem = zoneShapeProblem(body.zone.kind, body.zone.points);
      if (problem) throw new VigilError(problem.code, `body/zone/points: ${problem.reason}`);
      const span = range(body.from, body.to);
      const target = {
        tenantId,
        siteId: camera.site_id,
        cameraId: camera.id,
        zone: zoneDefOf({ id: 'draft', ...body.zone }),
        entrance: false,
      };
      return replay(deps, target, span);
    },
  });
});
