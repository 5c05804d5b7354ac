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

/** A zone as the API creates it (`POST /v1/zones` without its camera). */
export interface SceneZone {
  name: string;
  kind: ZoneDef['kind'];
  points: Array<[number, number]>;
  entrance?: boolean;
  dwellSeconds?: number;
}

/** The zones of each project scene, each placed where its scene tests something. */
export const SCENE_ZONES: Record<SceneName, SceneZone[]> = {
  // Footfall through an entrance line; a floor area's visits and dwell.
  'walk-through': [
    {
      name: 'door',
      kind: 'line',
      entrance: true,
      points: [
        [0.35, 0.3],
        [0.35, 1],
      ],
    },
    { name: 'floor', kind: 'area', points: rect(0.55, 0.6, 0.8, 0.95) },
  ],
  // Red is hidden behind blue while inside the zone.
  crossing: [{ name: 'middle', kind: 'area', points: rect(0.4, 0.6, 0.6, 0.85) }],
  // The walker enters, is hidden behind the standing person, and leaves.
  occlusion: [{ name: 'centre', kind: 'area', points: rect(0.35, 0.6, 0.65, 0.9) }],
  // A shopper dwells at the shelf: an interaction, and a visit's dwell.
  shelf: [{ name: 'shelf', kind: 'product', points: rect(0.7, 0.45, 0.9, 0.65), dwellSeconds: 2 }],
};

/** Occlusions in each scene: the ID-switch budget is one per occlusion. */
export const SCENE_OCCLUSIONS: Record<SceneName, number> = {
  'walk-through': 1,
  crossing: 1,
  occlusion: 1,
  shelf: 0,
};

/** A scene's zones as the zone code runs them, each named by its id. */
export function sceneZoneDefs(name: SceneName): ZoneDef[] {
  return SCENE_ZONES[name].map((z) => ({
    id: z.name,
    kind: z.kind,
    points: z.points,
    ...(z.dwellSeconds === undefined ? {} : { dwellSeconds: z.dwellSeconds }),
  }));
}

/** A zone event of one person (track ids mapped onto the scene's people). */
export interface Keyed {
  type: string;
  zoneId: string;
  person: number;
  ts: number;
  /** Zone exits and interactions; compared only where both sides carry it. */
  dwellSeconds?: number;
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
    'trackId' in e
      ? [
          {
            type: e.type,
            zoneId: e.zoneId,
            person: e.trackId,
            ts: e.ts,
            ...('dwellSeconds' in e ? { dwellSeconds: e.dwellSeconds } : {}),
          },
        ]
      : [],
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
  dwellSeconds?: number;
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
      : [
          {
            type: e.type,
            zoneId: e.zoneId,
            person: personOf.get(e.trackId) ?? -1,
            ts: e.ts,
            ...(e.dwellSeconds === undefined ? {} : { dwellSeconds: e.dwellSeconds }),
          },
        ],
  );
}

/** How far the matched events were from the ground truth (ms); dwell only where both carried it. */
export interface TruthFit {
  maxErrorMs: number;
  maxDwellErrorMs: number | null;
}

/**
 * Every ground-truth event is seen once (same type, zone and person, within `toleranceMs`, and
 * the same dwell within it where both sides carry one), and nothing else is.
 */
export function assertMatchesTruth(
  seen: readonly Keyed[],
  truth: readonly Keyed[],
  toleranceMs = 300,
): TruthFit {
  const unmatched = [...seen];
  const dwellError = (a: Keyed, b: Keyed): number | null =>
    a.dwellSeconds === undefined || b.dwellSeconds === undefined
      ? null
      : Math.round(Math.abs(a.dwellSeconds - b.dwellSeconds) * 1000);
  const fit: TruthFit = { maxErrorMs: 0, maxDwellErrorMs: null };
  for (const want of truth) {
    const i = unmatched.findIndex(
      (e) =>
        e.type === want.type &&
        e.zoneId === want.zoneId &&
        e.person === want.person &&
        Math.abs(e.ts - want.ts) <= toleranceMs &&
        (dwellError(e, want) ?? 0) <= toleranceMs,
    );
    assert.ok(i >= 0, `missing ${JSON.stringify(want)}; got ${JSON.stringify(seen)}`);
    const [got] = unmatched.splice(i, 1);
    fit.maxErrorMs = Math.max(fit.maxErrorMs, Math.abs(got!.ts - want.ts));
    const dwell = dwellError(got!, want);
    if (dwell !== null) fit.maxDwellErrorMs = Math.max(fit.maxDwellErrorMs ?? 0, dwell);
  }
  assert.deepEqual(unmatched, [], 'events the ground truth does not have');
  return fit;
}
