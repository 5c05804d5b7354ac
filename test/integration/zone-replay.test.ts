/**
 * Zone replay: a draft zone run over a camera's retained detections gives exactly the events the
 * live camera decider gave for that zone — first over the frames in memory, then read back from
 * DETECTIONS on the running NATS server by time range.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  handleCameraCommand,
  initialCameraState,
  replayZone,
  ZoneReplayer,
  type CameraEvent,
  type ReplayFrame,
  type ZoneDef,
  type ZoneReplayEvent,
} from '../../actors/camera/mod.ts';
import type { SceneName } from '../../actors/video/mod.ts';
import { loadConfig } from '../../schemas/mod.ts';
import {
  connectNats,
  deleteNamespace,
  ensureStreams,
  jetstream,
  jetstreamManager,
  names as namesFor,
  publishDetections,
  readDetectionsRange,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from '../../streams/mod.ts';
import { detectorFixture, sceneDetections } from '../helpers/video.ts';

const SIZE = 320;
const FPS = 5;

/** Draft zones: a line across the walkers' path, an area they cross, a shelf one stands at. */
const DRAFTS: Partial<Record<SceneName, ZoneDef[]>> = {
  'walk-through': [
    {
      id: 'aisle',
      kind: 'line',
      points: [
        [0.5, 0.2],
        [0.5, 1],
      ],
    },
    {
      id: 'left',
      kind: 'area',
      points: [
        [0.05, 0.5],
        [0.45, 0.5],
        [0.45, 0.98],
        [0.05, 0.98],
      ],
    },
  ],
  shelf: [
    {
      id: 'cooler',
      kind: 'product',
      points: [
        [0.7, 0.45],
        [0.9, 0.45],
        [0.9, 0.65],
        [0.7, 0.65],
      ],
      dwellSeconds: 2,
    },
  ],
};
const NAMES = Object.keys(DRAFTS) as SceneName[];
/** The frames are dated two minutes back but published now: they count as that late. */
const LATE_MS = 10 * 60_000;
const fx = detectorFixture(NAMES, SIZE);
const frames = new Map<SceneName, ReplayFrame[]>();

/** The scene through the generated detector, frame times a minute ago (inside the stream's bounds). */
async function detect(name: SceneName, base: number): Promise<ReplayFrame[]> {
  const out: ReplayFrame[] = [];
  let seq = 0;
  for await (const f of sceneDetections(fx, name, { size: SIZE, fps: FPS, confidence: 0.3 }))
    out.push({
      ts: base + Math.round(f.pts * 1000),
      seq: ++seq,
      // A box squashed to nothing at the frame edge is not a valid message; the live actor never gets it.
      detections: f.detections.filter((d) => d.box.x2 > d.box.x1 && d.box.y2 > d.box.y1),
    });
  return out;
}

/** The live camera: every zone of the scene at once, in one decider, frame after frame. */
function live(name: SceneName): CameraEvent[] {
  let state = initialCameraState(DRAFTS[name]);
  const events: CameraEvent[] = [];
  for (const f of frames.get(name)!) {
    const r = handleCameraCommand(
      state,
      { type: 'detections', data: { seq: f.seq!, ts: f.ts, detections: [...f.detections] } },
      f.ts,
    );
    state = r.state;
    events.push(...r.events);
  }
  return events;
}

const ofZone = (events: CameraEvent[], zoneId: string): CameraEvent[] =>
  events.filter((e) => 'zoneId' in e.data && e.data.zoneId === zoneId);

/** Detects every scene once, on first use (after the fixture's hooks have written the videos). */
let detecting: Promise<void> | null = null;
const ready = (): Promise<void> =>
  (detecting ??= (async () => {
    const base = Date.now() - 120_000;
    for (const name of NAMES) frames.set(name, await detect(name, base));
  })());

