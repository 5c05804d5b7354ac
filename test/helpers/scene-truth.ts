/**
 * Ground truth for camera tests on the project's synthetic scenes: the zone events a scene's
 * exact boxes produce, the camera decider run over a scene's detections (with CLEAR-MOT and the
 * track → person mapping), and the check that a camera's events are the ground truth's.
 */
import assert from 'node:assert/strict';
import {
  handleCameraCommand,
  initialCameraState,
  initialZones,
  zonesStep,
  type CameraEvent,
  type TrackerDetection,
  type ZoneDef,
  type ZoneEvent,
} from '../../actors/camera/mod.ts';
import { groundTruth, SCENES, type Scene, type SceneName } from '../../actors/video/mod.ts';
import { clearMot, type MotFrame, type MotResult } from './mot.ts';

/** An axis-aligned rectangle as a zone polygon (normalised corners). */
export const rect = (x1: number, y1: number, x2: number, y2: number): Array<[number, number]> => [
  [x1, y1],
  [x2, y1],
  [x2, y2],
  [x1, y2],
];

/** A zone event of one person (track ids mapped onto the scene's people). */
export interface Keyed {
  type: string;
  zoneId: string;
  person: number;
  ts: number;
}

export interface SceneFrame {
  /** Media time, seconds. */
  pts: number;
  detections: TrackerDetection[];
}

/** What the zones should report: the same zone code over the exact ground-truth boxes. */
export function truthEvents(
  name: SceneName | Scene,
  zones: readonly ZoneDef[],
  times: readonly number[],
  offsetMs = 0,
): Keyed[] {
  const scene = typeof name === 'string' ? SCENES[name] : name;
  let state = initialZones();
  let present = new Map<number, number>();
  const out: ZoneEvent[] = [];
  for (const t of times) {
    const ts = offsetMs + Math.round(t * 1000);
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
    const r = zonesStep(state, zones, ts, boxes, ended);
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

export interface SceneRun {
  events: CameraEvent[];
  mot: MotResult;
  /** Track id → the scene person it was matched to. */
  personOf: Map<number, number>;
}

/** The camera decider over a scene's detections, frame time `offsetMs + pts`, as a live actor runs it. */
export function runScene(
  name: SceneName,
  zones: readonly ZoneDef[],
  frames: readonly SceneFrame[],
  offsetMs = 0,
): SceneRun {
  const scene = SCENES[name];
  let state = initialCameraState([...zones]);
  const mot: MotFrame[] = [];
  const events: CameraEvent[] = [];
  let seq = 0;
  for (const f of frames) {
    const ts = offsetMs + Math.round(f.pts * 1000);
    const r = handleCameraCommand(
      state,
      { type: 'detections', data: { seq: ++seq, ts, detections: f.detections } },
      ts,
    );
    state = r.state;
    events.push(...r.events);
    mot.push({
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
  const result = clearMot(mot);
  const personOf = new Map<number, number>();
  for (const [p, ids] of result.idsByPerson) for (const id of ids) personOf.set(id, p);
  return { events, mot: result, personOf };
}

export interface ZoneItem {
  type: string;
  zoneId: string;
  trackId: number | null;
  ts: number;
}

/** The decider's zone events of people (those with a track). */
export function decidedZoneEvents(events: readonly CameraEvent[]): ZoneItem[] {
  return events.flatMap((e) => {
    const d = e.data as Partial<ZoneItem>;
    return d.zoneId !== undefined && d.trackId !== undefined && d.ts !== undefined
      ? [{ type: e.type, zoneId: d.zoneId, trackId: d.trackId, ts: d.ts }]
      : [];
  });
}

/** Zone events of people (with a track), mapped onto the scene's people. */
export function keyedEvents(events: readonly ZoneItem[], personOf: ReadonlyMap<number, number>): Keyed[] {
  return events.flatMap((e) =>
    e.trackId === null
      ? []
      : [{ type: e.type, zoneId: e.zoneId, person: personOf.get(e.trackId) ?? -1, ts: e.ts }],
  );
}

/** Every ground-truth event is seen once (same type, zone and person, within `toleranceMs`), and nothing else is. */
export function assertMatchesTruth(seen: readonly Keyed[], truth: readonly Keyed[], toleranceMs = 300): void {
  const unmatched = [...seen];
  for (const want of truth) {
    const i = unmatched.findIndex(
      (e) =>
        e.type === want.type &&
        e.zoneId === want.zoneId &&
        e.person === want.person &&
        Math.abs(e.ts - want.ts) <= toleranceMs,
    );
    assert.ok(i >= 0, `missing ${JSON.stringify(want)}; got ${JSON.stringify(seen)}`);
    unmatched.splice(i, 1);
  }
  assert.deepEqual(unmatched, [], 'events the ground truth does not have');
}
