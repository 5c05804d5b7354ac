import { setTimeout as sleep } from 'node:timers/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Detection, FromWorker, ToWorker } from './detect.protocol.ts';
import { detectWorkerScript } from './worker-script.ts';
import type { YoloDecodeOptions } from './yolo.ts';

export interface ModelInfo {
  key: string;
  inputSize: number;
  classes: number;
}

/** A model that does not meet the detector contract, or could not be read. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
}

export interface DetectJob {
  input: Float32Array;
  size: number;
  decode: YoloDecodeOptions;
}

/**
 * What became of a frame. `input` is the frame's buffer, back for reuse — null when it is lost
 * with a worker that crashed or a pool that closed.
 */
export type DetectOutcome =
  | { kind: 'detected'; detections: Detection[]; inferenceMs: number; input: Float32Array | null }
  | { kind: 'dropped'; input: Float32Array | null }
  | { kind: 'failed'; reason: string; input: Float32Array | null };

/**
 * How long closing waits for a thread to end itself (its work in hand done, its sessions
 * released) before terminating it — a last resort, for a thread that hangs.
 */
const CLOSE_TIMEOUT_MS = 30_000;

interface Pending {
  lane: string;
  job: DetectJob;
  key: string;
  resolve: (o: DetectOutcome) => void;
}

interface Slot {
  worker: Worker;
  busy: Pending | null;
  id: number;
  /** Resolves when the thread has ended, however it ended. */
  exited: Promise<void>;
}

export interface PoolStats {
  workers: number;
  busy: number;
  queued: number;
  dropped: number;
  completed: number;
}

/**
 * Inference off the event loop: one onnxruntime session per model in each of N worker threads
 * (N = the machine's cores unless told), one frame in flight per worker. Each lane (a camera)
 * has a short bounded queue; when inference falls behind, the lane's oldest frame is dropped
 * and counted — a camera is better served by a fresh frame late than a stale frame later.
 * Lanes are served round-robin so one busy camera cannot starve the others.
 */
export class DetectorPool {
  private readonly slots: Slot[] = [];
  private readonly lanes = new Map<string, Pending[]>();
  /** Callers waiting for room in a lane (paced sources), released as frames leave its queue. */
  private readonly waiting = new Map<string, Array<() => void>>();
  private readonly loads = new Map<string, Array<(m: FromWorker) => void>>();
  private laneCursor = 0;
  private seq = 0;
  private dropped = 0;
  private completed = 0;
  private closed = false;

  constructor(opts: { size?: number; queueDepth?: number } = {}) {
    this.queueDepth = opts.queueDepth ?? 2;
    const size = Math.max(1, opts.size ?? availableParallelism());
    const script = detectWorkerScript();
    for (let i = 0; i < size; i++) {
      const worker = new Worker(script);
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      const slot: Slot = { worker, busy: null, id: 0, exited };
      slot.worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
      slot.worker.on('error', (err) => this.onCrash(slot, err));
      this.slots.push(slot);
    }
  }

  private readonly queueDepth: number;

