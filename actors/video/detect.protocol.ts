import type { InferenceSession } from 'onnxruntime-node';
import type { RawDetection, YoloDecodeOptions } from './yolo.ts';

/** Messages between the detector pool and its worker threads. */
export type ToWorker =
  | { type: 'load'; key: string; model: string | Uint8Array; threads: number }
  | { type: 'unload'; key: string }
  | { type: 'detect'; id: number; key: string; input: Float32Array; size: number; decode: YoloDecodeOptions }
  /** Finish what is in hand, release every session, and end the thread on its own. */
  | { type: 'close' };

export type FromWorker =
  | { type: 'loaded'; key: string; inputSize: number; classes: number }
  | { type: 'load-failed'; key: string; reason: string }
  | { type: 'result'; id: number; detections: Detection[]; inferenceMs: number; input: Float32Array }
  | { type: 'failed'; id: number; reason: string; input: Float32Array };

/** A detection in model-input pixels with its appearance descriptor (for re-identification). */
export interface Detection extends RawDetection {
  appearance: number[];
}

/**
 * Session options of every detector worker: one intra-op thread each, since the pool's
 * parallelism is its workers (the vision bench's bare baseline uses the very same).
 */
export function sessionOptions(threads = 1): InferenceSession.SessionOptions {
  return { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
}
