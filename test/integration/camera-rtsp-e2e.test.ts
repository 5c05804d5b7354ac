/**
 * The whole way over a real RTSP stream, each scene on its own camera: Debian's GStreamer RTSP
 * server plays the project's synthetic scenes → the camera and its zones are created through the
 * HTTP API → the actor node's `camera-video` service decodes, samples and detects (the generated
 * detector) and publishes `det.*` → the camera actor tracks and places people → people events
 * on /v1/stream and rows in ClickHouse. Both are compared event by event with the scene's ground
 * truth (same type, zone and person; time and dwell within 0.3 s; nothing else), and CLEAR-MOT
 * is computed over exactly the frames that went through `det.*`.
 *
 * Video time vs frame time: the pipeline stamps each frame `session start + media time since the
 * session's first frame` (actors/video/video-source.ts), and the RTSP server plays every session
 * from the file's start, so a session's first frame is video time 0 and `video time = (ts − ts of
 * that first frame) / 1000`; the scene's (the ground truth's) time is video time less the
 * lead-in. A mapping off by one sampled frame (0.2 s) would move every box by a third of a
 * person's width at walking speed: the MOTA figure checks the mapping too.
 *
 * Each scene is written with LEAD_S empty seconds before it — opening a stream, FFmpeg probes up
 * to 5 s of it, and those frames then reach the detector in one burst, most of them dropped as a
 * live camera's stale frames should be — and TAIL_S after it, past the tracker's lost-track
 * buffer, so every visit closes inside the first session; the camera is disabled once that
 * session ends, and only frames and events of the first session are compared.
 */
import assert from 'node:assert/strict';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import { startActorNode, type ActorNode } from '../../actors/mod.ts';
import type { TrackerDetection, ZoneDef } from '../../actors/camera/mod.ts';
import { buildShapeDetector, SCENES, writeSceneVideo, type SceneName } from '../../actors/video/mod.ts';
import type { Scene } from '../../actors/video/synthetic/scene.ts';
import type { RunningServer } from '../../gateway/mod.ts';
import { startRtspServer, type RtspServer } from '../../ops/rtsp/rtsp.ts';
import {
  chSql,
  createClickHouse,
  createLogger,
  type ApiZone,
  type CameraEvent,
  type CameraHealth,
  type DetectionsIn,
  type PeopleEvent,
  type Pool,
} from '../../schemas/mod.ts';
import type { Subscription } from '../../streams/mod.ts';
import { callApi, deleteCameraTenant, ownerToken, startLiveUnit } from '../helpers/live-unit.ts';
import { natsNamespace } from '../helpers/nats-namespace.ts';
import {
  assertMatchesTruth,
  keyedEvents,
  runScene,
  SCENE_OCCLUSIONS,
  SCENE_ZONES,
  truthEvents,
  type SceneFrame,
  type ZoneItem,
} from '../helpers/scene-truth.ts';
import { SseClient, type SseFrame } from '../helpers/sse-client.ts';
import { waitFor } from '../helpers/wait.ts';

const SIZE = 320;
const FPS = 5;
const CONFIDENCE = 0.3;
/** Empty seconds after each scene: past the tracker's lost-track buffer, every visit closes. */
const TAIL_S = 4;
/** Empty seconds before each scene: past the burst of probed frames a stream starts with. */
const LEAD_S = 6;
/** Zone events of a person (footfall, visits, interactions); occupancy is checked apart. */
const KEYED = ['entry', 'exit', 'zone_entry', 'zone_exit', 'product_interaction'];
/** The people events' kinds in ClickHouse (the camera's own events share the table). */
const PEOPLE_KINDS = [...KEYED, 'occupancy', 'crowding_started', 'crowding_ended'];

/**
 * Every project scene: footfall through an entrance line and a floor area's dwell
 * (walk-through), people occluding each other inside a zone (crossing, occlusion), an
 * interaction at a shelf (shelf). Zones and occlusions as the video-file tests have them.
 */
const NAMES = Object.keys(SCENE_ZONES) as SceneName[];

