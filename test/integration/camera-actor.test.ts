/**
 * Camera actors over the real services, from `det.*` onwards: cameras and zones created through
 * the API, the detections of two synthetic scenes (generated video → generated detector)
 * published as an edge device would, and then — on /v1/stream and in ClickHouse — every people
 * event the scenes' ground truth has (same type, zone and person, within 0.3 s) and nothing
 * else, exactly once even when the ClickHouse sink reads the whole stream again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import { startActorNode, type ActorNode } from '../../actors/mod.ts';
import { outboundEvents, type ZoneDef } from '../../actors/camera/mod.ts';
import type { SceneName } from '../../actors/video/mod.ts';
import type { RunningServer } from '../../gateway/mod.ts';
import {
  chSql,
  createClickHouse,
  createLogger,
  type ApiZone,
  type DetectionsIn,
  type PeopleEvent,
  type Pool,
  type ZoneReplayResult,
} from '../../schemas/mod.ts';
import { publishDetections } from '../../streams/mod.ts';
import { callApi, deleteCameraTenant, startLiveUnit } from '../helpers/live-unit.ts';
import { natsNamespace } from '../helpers/nats-namespace.ts';
import {
  assertMatchesTruth,
  keyedEvents,
  SCENE_ZONES,
  runScene,
  truthEvents,
  type SceneFrame,
  type SceneZone,
  type ZoneItem,
} from '../helpers/scene-truth.ts';
import { SseClient, type SseFrame } from '../helpers/sse-client.ts';
import { detectorFixture, sceneDetections } from '../helpers/video.ts';
import { waitFor } from '../helpers/wait.ts';

const PASSWORD = 'camera-actor-password-1';
const SIZE = 320;
const FPS = 5;
/** Empty frames after a scene, past the tracker's lost-track buffer: every visit is closed. */
const TAIL_S = 4;

/** The zones of each scene camera, as created through the API. */
const ZONES: Record<'walk-through' | 'shelf', SceneZone[]> = {
  'walk-through': SCENE_ZONES['walk-through'],
  shelf: SCENE_ZONES.shelf,
};
const SCENE_NAMES = Object.keys(ZONES) as Array<'walk-through' | 'shelf'>;

let node: ActorNode;
let server: RunningServer;
const fx = natsNamespace('camera-actor', {
  beforeDelete: async () => {
    await server?.close();
    await node?.stop();
  },
});
const config = fx.config;
const video = detectorFixture(SCENE_NAMES, SIZE);
let admin: Pool;
let ch: ClickHouseClient;
let tenantId: string;
let siteId: string;
let token: string;

interface SceneCamera {
  name: SceneName;
  cameraId: string;
  zones: ZoneDef[];
  /** Frame time of media time 0. */
  t0: number;
  frames: SceneFrame[];
}
const cameras: SceneCamera[] = [];
/** Every people event the stream delivered, in order. */
const streamed: PeopleEvent[] = [];

const api = <T>(method: string, path: string, body?: unknown) =>
  callApi<T>(server.url, token, method, path, body);

