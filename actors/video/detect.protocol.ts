import type { RawDetection, YoloDecodeOptions } from './yolo.ts';

/** Messages between the detector pool and its worker threads. */
export type ToWorker =
  | { type: 'load'; key: string; model: string | Uint8Array; threads: number }
  | { type: 'unload'; key: string }
  | { type: 'detect'; id: number; key: string; input: Float32Array; size: number; decode: YoloDecodeOptions };

export type FromWorker =
  | { type: 'loaded'; key: string; inputSize: number; classes: number }
  | { type: 'load-failed'; key: string; reason: string }
  | { type: 'result'; id: number; detections: Detection[]; inferenceMs: number }
  | { type: 'failed'; id: number; reason: string };

/** A detection in model-input pixels with its appearance descriptor (for re-identification). */
export interface Detection extends RawDetection {
  appearance: number[];
}