let node: ActorNode;
let video: ActorNode;
let server: RunningServer;
let rtsp: RtspServer;
const fx = natsNamespace('camera-rtsp-e2e', {
  beforeDelete: async () => {
    await server?.close();
    await video?.stop();
    await node?.stop();
  },
});
let dir: string;
let model: string;
let admin: Pool;
let ch: ClickHouseClient;
let tenantId: string;
let siteId: string;
let token: string;
let sse: SseClient;
/** Every people and camera event the stream delivered, in order. */
const streamed: Array<PeopleEvent | CameraEvent> = [];

/** Scene plus its empty tail, as the RTSP server plays it. */
const played = (name: SceneName): Scene => ({
  ...SCENES[name],
  duration: LEAD_S + SCENES[name].duration + TAIL_S,
  people: SCENES[name].people.map((p) => ({ ...p, path: p.path.map((k) => ({ ...k, t: k.t + LEAD_S })) })),
});

const api = <T>(method: string, path: string, body?: unknown) =>
  callApi<T>(server.url, token, method, path, body);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-rtsp-e2e-'));
  const mounts: Record<string, string> = {};
  for (const name of NAMES) {
    const file = join(dir, `${name}.mkv`);
    mounts[name] = file;
    await writeSceneVideo(played(name), file);
  }
  model = join(dir, 'shape.onnx');
  await writeFile(model, buildShapeDetector({ inputSize: SIZE }));
  // A free port of its own: other files' RTSP servers may run beside this one.
  rtsp = await startRtspServer({ mounts, port: 0 });
  const unit = await startLiveUnit(fx.config, {
    name: 'RTSP Stores',
    slug: 'camera-rtsp-e2e',
    password: 'camera-rtsp-e2e-password-1',
    rules: [],
  });
  ({ tenantId, siteId, admin, node, server } = unit);
  token = await ownerToken(unit);
  // The video side on its own node, as a deployment puts it next to the cameras: only this
  // file's tenant (the database is shared with other test files), one inference thread.
  video = await startActorNode({
    config: { ...fx.config, VIGIL_DETECT_WORKERS: 1 },
    log: createLogger(fx.config, 'camera-rtsp-e2e-video'),
    nodeID: `${fx.ns}-video`,
    services: ['camera-video'],
    cameraTenants: [tenantId],
  });
  ch = createClickHouse(fx.config);
  sse = await SseClient.open(`${server.url}/v1/stream?kind=people,camera`, {
    token,
    onFrame: (f: SseFrame) => streamed.push(JSON.parse(f.data!) as PeopleEvent | CameraEvent),
    requireOk: true,
  });
});

