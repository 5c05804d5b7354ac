/**
 * Vision bench (issue 8): how much of the machine's inference capacity reaches the cameras?
 *
 * The model is the real YOLOv8n network (layer for layer, same parameters and FLOPs) with random
 * weights, built in code — timing only, nothing downloaded. Per run:
 *
 *   bare       onnxruntime alone: one session per worker thread, as many threads as the
 *              detector pool has, the same input back to back (inferences/s)
 *   K cameras  the product pipeline for K = 1, 4, 8 cameras: node-av decode of the project's
 *              synthetic H.264 video → native letterbox to 640 → detector pool → YOLO decoding
 *              and NMS, in frame order (frames/s summed over the cameras), and the event-loop
 *              delay p99 of this process, which hosts the cameras as a camera node does
 *
 * The videos are read as fast as the detector takes frames (no frame dropped), so a camera
 * never waits on wall-clock pacing and the figure is the pipeline's capacity. The load average
 * is printed beside every run: the machine may be shared. No services are needed.
 *
 * Usage: npm run bench:vision [-- --runs 3 --seconds 20 --cameras 1,4,8 --size 640]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import {
  buildYoloArchitecture,
  bundleWorker,
  CameraVideo,
  DetectorPool,
  SCENES,
  writeSceneVideo,
  type SceneName,
} from '../actors/video/mod.ts';
import type { BareJob, BareResult } from './lib/bare-inference.worker.ts';
import { threadCpuByName } from './lib/cpu.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '4' },
    cameras: { type: 'string', default: '1,4,8' },
    size: { type: 'string', default: '640' },
    workers: { type: 'string' },
  },
});
const runs = Number(values.runs);
const seconds = Number(values.seconds);
const warmupS = Number(values.warmup);
const cameraCounts = values.cameras.split(',').map(Number);
const size = Number(values.size);
const workers = Number(values.workers ?? availableParallelism());

const out = (line = ''): boolean => process.stdout.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const load1 = (): string => loadavg()[0]!.toFixed(2);
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Phase {
  fps: number;
  /** CPU time of the whole process (every thread) per analysed frame. */
  cpuMsPerFrame: number;
  /** The same by thread name (Linux), a coarse profile of where it goes. */
  threads: Map<string, number>;
  lagP99Ms: number;
  lagMaxMs: number;
  inferenceP50Ms: number | null;
  dropped: number;
}

interface Bare {
  rate: number;
  cpuMsPerInference: number;
  /** Event-loop delay of this (idle) main thread meanwhile: what the machine alone causes. */
  lagP99Ms: number;
}

