/**
 * The vision bench's baseline: onnxruntime alone in a worker thread — one session with the
 * detector pool's options, the same input over and over, no decode, no letterbox, no NMS.
 * Bundled like the detector worker (worker threads do not inherit the tsx loader).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { sessionOptions } from '../../actors/video/detect.protocol.ts';

export interface BareJob {
  model: Uint8Array;
  size: number;
  warmupRuns: number;
  /** Runs are counted from this epoch ms to `until`, so every worker measures one window. */
  from: number;
  until: number;
}

export interface BareResult {
  runs: number;
  ms: number;
  /** CPU time of this thread over the counted runs (user + system). */
  cpuMs: number;
}

const job = workerData as BareJob;
const session = await ort.InferenceSession.create(job.model, sessionOptions(1));
const input = new Float32Array(3 * job.size * job.size);
for (let i = 0; i < input.length; i++) input[i] = ((i * 2654435761) % 1000) / 1000;
const feed = (): Record<string, ort.Tensor> => ({
  [session.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, job.size, job.size]),
});
for (let i = 0; i < job.warmupRuns; i++) await session.run(feed());
while (Date.now() < job.from) await session.run(feed());
let runs = 0;
const started = performance.now();
const cpu = process.threadCpuUsage();
while (Date.now() < job.until) {
  await session.run(feed());
  runs++;
}
const used = process.threadCpuUsage(cpu);
const result: BareResult = { runs, ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
await session.release();
parentPort?.postMessage(result);
