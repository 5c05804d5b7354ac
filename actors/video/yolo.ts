// The pure geometry module, not camera/mod.ts: this file runs in the detector worker, whose bundle
// must not pull in the camera actors (an I/O import there once kept the worker from starting).
import { iou } from '../camera/geometry.ts';

/**
 * Decoding of Ultralytics YOLOv8 / YOLO11 detection output: one tensor [1, 4 + classes, anchors]
 * holding, per anchor, the box (cx, cy, w, h in input pixels) then one score per class (already
 * sigmoid-ed). Works for any class count; person is class 0.
 */
export interface RawDetection {
  /** Corners in model-input pixels. */
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  cls: number;
}

export interface YoloDecodeOptions {
  confidence: number;
  /** IoU above which a lower-scored box of the same class is suppressed. */
  iou: number;
  /** Classes kept; all when absent. */
  classes?: readonly number[];
  maxDetections?: number;
  /** Candidates kept for NMS (highest scores): bounds the quadratic step on noisy frames. */
  maxCandidates?: number;
}

export class YoloShapeError extends Error {
  override readonly name = 'YoloShapeError';
}

/** Checks the output dims against the contract; returns [classes, anchors]. */
export function yoloOutputShape(dims: readonly number[]): [classes: number, anchors: number] {
  const [batch, channels, anchors] = dims;
  if (
    dims.length !== 3 ||
    batch !== 1 ||
    channels === undefined ||
    anchors === undefined ||
    channels < 5 ||
    anchors < 1
  )
    throw new YoloShapeError(
      `model output must be [1, 4+classes, anchors] (YOLOv8 detection), got [${dims.join(', ')}]`,
    );
  // Real exports have far more anchors than classes; the other way round is a transposed
  // [1, anchors, 4+classes] export, which would decode into garbage.
  if (channels > anchors)
    throw new YoloShapeError(
      `model output [${dims.join(', ')}] looks transposed: expected [1, 4+classes, anchors] with anchors > classes`,
    );
  return [channels - 4, anchors];
}

/** Greedy per-class non-maximum suppression; input need not be sorted. */
export function nms(dets: RawDetection[], threshold: number, max = Infinity): RawDetection[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score);
  const kept: RawDetection[] = [];
  for (const d of sorted) {
    if (kept.length >= max) break;
    if (kept.every((k) => k.cls !== d.cls || iou(k, d) <= threshold)) kept.push(d);
  }
  return kept;
}

export function decodeYolo(
  data: Float32Array,
  dims: readonly number[],
  opts: YoloDecodeOptions,
): RawDetection[] {
  const [classes, anchors] = yoloOutputShape(dims);
  if (data.length < (4 + classes) * anchors)
    throw new YoloShapeError(`model output holds ${data.length} values, dims [${dims.join(', ')}] need more`);
  // Class by class over contiguous rows (the tensor is class-major), and only the classes
  // wanted: for people in an 80-class model that reads one row in 80.
  const rows = opts.classes
    ? [...new Set(opts.classes)]
        .filter((c) => Number.isInteger(c) && c >= 0 && c < classes)
        .sort((a, b) => a - b)
    : Array.from({ length: classes }, (_, c) => c);
  const bestScore = new Float32Array(anchors).fill(opts.confidence);
  const bestClass = new Int32Array(anchors).fill(-1);
  for (const c of rows) {
    const row = (4 + c) * anchors;
    for (let a = 0; a < anchors; a++) {
      const s = data[row + a]!;
      if (s >= bestScore[a]!) {
        bestScore[a] = s;
        bestClass[a] = c;
      }
    }
  }
  const candidates: RawDetection[] = [];
  for (let a = 0; a < anchors; a++) {
    const best = bestClass[a]!;
    if (best < 0) continue;
    const cx = data[a]!;
    const cy = data[anchors + a]!;
    const w = data[2 * anchors + a]!;
    const h = data[3 * anchors + a]!;
    if (!(w > 0 && h > 0)) continue;
    candidates.push({
      x1: cx - w / 2,
      y1: cy - h / 2,
      x2: cx + w / 2,
      y2: cy + h / 2,
      score: bestScore[a]!,
      cls: best,
    });
  }
  const limit = opts.maxCandidates ?? 3000;
  const pool =
    candidates.length > limit ? candidates.sort((p, q) => q.score - p.score).slice(0, limit) : candidates;
  return nms(pool, opts.iou, opts.maxDetections ?? 300);
}