after(async () => {
  await sse?.close();
  if (tenantId) await deleteCameraTenant(admin, ch, tenantId);
  await ch?.close();
  await admin?.end();
  await rtsp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function health(cameraId: string): Promise<CameraHealth> {
  const res = await api<CameraHealth>('GET', `/v1/cameras/${cameraId}/health`);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json;
}

/** A frame as the actor reads it from its `det.*` message, with the pipeline's frame counter. */
function frameOf(msg: DetectionsIn): { seq: number; ts: number; detections: TrackerDetection[] } {
  assert.equal(typeof msg.ts, 'number', 'the pipeline dates frames in epoch ms');
  assert.equal(typeof msg.seq, 'number', 'the pipeline numbers its frames');
  return {
    seq: msg.seq!,
    ts: msg.ts as number,
    detections: msg.detections.map((d) => ({
      box: { x1: d.box[0], y1: d.box[1], x2: d.box[2], y2: d.box[3] },
      score: d.score,
      appearance: d.appearance ?? [],
    })),
  };
}

for (const name of NAMES) {
  test(`${name} over RTSP: camera and zones through the API → people events on SSE and in ClickHouse as the ground truth has them; MOTA ≥ 0.95`, async (t) => {
    const created = await api<{ id: string }>('POST', '/v1/cameras', {
      siteId,
      name: `RTSP ${name}`,
      sourceUrl: rtsp.url(name),
      // Zones first: the camera streams from the moment it is enabled.
      enabled: false,
      inputSize: SIZE,
      detectFps: FPS,
      confidence: CONFIDENCE,
      modelPath: model,
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const cameraId = created.json.id;
    const zones: ZoneDef[] = [];
    const entrances = new Set<string>();
    for (const z of SCENE_ZONES[name]) {
      const r = await api<ApiZone>('POST', '/v1/zones', { cameraId, ...z });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      if (r.json.entrance) entrances.add(r.json.id);
      zones.push({
        id: r.json.id,
        kind: r.json.kind,
        points: r.json.points,
        ...(r.json.dwellSeconds === null ? {} : { dwellSeconds: r.json.dwellSeconds }),
      });
    }

    const published: Array<ReturnType<typeof frameOf>> = [];
    const det: Subscription = fx.nc.subscribe(fx.names.detections.camera(tenantId, cameraId), {
      callback: (_err, msg) => {
        published.push(frameOf(msg.json<DetectionsIn>()));
      },
    });
    let session: CameraHealth | undefined;
    try {
      const on = await api('PATCH', `/v1/cameras/${cameraId}`, { enabled: true });
      assert.equal(on.status, 200, JSON.stringify(on.json));
      // The first session ends with the file (the server ends it); the camera reconnects.
      let last: CameraHealth | undefined;
      session = await waitFor(
        `the first RTSP session of ${name} to end`,
        async () => ((last = await health(cameraId)).reconnects >= 1 ? last : undefined),
        (played(name).duration + 60) * 1000,
        250,
      ).catch(() => assert.fail(`the session never ended: ${JSON.stringify(last)}`));
      const off = await api('PATCH', `/v1/cameras/${cameraId}`, { enabled: false });
      assert.equal(off.status, 200, JSON.stringify(off.json));
    } finally {
      // Frames still on their way when the camera stops belong to the second session.
      await new Promise((r) => setTimeout(r, 500));
      det.unsubscribe();
    }

    // The first session: from its first frame (video time 0) for the length of the file. Frame
    // `seq` (from 1 in a new pipeline) is the `seq`-th sampled frame, media time (seq − 1) / FPS:
    // a frame the detector dropped leaves a gap, never a shift. The second session (the camera
    // reconnecting before it was disabled) starts after the first ended plus a backoff, so its
    // frames and events all lie past `end`.
    assert.ok(published.length > 0, 'no detections published');
    const t0 = published[0]!.ts - Math.round(((published[0]!.seq - 1) * 1000) / FPS);
    const end = t0 + played(name).duration * 1000;
    const first = published.filter((f) => f.ts < end);
    // Scene time is video time less the lead-in: the ground truth's clock.
    const sceneT0 = t0 + LEAD_S * 1000;
    const frames: SceneFrame[] = first.map((f) => ({
      pts: (f.ts - sceneT0) / 1000,
      detections: f.detections,
    }));
    const missing = Array.from({ length: Math.round(played(name).duration * FPS) }, (_, i) => i + 1).filter(
      (seq) => !first.some((f) => f.seq === seq),
    );
    const expectedFrames = Math.ceil(played(name).duration * FPS);
    t.diagnostic(
      `${name}: ${frames.length} of ${expectedFrames} sampled frames published; dropped by the detector: ${session?.framesDropped ?? '?'} (frames ${missing.join(', ') || 'none'}); inference p50 ${session?.inferenceMs.p50 ?? '?'} ms, p95 ${session?.inferenceMs.p95 ?? '?'} ms`,
    );
    assert.ok(
      (frames.at(-1)?.pts ?? 0) >= SCENES[name].duration + TAIL_S - 1,
      `the first session stopped before the scene's tail (last frame at ${frames.at(-1)?.pts} s): visits would stay open`,
    );

    // Tracking over exactly what went through det.*: the same decider the actor runs.
    const { mot, personOf } = runScene(name, zones, frames, sceneT0);
    const truth = truthEvents(
      name,
      zones,
      frames.map((f) => f.pts),
      sceneT0,
    );
    assert.ok(truth.length >= 2, `scene ${name} has only ${truth.length} zone events to check`);

    // SSE: every ground-truth event, nothing else, of the first session.
    const live = (): PeopleEvent[] =>
      streamed.filter(
        (e): e is PeopleEvent => e.type.startsWith('people.') && e.data.cameraId === cameraId && e.ts < end,
      );
    const keyedLive = (): PeopleEvent[] =>
      live().filter((e) => KEYED.includes(e.type.slice('people.'.length)));
    await waitFor(
      `${truth.length} people events of ${name} on the stream`,
      () => keyedLive().length >= truth.length,
      30_000,
    ).catch(() =>
      assert.fail(`the stream has ${JSON.stringify(keyedLive())}; the ground truth ${JSON.stringify(truth)}`),
    );
    const items: ZoneItem[] = keyedLive().map((e) => ({
      type: e.type.slice('people.'.length),
      zoneId: e.data.zoneId,
      trackId: e.data.trackId,
      ts: e.ts,
      ...(e.data.dwellSeconds === null ? {} : { dwellSeconds: e.data.dwellSeconds }),
    }));
    const fit = assertMatchesTruth(keyedEvents(items, personOf), truth);
    for (const e of live()) {
      assert.equal(e.siteId, siteId);
      assert.equal(e.data.entrance, entrances.has(e.data.zoneId));
    }
    const occupancy = live().filter((e) => e.type === 'people.occupancy');
    assert.ok(
      occupancy.length > 0 || zones.every((z) => z.kind === 'line'),
      `no occupancy events for ${name}`,
    );
    for (const z of zones.filter((z) => z.kind !== 'line'))
      assert.equal(
        occupancy.filter((e) => e.data.zoneId === z.id).at(-1)?.data.count ?? 0,
        0,
        'every visit closed',
      );

    // ClickHouse: the same events, one row each (FINAL collapses redeliveries).
    interface Row {
      event_id: string;
      kind: string;
      zone_id: string;
      track_id: string | null;
      at_ms: string;
      dwell_s: number | null;
    }
    const stored = async (): Promise<Row[]> =>
      (
        await ch.query({
          query: chSql`SELECT event_id, kind, zone_id, track_id, at_ms, dwell_s FROM people_events FINAL
            WHERE tenant_id = ${tenantId} AND toString(camera_id) = ${cameraId} AND at_ms < ${end}
              AND has(${PEOPLE_KINDS}, kind)
            ORDER BY at_ms, event_id`,
          format: 'JSONEachRow',
        })
      ).json<Row>();
    await waitFor(
      'people events in ClickHouse',
      async () => (await stored()).length >= live().length,
      60_000,
    );
    const rows = await stored();
    assert.deepEqual(
      rows.map((r) => r.event_id).sort(),
      live()
        .map((e) => e.id)
        .sort(),
    );
    const fromClickHouse: ZoneItem[] = rows
      .filter((r) => KEYED.includes(r.kind))
      .map((r) => ({
        type: r.kind,
        zoneId: r.zone_id,
        trackId: r.track_id === null ? null : Number(r.track_id),
        ts: Number(r.at_ms),
        ...(r.dwell_s === null ? {} : { dwellSeconds: Number(r.dwell_s) }),
      }));
    assertMatchesTruth(keyedEvents(fromClickHouse, personOf), truth);

    t.diagnostic(
      `${name}: MOTA ${mot.mota.toFixed(3)} (${mot.truths} truths, ${mot.misses} misses, ${mot.falsePositives} false positives), ` +
        `${mot.idSwitches} ID switches (${SCENE_OCCLUSIONS[name]} occlusions), ${truth.length} events matched, ` +
        `max timing error ${fit.maxErrorMs} ms, max dwell error ${fit.maxDwellErrorMs ?? '–'} ms`,
    );
    assert.ok(
      mot.mota >= 0.95,
      `MOTA ${mot.mota.toFixed(3)} (${JSON.stringify({ ...mot, idsByPerson: [...mot.idsByPerson] })})`,
    );
    assert.ok(mot.idSwitches <= SCENE_OCCLUSIONS[name], `${mot.idSwitches} ID switches`);
  });
}
