import type { TruthBox } from '../../actors/video/mod.ts';
import { boxIou, type Box } from './video.ts';

export interface MotFrame {
  truth: TruthBox[];
  /** Tracker output in the same pixel space. */
  tracks: Array<{ id: number; box: Box }>;
}

export interface MotResult {
  mota: number;
  truths: number;
  misses: number;
  falsePositives: number;
  idSwitches: number;
  /** Per ground-truth person: the track ids it was matched to over time. */
  idsByPerson: Map<number, number[]>;
}

/**
 * CLEAR-MOT accuracy. A person less than `minVisible` visible is "don't care": a miss there is
 * not counted, and a track on them is not a false positive (the usual MOT benchmark rule for
 * heavily occluded people). Matching keeps last frame's pairs when still overlapping, then
 * greedy by IoU ≥ 0.5.
 */
export function clearMot(frames: readonly MotFrame[], minVisible = 0.3): MotResult {
  let misses = 0;
  let fps = 0;
  let switches = 0;
  let truths = 0;
  const last = new Map<number, number>();
  const idsByPerson = new Map<number, number[]>();
  for (const f of frames) {
    const pairs: Array<[number, number, number]> = [];
    for (const [gi, g] of f.truth.entries())
      for (const [ti, t] of f.tracks.entries()) {
        const o = boxIou(g, t.box);
        if (o >= 0.5) pairs.push([o + (last.get(g.id) === t.id ? 1 : 0), gi, ti]);
      }
    pairs.sort((a, b) => b[0] - a[0]);
    const gUsed = new Set<number>();
    const tUsed = new Set<number>();
    for (const [, gi, ti] of pairs) {
      if (gUsed.has(gi) || tUsed.has(ti)) continue;
      gUsed.add(gi);
      tUsed.add(ti);
      const g = f.truth[gi]!;
      const t = f.tracks[ti]!;
      const prev = last.get(g.id);
      if (prev !== undefined && prev !== t.id) switches++;
      last.set(g.id, t.id);
      const ids = idsByPerson.get(g.id) ?? [];
      if (ids.at(-1) !== t.id) ids.push(t.id);
      idsByPerson.set(g.id, ids);
    }
    for (const [gi, g] of f.truth.entries()) {
      if (g.visible < minVisible) continue;
      truths++;
      if (!gUsed.has(gi)) misses++;
    }
    for (const [ti, t] of f.tracks.entries()) {
      if (tUsed.has(ti)) continue;
      const onHidden = f.truth.some((g) => g.visible < minVisible && boxIou(g, t.box) > 0);
      if (!onHidden) fps++;
    }
  }
  return {
    mota: truths ? 1 - (misses + fps + switches) / truths : 1,
    truths,
    misses,
    falsePositives: fps,
    idSwitches: switches,
    idsByPerson,
  };
}