  /** Loads (or replaces) a model in every worker; rejects with ModelError and the reason. */
  async load(key: string, model: string | Uint8Array): Promise<ModelInfo> {
    const replies = await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<FromWorker>((resolve) => {
            const waiting = this.loads.get(key) ?? [];
            waiting.push(resolve);
            this.loads.set(key, waiting);
            this.post(slot, { type: 'load', key, model, threads: 1 });
          }),
      ),
    );
    const failed = replies.find((r) => r.type === 'load-failed');
    if (failed?.type === 'load-failed') throw new ModelError(failed.reason);
    const ok = replies[0];
    if (ok?.type !== 'loaded') throw new ModelError('model load gave no answer');
    return { key, inputSize: ok.inputSize, classes: ok.classes };
  }

  unload(key: string): void {
    for (const slot of this.slots) this.post(slot, { type: 'unload', key });
  }

  /** Queues a frame of `lane` for inference with model `key`. */
  detect(lane: string, key: string, job: DetectJob): Promise<DetectOutcome> {
    if (this.closed)
      return Promise.resolve({ kind: 'failed', reason: 'detector pool closed', input: job.input });
    return new Promise((resolve) => {
      const queue = this.lanes.get(lane) ?? [];
      this.lanes.set(lane, queue);
      queue.push({ lane, job, key, resolve });
      while (queue.length > this.queueDepth) {
        this.dropped++;
        const old = queue.shift()!;
        old.resolve({ kind: 'dropped', input: old.job.input });
      }
      this.pump();
    });
  }

  /**
   * Resolves once `lane` can take another frame without pushing one out: a source that can wait
   * (a recording read faster than real time) uses it instead of losing frames.
   */
  room(lane: string): Promise<void> {
    if (this.closed || (this.lanes.get(lane)?.length ?? 0) < this.queueDepth) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.waiting.get(lane) ?? [];
      list.push(resolve);
      this.waiting.set(lane, list);
    });
  }

  /** Drops a lane's queued frames (its camera stopped); frames in flight finish normally. */
  dropLane(lane: string): void {
    const queue = this.lanes.get(lane);
    this.lanes.delete(lane);
    for (const p of queue ?? []) p.resolve({ kind: 'dropped', input: p.job.input });
    this.release(lane);
  }

  private release(lane: string): void {
    const list = this.waiting.get(lane);
    if (!list) return;
    this.waiting.delete(lane);
    for (const resolve of list) resolve();
  }

  stats(): PoolStats {
    let queued = 0;
    for (const q of this.lanes.values()) queued += q.length;
    return {
      workers: this.slots.length,
      busy: this.slots.filter((s) => s.busy).length,
      queued,
      dropped: this.dropped,
      completed: this.completed,
    };
  }

  /**
   * Drops the queued frames and ends the threads. Each thread is asked to end itself once the
   * work it has in hand (a load, a frame, a release) is done: terminated from outside while
   * inside onnxruntime, a thread aborts the whole process ("terminate called after throwing an
   * instance of 'Napi::Error'" — node-addon-api cannot throw into a thread being torn down).
   * Frames in flight finish and are answered as usual.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const lane of [...this.lanes.keys()]) this.dropLane(lane);
    await Promise.all(this.slots.map((s) => this.retire(s)));
    for (const s of this.slots)
      s.busy?.resolve({ kind: 'failed', reason: 'detector pool closed', input: null });
  }

  private async retire(slot: Slot): Promise<void> {
    this.post(slot, { type: 'close' });
    const give = new AbortController();
    const late = sleep(CLOSE_TIMEOUT_MS, true, { signal: give.signal, ref: false }).catch(() => false);
    const timedOut = await Promise.race([slot.exited.then(() => false), late]);
    give.abort();
    if (timedOut) await slot.worker.terminate();
  }

  private post(slot: Slot, msg: ToWorker): void {
    if (msg.type === 'detect') slot.worker.postMessage(msg, [msg.input.buffer as ArrayBuffer]);
    else slot.worker.postMessage(msg);
  }

  private nextPending(): Pending | undefined {
    const lanes = [...this.lanes.values()];
    for (let i = 0; i < lanes.length; i++) {
      const queue = lanes[(this.laneCursor + i) % lanes.length]!;
      const next = queue.shift();
      if (next) {
        this.laneCursor = (this.laneCursor + i + 1) % lanes.length;
        this.release(next.lane);
        return next;
      }
    }
    return undefined;
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const next = this.nextPending();
      if (!next) return;
      slot.busy = next;
      slot.id = ++this.seq;
      this.post(slot, { type: 'detect', id: slot.id, key: next.key, ...next.job });
    }
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    if (m.type === 'loaded' || m.type === 'load-failed') {
      this.loads.get(m.key)?.shift()?.(m);
      return;
    }
    const pending = slot.busy;
    if (!pending || m.id !== slot.id) return;
    slot.busy = null;
    this.completed++;
    pending.resolve(
      m.type === 'result'
        ? { kind: 'detected', detections: m.detections, inferenceMs: m.inferenceMs, input: m.input }
        : { kind: 'failed', reason: m.reason, input: m.input },
    );
    this.pump();
  }

  private onCrash(slot: Slot, err: Error): void {
    const pending = slot.busy;
    slot.busy = null;
    pending?.resolve({ kind: 'failed', reason: `detector worker crashed: ${err.message}`, input: null });
  }
}