async function chRows<T>(query: string): Promise<T[]> {
  const rs = await ch.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

before(async () => {
  ({ tenantId, siteId, admin, node, server } = await startLiveUnit(config, {
    name: 'Camera Stores',
    slug: 'camera-actor',
    password: PASSWORD,
    rules: [],
  }).then(async (u) => {
    const login = await fetch(`${u.server.url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: u.email, password: PASSWORD }),
    });
    assert.equal(login.status, 200);
    token = ((await login.json()) as { accessToken: string }).accessToken;
    return u;
  }));
  ch = createClickHouse(config);
});

after(async () => {
  if (tenantId) await deleteCameraTenant(admin, ch, tenantId);
  await ch?.close();
  await admin?.end();
});

/** A detections message as an edge device sends it; the frame the actor will see is read back from it. */
function message(f: SceneFrame, ts: number, seq: number): DetectionsIn {
  const clamp = (v: number): number => Math.min(1, Math.max(0, v));
  return {
    ts,
    seq,
    detections: f.detections.map((d) => ({
      box: [clamp(d.box.x1), clamp(d.box.y1), clamp(d.box.x2), clamp(d.box.y2)],
      score: Math.min(1, d.score),
      appearance: [...d.appearance],
    })),
  };
}

test('detections published for two cameras → people events on SSE and in ClickHouse as the ground truth has them', async () => {
  const sse = await SseClient.open(`${server.url}/v1/stream?kind=people`, {
    token,
    onFrame: (f: SseFrame) => streamed.push(JSON.parse(f.data!) as PeopleEvent),
    requireOk: true,
  });
  try {
    // Frames dated from now on, as a live device sends them (within the allowed clock skew).
    const start = Date.now();
    for (const [i, name] of SCENE_NAMES.entries()) {
      const created = await api<{ id: string }>('POST', '/v1/cameras', {
        siteId,
        name: `Edge ${name}`,
        // An edge device detects for this camera: Vigil runs no video for it.
        sourceUrl: `rtsp://192.0.2.1/${name}`,
        enabled: false,
      });
      assert.equal(created.status, 201);
      const zones: ZoneDef[] = [];
      for (const z of ZONES[name]) {
        const r = await api<ApiZone>('POST', '/v1/zones', { cameraId: created.json.id, ...z });
        assert.equal(r.status, 201, JSON.stringify(r.json));
        zones.push({
          id: r.json.id,
          kind: r.json.kind,
          points: r.json.points,
          ...(r.json.dwellSeconds === null ? {} : { dwellSeconds: r.json.dwellSeconds }),
        });
      }
      const frames: SceneFrame[] = [];
      for await (const f of sceneDetections(video, name, { size: SIZE, fps: FPS, confidence: 0.3 }))
        frames.push(f);
      const last = frames.at(-1)?.pts ?? 0;
      for (let k = 1; k <= TAIL_S * FPS; k++) frames.push({ pts: last + k / FPS, detections: [] });
      cameras.push({ name, cameraId: created.json.id, zones, t0: start + i * 30_000, frames });
    }

    // Both cameras' frames interleaved, as two devices would send them.
    const sends = cameras.flatMap((c) =>
      c.frames.map((f, i) => ({ c, f, ts: c.t0 + Math.round(f.pts * 1000), seq: i + 1 })),
    );
    sends.sort((a, b) => a.ts - b.ts);
    for (const s of sends) {
      const msg = message(s.f, s.ts, s.seq);
      await publishDetections(fx.js, fx.names, tenantId, s.c.cameraId, msg);
      // What the actor sees is what the message carries.
      s.f.detections = msg.detections.map((d) => ({
        box: { x1: d.box[0], y1: d.box[1], x2: d.box[2], y2: d.box[3] },
        score: d.score,
        appearance: d.appearance ?? [],
      }));
    }

    for (const c of cameras) {
      const local = runScene(c.name, c.zones, c.frames, c.t0);
      const expected = local.events.filter((e) =>
        ['entry', 'exit', 'zone_entry', 'zone_exit', 'product_interaction', 'occupancy'].includes(e.type),
      ).length;
      const live = (): PeopleEvent[] => streamed.filter((e) => e.data.cameraId === c.cameraId);
      await waitFor(
        `${expected} people events of ${c.name} on the stream`,
        () => live().length >= expected,
        60_000,
      );
      const items: ZoneItem[] = live().map((e) => ({
        type: e.type.slice('people.'.length),
        zoneId: e.data.zoneId,
        trackId: e.data.trackId,
        ts: e.ts,
      }));
      const truth = truthEvents(
        c.name,
        c.zones,
        c.frames.map((f) => f.pts),
        c.t0,
      );
      assert.ok(truth.length >= 2, `scene ${c.name} has only ${truth.length} zone events to check`);
      assertMatchesTruth(keyedEvents(items, local.personOf), truth);
      for (const e of live()) {
        assert.equal(e.siteId, siteId);
        assert.equal(e.data.entrance, e.data.zoneId === c.zones[0]!.id && c.name === 'walk-through');
      }
      // Occupancy follows the zone's visits: up on each entry, down on each exit.
      const occupancy = live().filter((e) => e.type === 'people.occupancy');
      assert.ok(occupancy.length > 0, `no occupancy events for ${c.name}`);
      assert.equal(occupancy.at(-1)!.data.count, 0, 'every visit closed by the tail');
    }

    // ClickHouse: one row per streamed event (FINAL collapses redeliveries), the same facts.
    const ids = cameras.map((c) => c.cameraId);
    const stored = async () =>
      chRows<{ event_id: string; kind: string; zone_id: string; track_id: string | null; at_ms: string }>(
        chSql`SELECT event_id, kind, zone_id, track_id, at_ms FROM people_events FINAL
          WHERE tenant_id = ${tenantId} AND has(${ids}, toString(camera_id)) ORDER BY at_ms, event_id`,
      );
    await waitFor(
      'people events in ClickHouse',
      async () => (await stored()).length >= streamed.length,
      60_000,
    );
    const asRow = (e: PeopleEvent) => ({
      event_id: e.id,
      kind: e.type.slice('people.'.length),
      zone_id: e.data.zoneId,
      track_id: e.data.trackId,
      at_ms: e.ts,
    });
    const want = streamed
      .map(asRow)
      .sort((a, b) => a.at_ms - b.at_ms || a.event_id.localeCompare(b.event_id));
    const got = (await stored()).map((r) => ({
      ...r,
      track_id: r.track_id === null ? null : Number(r.track_id),
      at_ms: Number(r.at_ms),
    }));
    assert.deepEqual(got, want);

    // Track summaries: one per track the tracker confirmed, as the actors ended them.
    const ended = cameras.flatMap((c) =>
      runScene(c.name, c.zones, c.frames, c.t0).events.flatMap((e) =>
        e.type === 'track_ended' ? [`${c.cameraId}:${e.data.trackId}:${e.data.firstSeen}`] : [],
      ),
    );
    assert.ok(ended.length >= 5, `${ended.length} tracks ended`);
    const summaries = async () =>
      (
        await chRows<{ k: string }>(
          chSql`SELECT concat(toString(camera_id), ':', toString(track_id), ':', toString(first_seen_ms)) AS k
             FROM track_summaries FINAL WHERE tenant_id = ${tenantId} ORDER BY k`,
        )
      ).map((r) => r.k);
    await waitFor(
      'track summaries in ClickHouse',
      async () => (await summaries()).length >= ended.length,
      30_000,
    );
    assert.deepEqual(await summaries(), ended.sort());

    // Redelivery: the sink reads the whole of EVENTS again; nothing counts twice.
    await node.stop();
    await fx.jsm.consumers.delete(fx.names.events.stream, fx.names.consumer('people_ch'));
    const total = (await fx.jsm.streams.info(fx.names.events.stream)).state.messages;
    node = await startActorNode({
      config,
      log: createLogger(config, 'camera-actor-resink'),
      nodeID: `${fx.ns}-resink`,
      services: ['people-ch'],
    });
    await waitFor('the sink to read EVENTS again', async () => {
      const h = (await node.health())['people-ch'] as { consumer: { processed: number } };
      return h.consumer.processed >= total;
    });
    assert.deepEqual(
      (await stored()).map((r) => r.event_id),
      got.map((r) => r.event_id),
    );
    assert.deepEqual(await summaries(), ended);
  } finally {
    await sse.close();
  }
});

test("a zone's replay over the retained detections equals its live events; a draft of the same shape too", async () => {
  assert.equal(cameras.length, SCENE_NAMES.length, 'the live test ran first');
  type Item = {
    type: string;
    ts: number;
    trackId: number | null;
    dwellSeconds: number | null;
    count: number | null;
    since: number | null;
  };
  const asItem = (e: Item): Item => ({
    type: e.type,
    ts: e.ts,
    trackId: e.trackId,
    dwellSeconds: e.dwellSeconds,
    count: e.count,
    since: e.since,
  });
  let compared = 0;
  for (const c of cameras) {
    const from = new Date(c.t0).toISOString();
    const to = new Date(c.t0 + Math.round(c.frames.at(-1)!.pts * 1000)).toISOString();
    for (const zone of c.zones) {
      const live = streamed
        .filter((e) => e.data.zoneId === zone.id)
        .map((e) => asItem({ ...e.data, type: e.type, ts: e.ts }));
      assert.ok(live.length >= 2, `zone ${zone.id} of ${c.name} had ${live.length} live events`);
      const res = await api<ZoneReplayResult>('GET', `/v1/zones/${zone.id}/replay?from=${from}&to=${to}`);
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.equal(res.json.zoneId, zone.id);
      assert.equal(res.json.frames, c.frames.length);
      assert.deepEqual(res.json.events.map(asItem), live);
      assert.deepEqual(res.json.inside, []);
      const draft = await api<ZoneReplayResult>('POST', '/v1/zones/replay', {
        cameraId: c.cameraId,
        zone: {
          kind: zone.kind,
          points: zone.points,
          ...(zone.dwellSeconds === undefined ? {} : { dwellSeconds: zone.dwellSeconds }),
        },
        from,
        to,
      });
      assert.equal(draft.status, 200, JSON.stringify(draft.json));
      assert.equal(draft.json.zoneId, null);
      assert.deepEqual(draft.json.events.map(asItem), live);
      compared += live.length;
    }
  }
  assert.ok(compared >= 10, `${compared} live events compared`);

  // A draft with crossing edges is refused before anything is read.
  const bad = await api<{ error: { code: string } }>('POST', '/v1/zones/replay', {
    cameraId: cameras[0]!.cameraId,
    zone: {
      kind: 'area',
      points: [
        [0.1, 0.1],
        [0.9, 0.9],
        [0.9, 0.1],
        [0.1, 0.9],
      ],
    },
    from: new Date(cameras[0]!.t0).toISOString(),
    to: new Date(cameras[0]!.t0 + 1000).toISOString(),
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'ZONE_SELF_INTERSECTING');
});

test('a camera actor moved to a new node mid-scene resumes from its snapshot: the same events, each once', async () => {
  const scene = cameras[0]!;
  const created = await api<{ id: string }>('POST', '/v1/cameras', {
    siteId,
    name: 'Edge handover',
    sourceUrl: 'rtsp://192.0.2.1/handover',
    enabled: false,
  });
  assert.equal(created.status, 201);
  const cameraId = created.json.id;
  const zones: ZoneDef[] = [];
  for (const z of ZONES['walk-through']) {
    const r = await api<ApiZone>('POST', '/v1/zones', { cameraId, ...z });
    assert.equal(r.status, 201);
    zones.push({ id: r.json.id, kind: r.json.kind, points: r.json.points });
  }
  const seen: Array<{ id: string }> = [];
  const sse = await SseClient.open(`${server.url}/v1/stream?camera=${cameraId}`, {
    token,
    onFrame: (f: SseFrame) => seen.push(JSON.parse(f.data!) as { id: string }),
    requireOk: true,
  });
  try {
    const t0 = Date.now();
    const publish = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) {
        const f = scene.frames[i]!;
        await publishDetections(
          fx.js,
          fx.names,
          tenantId,
          cameraId,
          message(f, t0 + Math.round(f.pts * 1000), i + 1),
        );
      }
    };
    // Mid-scene: people in view and inside zones when the camera moves.
    const half = Math.floor(scene.frames.length * 0.4);
    const idsOf = (frames: SceneFrame[]): string[] =>
      outboundEvents(runScene('walk-through', zones, frames, t0).events, {
        tenantId,
        siteId,
        cameraId,
        entrances: new Set([zones[0]!.id]),
      }).map((e) => e.id);
    const firstHalf = idsOf(scene.frames.slice(0, half));
    const expected = idsOf(scene.frames);
    assert.ok(
      firstHalf.length >= 3 && expected.length > firstHalf.length,
      `events on both sides of the move: ${firstHalf.length} of ${expected.length}`,
    );
    await node.stop();
    node = await startActorNode({
      config,
      log: createLogger(config, 'camera-actor-a'),
      nodeID: `${fx.ns}-a`,
      notifierTenants: [tenantId],
    });
    await publish(0, half);
    await waitFor('the first node to handle the first half', () => seen.length >= firstHalf.length, 60_000);
    assert.deepEqual(
      seen.map((e) => e.id),
      firstHalf,
    );
    // Stopped after the first half: its tracks (ids, positions, visits in progress) are in the snapshot.
    await node.stop();
    node = await startActorNode({
      config,
      log: createLogger(config, 'camera-actor-b'),
      nodeID: `${fx.ns}-b`,
      notifierTenants: [tenantId],
    });
    await publish(half, scene.frames.length);

    assert.ok(expected.length >= 10, `${expected.length} events expected`);
    await waitFor(
      `${expected.length} events of the moved camera`,
      () => seen.length >= expected.length,
      60_000,
    );
    assert.deepEqual(
      seen.map((e) => e.id),
      expected,
    );
  } finally {
    await sse.close();
  }
});
