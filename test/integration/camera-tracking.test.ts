import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  handleCameraCommand,
  initialCameraState,
  initialZones,
  zonesStep,
  type CameraEvent,
  type ZoneDef,
  type ZoneEvent,
} from '../../actors/camera/mod.ts';
import { groundTruth, SCENES, type SceneName } from '../../actors/video/mod.ts';
import { clearMot, type MotFrame } from '../helpers/mot.ts';
import { detectorFixture, sceneDetections } from '../helpers/video.ts';

const SIZE = 320;
const FPS = 5;
const rect = (x1: number, y1: number, x2: number, y2: number): Array<[number, number]> => [
  [x1, y1],
  [x2, y1],
  [x2, y2],
  [x1, y2],
];

/** Zones per scene, each placed where the scene tests something (see the scene descriptions). */
const ZONES: Record<SceneName, ZoneDef[]> = {
  'walk-through': [
    {
      id: 'door',
      kind: 'line',
      points: [
        [0.35, 0.3],
        [0.35, 1],
      ],
    },
    { id: 'floor', kind: 'area', points: rect(0.55, 0.6, 0.8, 0.95) },
  ],
  // Red is hidden behind blue while inside the zone.
  crossing: [{ id: 'middle', kind: 'area', points: rect(0.4, 0.6, 0.6, 0.85) }],
  // The walker enters, is hidden behind the standing person, and leaves.
  occlusion: [{ id: 'centre', kind: 'area', points: rect(0.35, 0.6, 0.65, 0.9) }],
  shelf: [{ id: 'shelf', kind: 'product', points: rect(0.7, 0.45, 0.9, 0.65), dwellSeconds: 2 }],
};
/** Occlusions in each scene: the ID-switch budget is one per occlusion. */
const OCCLUSIONS: Record<SceneName, number> = { 'walk-through': 1, crossing: 1, occlusion: 1, shelf: 0 };

const NAMES = Object.keys(ZONES) as SceneName[];
const fx = detectorFixture(NAMES, SIZE);

type Keyed = { type: string; zoneId: string; person: number; ts: number };

/** What the zones should report: the same zone code over the exact ground-truth boxes. */
function truthEvents(name: SceneName, times: number[]): Keyed[] {
  const scene = SCENES[name];
  let state = initialZones();
  let present = new Map<number, number>();
  const out: ZoneEvent[] = [];
  for (const t of times) {
    const ts = Math.round(t * 1000);
    const boxes = groundTruth(scene, t).map((g) => ({
      id: g.id,
      box: {
        x1: g.x1 / scene.width,
        y1: g.y1 / scene.height,
        x2: g.x2 / scene.width,
        y2: g.y2 / scene.height,
      },
    }));
    const ids = new Set(boxes.map((b) => b.id));
    const ended = [...present].filter(([id]) => !ids.has(id)).map(([id, lastSeen]) => ({ id, lastSeen }));
    const r = zonesStep(state, ZONES[name], ts, boxes, ended);
    state = r.state;
    out.push(...r.events);
    present = new Map([
      ...[...present].filter(([id]) => ids.has(id)),
      ...boxes.map((b) => [b.id, ts] as const),
    ]);
  }
  return out.flatMap((e) =>
    'trackId' in e ? [{ type: e.type, zoneId: e.zoneId, person: e.trackId, ts: e.ts }] : [],
  );
}

describe('camera actor on the project scenes (generated video → generated detector → tracker → zones)', () => {
  for (const name of NAMES) {
    test(`${name}: MOTA ≥ 0.95, ≤ 1 ID switch per occlusion, zone events as in the ground truth (±0.3 s)`, async () => {
      const scene = SCENES[name];
      let state = initialCameraState(ZONES[name]);
      const frames: MotFrame[] = [];
      const events: CameraEvent[] = [];
      const times: number[] = [];
      let seq = 0;
      for await (const f of sceneDetections(fx, name, { size: SIZE, fps: FPS, confidence: 0.3 })) {
        const ts = Math.round(f.pts * 1000);
        const detections = f.detections;
        const r = handleCameraCommand(
          state,
          { type: 'detections', data: { seq: ++seq, ts, detections } },
          ts,
        );
        state = r.state;
        events.push(...r.events);
        times.push(f.pts);
        frames.push({
          truth: groundTruth(scene, f.pts),
          tracks: state.tracker.tracks
            .filter((t) => t.status === 'confirmed' && t.lastSeen === ts)
            .map((t) => ({
              id: t.id,
              box: {
                x1: t.box.x1 * scene.width,
                y1: t.box.y1 * scene.height,
                x2: t.box.x2 * scene.width,
                y2: t.box.y2 * scene.height,
              },
            })),
        });
      }
      const mot = clearMot(frames);
      assert.ok(
        mot.mota >= 0.95,
        `MOTA ${mot.mota.toFixed(3)} (${JSON.stringify({ ...mot, idsByPerson: [...mot.idsByPerson] })})`,
      );
      assert.ok(mot.idSwitches <= OCCLUSIONS[name], `${mot.idSwitches} ID switches`);

      // Each track belongs to the person it was matched to; map the events onto people.
      const personOf = new Map<number, number>();
      for (const [p, ids] of mot.idsByPerson) for (const id of ids) personOf.set(id, p);
      const seen: Keyed[] = events.flatMap((e) =>
        'zoneId' in e.data && 'trackId' in e.data
          ? [
              {
                type: e.type,
                zoneId: e.data.zoneId,
                person: personOf.get(e.data.trackId) ?? -1,
                ts: e.data.ts,
              },
            ]
          : [],
      );
      const truth = truthEvents(name, times);
      assert.ok(truth.length >= 2, `scene ${name} has only ${truth.length} zone events to check`);
      const unmatched = [...seen];
      for (const want of truth) {
        const i = unmatched.findIndex(
          (e) =>
            e.type === want.type &&
            e.zoneId === want.zoneId &&
            e.person === want.person &&
            Math.abs(e.ts - want.ts) <= 300,
        );
        assert.ok(i >= 0, `missing ${JSON.stringify(want)}; got ${JSON.stringify(seen)}`);
        unmatched.splice(i, 1);
      }
      assert.deepEqual(unmatched, [], 'events the ground truth does not have');
    });
  }
});