describe('zone replay over frames in memory', () => {
  for (const name of NAMES)
    for (const zone of DRAFTS[name]!)
      test(`${name}: draft ${zone.kind} zone "${zone.id}" alone gives the live camera's events for it`, async () => {
        await ready();
        const expected = ofZone(live(name), zone.id);
        const result = replayZone(frames.get(name)!, zone);
        assert.deepEqual(result.events, expected);
        // The comparison means something: people were seen going through the zone.
        const kinds = new Set(result.events.map((e) => e.type));
        if (zone.kind === 'line') assert.ok(kinds.has('entry') && kinds.has('exit'), [...kinds].join());
        else assert.ok(kinds.has('zone_entry') && kinds.has('zone_exit'), [...kinds].join());
        if (zone.kind === 'product') assert.ok(kinds.has('product_interaction'));
        assert.equal(result.frames, frames.get(name)!.length);
        assert.ok(result.tracks >= 2);
      });

  test('a replay that starts mid-scene begins with no tracks: someone already inside enters at the first frames', async () => {
    await ready();
    const all = frames.get('shelf')!;
    const zone = DRAFTS.shelf![0]!;
    // At 6 s the shopper stands at the shelf (4 s to 8 s in the scene).
    const start = all.findIndex((f) => f.ts - all[0]!.ts >= 6000);
    const r = new ZoneReplayer(zone);
    for (const f of all.slice(start)) r.push(f);
    const result = r.result();
    const first = result.events.find(
      (e): e is Extract<ZoneReplayEvent, { type: 'zone_entry' }> => e.type === 'zone_entry',
    );
    assert.ok(first, 'an entry');
    assert.ok(
      first.data.ts - all[start]!.ts <= 1000,
      `entered ${first.data.ts - all[start]!.ts} ms after the start`,
    );
    assert.equal(result.from, all[start]!.ts);
    assert.equal(result.to, all.at(-1)!.ts);
  });

  test('frames not newer than the last are skipped, as the live decider does', async () => {
    await ready();
    const all = frames.get('walk-through')!;
    const zone = DRAFTS['walk-through']![0]!;
    const shuffled = [...all.slice(0, 20), all[5]!, all[19]!, ...all.slice(20)];
    const replayed = replayZone(shuffled, zone);
    assert.deepEqual(replayed.events, replayZone(all, zone).events);
    assert.equal(replayed.frames, all.length);
  });
});

describe('zone replay over DETECTIONS', () => {
  const ns = `t${randomBytes(4).toString('hex')}`;
  const config = loadConfig(process.env, { VIGIL_NS: ns, LOG_LEVEL: 'silent' });
  const names = namesFor(ns);
  const tenant = 'acme';
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;

  before(async () => {
    nc = await connectNats(config, 'zone-replay-test');
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
    await ensureStreams(jsm, names);
    await ready();
    for (const name of NAMES) {
      const camera = name.replace(/[^a-z]/g, '');
      for (const [i, f] of frames.get(name)!.entries()) {
        await publishDetections(js, names, tenant, camera, {
          ts: f.ts,
          seq: f.seq!,
          detections: f.detections.map((d) => ({
            box: [d.box.x1, d.box.y1, d.box.x2, d.box.y2],
            score: d.score,
            appearance: [...d.appearance],
          })),
        });
        // A malformed message in the middle: the actor dead-letters it; the reader skips it.
        if (i === 7)
          await js.publish(
            names.detections.publish(tenant, camera),
            new TextEncoder().encode('{"ts":"soon"}'),
          );
      }
    }
    // Another camera's frames are not this camera's.
    await publishDetections(js, names, tenant, 'other', { ts: frames.get('shelf')![3]!.ts, detections: [] });
  });

  after(async () => {
    await deleteNamespace(jsm, names);
    await nc.drain();
  });

  for (const name of NAMES)
    test(`${name}: read back by time range, replay equals live for every draft zone`, async () => {
      const camera = name.replace(/[^a-z]/g, '');
      const all = frames.get(name)!;
      const read = await readDetectionsRange(js, names, config, {
        tenantId: tenant,
        cameraId: camera,
        from: all[0]!.ts,
        to: all.at(-1)!.ts,
        maxFrames: 1000,
        lateMs: LATE_MS,
      });
      assert.equal(read.truncated, false);
      assert.equal(read.rejected, 1);
      assert.deepEqual(
        read.frames.map((f) => f.ts),
        all.map((f) => f.ts),
      );
      for (const zone of DRAFTS[name]!)
        assert.deepEqual(replayZone(read.frames, zone).events, ofZone(live(name), zone.id), zone.id);
    });

  test('a range in the middle reads just its frames; past the bound it says truncated', async () => {
    const all = frames.get('shelf')!;
    const range = {
      tenantId: tenant,
      cameraId: 'shelf',
      from: all[10]!.ts,
      to: all[30]!.ts,
      lateMs: LATE_MS,
    };
    const middle = await readDetectionsRange(js, names, config, { ...range, maxFrames: 100 });
    assert.deepEqual(
      middle.frames.map((f) => f.seq),
      all.slice(10, 31).map((f) => f.seq),
    );
    const bounded = await readDetectionsRange(js, names, config, { ...range, maxFrames: 5 });
    assert.equal(bounded.truncated, true);
    assert.equal(bounded.frames.length, 5);
    assert.equal(bounded.frames[0]!.seq, all[10]!.seq);
  });

  test('a camera with nothing retained in the range reads nothing, at once', async () => {
    const read = await readDetectionsRange(js, names, config, {
      tenantId: tenant,
      cameraId: 'nobody',
      from: Date.now() - 60_000,
      to: Date.now(),
      maxFrames: 10,
    });
    assert.deepEqual(read, { frames: [], truncated: false, rejected: 0 });
  });
});
