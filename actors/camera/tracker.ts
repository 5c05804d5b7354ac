import { centre, iou, type Box } from './geometry.ts';

/**
 * A ByteTrack-style multi-person tracker, pure: the state goes in with a frame, the next state
 * comes out with what happened. No clock (frame time only), no I/O, deterministic.
 *
 * Per frame: every track's box is predicted forward at constant velocity; confident detections
 * are matched to confirmed and lost tracks first, then the low-scored ones (people half hidden)
 * rescue confirmed tracks that stage one left unmatched; new tracks start tentative and are
 * confirmed after a second hit. A track that goes unseen is `lost` and keeps coasting on its
 * velocity; a fresh detection close to where a lost track should be now and with the same
 * appearance takes over its identity (re-identification across short occlusions), so a person
 * walking behind another keeps one id.
 */
export interface TrackerConfig {
  /** Detections at or above: stage one and new tracks. */
  highScore: number;
  /** Detections from here to highScore: stage two only. */
  lowScore: number;
  /** Minimum IoU (predicted vs detected) for stage one, stage two, tentative matches. */
  matchIou: number;
  lowMatchIou: number;
  /** Consecutive hits before a track is confirmed (reported). */
  confirmHits: number;
  /** How long a lost track waits to be seen again before it ends. */
  lostMs: number;
  /** Appearance distance (descriptor, Euclidean) beyond which two boxes are not the same person. */
  maxAppearance: number;
  /** Without overlap, how far from the prediction a detection may be, in box sizes (height counts double). */
  reach: number;
  /** …growing by this per second a track has been lost (re-identification gate). */
  reachPerSecondLost: number;
}

export const DEFAULT_TRACKER: TrackerConfig = {
  highScore: 0.5,
  lowScore: 0.1,
  matchIou: 0.2,
  lowMatchIou: 0.4,
  confirmHits: 2,
  lostMs: 3000,
  maxAppearance: 0.35,
  reach: 1.5,
  reachPerSecondLost: 2,
};

export interface TrackerDetection {
  box: Box;
  score: number;
  appearance: readonly number[];
}

export type TrackStatus = 'tentative' | 'confirmed' | 'lost';

export interface Track {
  id: number;
  status: TrackStatus;
  box: Box;
  /** Centre velocity, normalised units per second. */
  vx: number;
  vy: number;
  score: number;
  appearance: number[];
  hits: number;
  firstSeen: number;
  lastSeen: number;
  /** Frames this track was matched. */
  frames: number;
  /** Times it came back from lost. */
  reidentified: number;
}

export interface TrackerState {
  nextId: number;
  lastTs: number | null;
  tracks: Track[];
}

export interface TrackerStep {
  state: TrackerState;
  /** Tracks confirmed in this frame. */
  confirmed: Track[];
  /** Confirmed tracks gone for good (lost longer than lostMs), with their last state. */
  ended: Track[];
  /** Lost tracks re-identified this frame (by appearance and gating, not overlap). */
  reidentified: Track[];
  /** Confirmed tracks seen in this frame. */
  visible: Track[];
}

export function initialTracker(): TrackerState {
  return { nextId: 1, lastTs: null, tracks: [] };
}

function predict(t: Track, dtSec: number): Box {
  const dx = t.vx * dtSec;
  const dy = t.vy * dtSec;
  return { x1: t.box.x1 + dx, y1: t.box.y1 + dy, x2: t.box.x2 + dx, y2: t.box.y2 + dy };
}

/** Share of box a that lies inside box b. */
function coverage(a: Box, b: Box): number {
  const ix = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const iy = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  const area = (a.x2 - a.x1) * (a.y2 - a.y1);
  return ix > 0 && iy > 0 && area > 0 ? (ix * iy) / area : 0;
}