async function bare(model: Uint8Array): Promise<Bare> {
  const script = bundleWorker(join(import.meta.dirname, 'lib', 'bare-inference.worker.ts'));
  // Sessions take a while to build; the window opens once all of them surely have.
  const from = Date.now() + warmupS * 1000 + 3000;
  const job: BareJob = { model, size, warmupRuns: 2, from, until: from + seconds * 1000 };
  const lag = monitorEventLoopDelay({ resolution: 10 });
  const opening = setTimeout(() => lag.enable(), from - Date.now());
  const results = await Promise.all(
    Array.from(
      { length: workers },
      () =>
        new Promise<BareResult>((resolve, reject) => {
          const w = new Worker(script, { workerData: job });
          w.once('message', (r: BareResult) => {
            resolve(r);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
  clearTimeout(opening);
  lag.disable();
  const runsDone = results.reduce((sum, r) => sum + r.runs, 0);
  return {
    rate: results.reduce((sum, r) => sum + (r.runs * 1000) / r.ms, 0),
    cpuMsPerInference: results.reduce((sum, r) => sum + r.cpuMs, 0) / runsDone,
    lagP99Ms: lag.percentile(99) / 1e6,
  };
}

async function pipeline(pool: DetectorPool, videos: string[], cameras: number, run: number): Promise<Phase> {
  let measuring = false;
  let frames = 0;
  const cams = Array.from(
    { length: cameras },
    (_, i) =>
      new CameraVideo({
        cameraId: `bench-${run}-${cameras}-${i}`,
        url: videos[i % videos.length]!,
        // Every frame of the 10 fps source is analysed.
        fps: 10,
        inputSize: size,
        confidence: 0.25,
        modelKey: 'yolov8n',
        pool,
        readTimeoutMs: 10_000,
        realtime: false,
        backoffBaseMs: 1,
        random: () => 0,
        onFrame: () => {
          if (measuring) frames++;
        },
      }),
  );
  for (const c of cams) c.start();
  await sleep(warmupS * 1000);
  const lag = monitorEventLoopDelay({ resolution: 10 });
  const droppedBefore = pool.stats().dropped;
  measuring = true;
  lag.enable();
  const cpu = process.cpuUsage();
  const threadsBefore = threadCpuByName();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  const threads = new Map<string, number>();
  for (const [name, v] of threadCpuByName()) {
    const d = v - (threadsBefore.get(name) ?? 0);
    if (d > 0) threads.set(name, d / Math.max(1, frames));
  }
  measuring = false;
  lag.disable();
  const health = cams.map((c) => c.health());
  await Promise.all(cams.map((c) => c.stop()));
  const failed = health.find((h) => h.state === 'failed');
  if (failed) throw new Error(`a camera failed: ${failed.lastError}`);
  const p50s = health.map((h) => h.inferenceMs.p50).filter((v): v is number => v !== null);
  return {
    fps: (frames * 1000) / ms,
    cpuMsPerFrame: (used.user + used.system) / 1000 / Math.max(1, frames),
    threads,
    lagP99Ms: lag.percentile(99) / 1e6,
    lagMaxMs: lag.max / 1e6,
    inferenceP50Ms: p50s.length ? median(p50s) : null,
    dropped: pool.stats().dropped - droppedBefore,
  };
}

const f0 = (v: number): string => v.toFixed(0);
const f1 = (v: number): string => v.toFixed(1);
const f2 = (v: number): string => v.toFixed(2);
const pct = (v: number): string => `${(v * 100).toFixed(0)}%`;

const arch = buildYoloArchitecture({ inputSize: size, classes: 80, scale: 'n' });
out(
  `model: YOLOv8n architecture, random weights — ${(arch.params / 1e6).toFixed(2)} M parameters, ` +
    `${f2(arch.flops / 1e9)} GFLOPs at ${size}, output [1, 84, ${arch.anchors}]`,
);
out(
  `machine: ${availableParallelism()} cores; detector pool ${workers} worker threads × 1 onnxruntime thread; ` +
    `${seconds} s per figure after ${warmupS} s warm-up`,
);
const dir = await mkdtemp(join(tmpdir(), 'vigil-vision-bench-'));
const names = Object.keys(SCENES) as SceneName[];
const videos: string[] = [];
for (const n of names) {
  const path = join(dir, `${n}.mkv`);
  await writeSceneVideo(SCENES[n], path);
  videos.push(path);
}
const pool = new DetectorPool({ size: workers });
interface Step {
  bare: Bare;
  phase: Phase;
  load: string;
}
const steps = new Map<number, Step[]>(cameraCounts.map((k) => [k, []]));
try {
  await pool.load('yolov8n', arch.model);
  for (let r = 1; r <= runs; r++) {
    out();
    out(`run ${r}/${runs}`);
    // Each pipeline figure has its own baseline measured just before it: on a shared machine the
    // load moves within minutes.
    for (const k of cameraCounts) {
      const load = load1();
      const b = await bare(arch.model);
      const p = await pipeline(pool, videos, k, r);
      steps.get(k)!.push({ bare: b, phase: p, load });
      out(
        `  load ${load}  bare ${f2(b.rate)} inf/s (${f0(b.cpuMsPerInference)} CPU ms each, idle loop p99 ${f1(b.lagP99Ms)} ms)  ` +
          `${String(k).padStart(2)} camera${k === 1 ? ' ' : 's'} ${f2(p.fps)} frames/s = ${pct(p.fps / b.rate)} ` +
          `(${f0(p.cpuMsPerFrame)} CPU ms each = ${pct(b.cpuMsPerInference / p.cpuMsPerFrame)})  ` +
          `loop p99 ${f1(p.lagP99Ms)} ms (max ${f1(p.lagMaxMs)})  inference p50 ${p.inferenceP50Ms === null ? '-' : f0(p.inferenceP50Ms)} ms  dropped ${p.dropped}`,
      );
      if (p.threads.size)
        out(
          `      CPU ms per frame by thread: ${[...p.threads]
            .sort((a, b) => b[1] - a[1])
            .map(([name, v]) => `${name} ${f1(v)}`)
            .join(', ')}`,
        );
    }
  }
} finally {
  await pool.close();
  await rm(dir, { recursive: true, force: true });
}

const all = [...steps.values()].flat();
out();
out(`medians of ${runs} runs; load average (1 min) during the runs: ${all.map((s) => s.load).join(', ')}`);
out(`| | throughput | of bare | CPU per frame, of bare | event-loop p99 |`);
out(`|---|---|---|---|---|`);
out(
  `| bare onnxruntime (${workers} threads × 1) | ${f2(median(all.map((s) => s.bare.rate)))} inferences/s | 100% | ` +
    `${f0(median(all.map((s) => s.bare.cpuMsPerInference)))} ms, 100% | ${f1(median(all.map((s) => s.bare.lagP99Ms)))} ms (idle loop) |`,
);
for (const [k, list] of steps)
  out(
    `| ${k} camera${k === 1 ? '' : 's'} at ${size} | ${f2(median(list.map((s) => s.phase.fps)))} frames/s | ` +
      `${pct(median(list.map((s) => s.phase.fps / s.bare.rate)))} | ` +
      `${f0(median(list.map((s) => s.phase.cpuMsPerFrame)))} ms, ${pct(median(list.map((s) => s.bare.cpuMsPerInference / s.phase.cpuMsPerFrame)))} | ` +
      `${f1(median(list.map((s) => s.phase.lagP99Ms)))} ms |`,
  );
out(`aim: ≥ 90% of bare inference throughput, event-loop p99 ≤ 20 ms`);