function appearanceDistance(a: readonly number[], b: readonly number[]): number {
  if (a.length === 0 || b.length === 0 || a.length !== b.length) return 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

/** Greedy assignment on descending similarity: deterministic, and optimal enough at shop scale. */
function assign(
  tracks: readonly number[],
  dets: readonly number[],
  similarity: (t: number, d: number) => number | null,
): Array<[track: number, det: number]> {
  const pairs: Array<[number, number, number]> = [];
  for (const t of tracks)
    for (const d of dets) {
      const s = similarity(t, d);
      if (s !== null) pairs.push([s, t, d]);
    }
  pairs.sort((a, b) => b[0] - a[0] || a[1] - b[1] || a[2] - b[2]);
  const usedT = new Set<number>();
  const usedD = new Set<number>();
  const out: Array<[number, number]> = [];
  for (const [, t, d] of pairs) {
    if (usedT.has(t) || usedD.has(d)) continue;
    usedT.add(t);
    usedD.add(d);
    out.push([t, d]);
  }
  return out;
}

export function track(
  state: TrackerState,
  ts: number,
  detections: readonly TrackerDetection[],
  cfg: TrackerConfig = DEFAULT_TRACKER,
): TrackerStep {
  const dtSec = state.lastTs === null ? 0 : Math.max(0, (ts - state.lastTs) / 1000);
  const tracks = state.tracks.map((t) => ({ ...t, predicted: predict(t, dtSec) }));
  const high = detections.flatMap((d, i) => (d.score >= cfg.highScore ? [i] : []));
  const low = detections.flatMap((d, i) => (d.score >= cfg.lowScore && d.score < cfg.highScore ? [i] : []));
  const matched = new Map<number, number>(); // track index → detection index
  const used = new Set<number>();
  /**
   * How well detection d continues track t: overlap with the predicted box when there is any
   * (preferred), else nearness measured in box sizes — at a detect rate of a few frames per
   * second a walking person moves most of a body width between frames, so overlap alone would
   * lose them. Never across different appearances.
   */
  const similarity =
    (minIou: number) =>
    (ti: number, di: number): number | null => {
      const t = tracks[ti]!;
      const d = detections[di]!;
      if (appearanceDistance(t.appearance, d.appearance) > cfg.maxAppearance) return null;
      const o = iou(t.predicted, d.box);
      if (o >= minIou) return 1 + o;
      const gone = t.status === 'lost' ? (ts - t.lastSeen) / 1000 : 0;
      const reach = cfg.reach + cfg.reachPerSecondLost * gone;
      const [px, py] = centre(t.predicted);
      const [dx, dy] = centre(d.box);
      const w = Math.max(t.predicted.x2 - t.predicted.x1, d.box.x2 - d.box.x1);
      const h = Math.max(t.predicted.y2 - t.predicted.y1, d.box.y2 - d.box.y1);
      const far = Math.max(Math.abs(px - dx) / w, (2 * Math.abs(py - dy)) / h) / reach;
      return far <= 1 ? 1 - far : null;
    };
  const apply = (pairs: Array<[number, number]>): void => {
    for (const [t, d] of pairs) {
      matched.set(t, d);
      used.add(d);
    }
  };
  const idx = (pred: (t: (typeof tracks)[number]) => boolean): number[] =>
    tracks.flatMap((t, i) => (pred(t) && !matched.has(i) ? [i] : []));
  const free = (dets: number[]): number[] => dets.filter((d) => !used.has(d));

  // Stage one: confident detections against confirmed tracks, then lost ones (re-identification).
  apply(
    assign(
      idx((t) => t.status === 'confirmed'),
      high,
      similarity(cfg.matchIou),
    ),
  );
  apply(
    assign(
      idx((t) => t.status === 'lost'),
      free(high),
      similarity(cfg.matchIou),
    ),
  );
  // Stage two: the low-scored remainder keeps confirmed tracks alive through partial occlusion.
  apply(
    assign(
      idx((t) => t.status === 'confirmed'),
      low,
      similarity(cfg.lowMatchIou),
    ),
  );
  // Tentative tracks only get confident detections.
  apply(
    assign(
      idx((t) => t.status === 'tentative'),
      free(high),
      similarity(cfg.matchIou),
    ),
  );
  const reidentified = new Set(tracks.flatMap((t, i) => (t.status === 'lost' && matched.has(i) ? [i] : [])));

  const out: TrackerStep = {
    state: { nextId: state.nextId, lastTs: ts, tracks: [] },
    confirmed: [],
    ended: [],
    reidentified: [],
    visible: [],
  };
  tracks.forEach((t, i) => {
    const { predicted, ...rest } = t;
    const di = matched.get(i);
    if (di === undefined) {
      if (t.status === 'tentative') return;
      if (ts - t.lastSeen > cfg.lostMs) {
        out.ended.push({ ...rest, status: 'lost' });
        return;
      }
      out.state.tracks.push({ ...rest, status: 'lost', box: predicted });
      return;
    }
    const d = detections[di]!;
    // People do not shrink between frames: a detection much narrower or shorter than the track
    // is a partly hidden view. It proves presence, but the motion model knows the box better.
    // At the frame's edge it is the person walking out.
    const atEdge = d.box.x1 <= 0.002 || d.box.y1 <= 0.002 || d.box.x2 >= 0.998 || d.box.y2 >= 0.998;
    const shrunk =
      d.box.x2 - d.box.x1 < 0.8 * (predicted.x2 - predicted.x1) ||
      d.box.y2 - d.box.y1 < 0.8 * (predicted.y2 - predicted.y1);
    const partial = t.status !== 'tentative' && !atEdge && shrunk;
    const gap = Math.max(1e-3, (ts - t.lastSeen) / 1000);
    const [px, py] = centre(t.box);
    const [cx, cy] = centre(d.box);
    // Velocity from the last observed position, smoothed: detections jitter by a pixel or two.
    // A lost track's box has been coasting, so its last position says nothing new: keep its velocity.
    const coast = t.status === 'lost' || partial;
    const vx = coast ? t.vx : 0.5 * t.vx + 0.5 * ((cx - px) / gap);
    const vy = coast ? t.vy : 0.5 * t.vy + 0.5 * ((cy - py) / gap);
    const hits = t.hits + 1;
    const status: TrackStatus =
      t.status === 'tentative' && hits < cfg.confirmHits ? 'tentative' : 'confirmed';
    const next: Track = {
      ...rest,
      status,
      box: partial ? predicted : d.box,
      vx,
      vy,
      score: d.score,
      appearance: partial
        ? t.appearance
        : t.appearance.length === d.appearance.length
          ? t.appearance.map((a, k) => 0.8 * a + 0.2 * d.appearance[k]!)
          : [...d.appearance],
      hits,
      lastSeen: ts,
      frames: t.frames + 1,
      reidentified: t.reidentified + (reidentified.has(i) ? 1 : 0),
    };
    if (t.status === 'tentative' && status === 'confirmed') out.confirmed.push(next);
    if (reidentified.has(i)) out.reidentified.push(next);
    if (status === 'confirmed') out.visible.push(next);
    out.state.tracks.push(next);
  });
  // A new track only where nobody is: an unmatched box lying mostly over a person seen in this
  // frame is a fragment of them (a head above an occluder, a sliver beside it), not someone new.
  const known = out.state.tracks.filter((t) => t.lastSeen === ts).map((t) => t.box);
  for (const di of high) {
    if (used.has(di)) continue;
    const d = detections[di]!;
    if (known.some((k) => coverage(d.box, k) >= 0.5)) continue;
    const fresh: Track = {
      id: out.state.nextId++,
      status: cfg.confirmHits <= 1 ? 'confirmed' : 'tentative',
      box: d.box,
      vx: 0,
      vy: 0,
      score: d.score,
      appearance: [...d.appearance],
      hits: 1,
      firstSeen: ts,
      lastSeen: ts,
      frames: 1,
      reidentified: 0,
    };
    if (fresh.status === 'confirmed') {
      out.confirmed.push(fresh);
      out.visible.push(fresh);
    }
    out.state.tracks.push(fresh);
  }
  return out;
}
