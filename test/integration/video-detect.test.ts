import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  buildShapeDetector,
  CameraVideo,
  DetectorPool,
  GraphBuilder,
  type DetectOutcome,
  groundTruth,
  ModelError,
  openVideo,
  SCENES,
  toFrame,
  VideoSourceError,
  type DetectionsFrame,
  type SceneName,
  type VideoState,
} from '../../actors/video/mod.ts';
import { boxIou, detectorFixture, toPixels } from '../helpers/video.ts';
import { waitFor } from '../helpers/wait.ts';

const SIZE = 320;
const NAMES: SceneName[] = ['walk-through', 'crossing', 'occlusion', 'shelf'];
const fx = detectorFixture(NAMES, SIZE);

describe('generated detector on generated video', () => {
  for (const name of NAMES) {
    test(`${name}: every fully visible person found within a few pixels; no stray boxes`, async () => {
      const scene = SCENES[name];
      let frames = 0;
      let people = 0;
      for await (const f of openVideo({
        url: fx.videos.path(name),
        inputSize: SIZE,
        fps: 5,
        readTimeoutMs: 5000,
      })) {
        frames++;
        const out = await fx.pool.detect('t', 'shape', {
          input: f.input,
          size: SIZE,
          decode: { confidence: 0.5, iou: 0.5, classes: [0] },
        });
        assert.equal(out.kind, 'detected');
        if (out.kind !== 'detected') return;
        const dets = out.detections.map((d) =>
          toPixels(toFrame(f.letterbox, d.x1, d.y1, d.x2, d.y2), scene.width, scene.height),
        );
        const truth = groundTruth(scene, f.pts);
        // Judged where the whole person is in frame and unhidden; clipped edges are a pixel game.
        const whole = truth.filter(
          (t) => t.visible >= 0.95 && t.x1 > 0 && t.y1 > 0 && t.x2 < scene.width && t.y2 < scene.height,
        );
        for (const g of whole) {
          people++;
          const best = Math.max(0, ...dets.map((d) => boxIou(d, g)));
          assert.ok(best >= 0.8, `${name} t=${f.pts.toFixed(1)} person ${g.id}: best IoU ${best.toFixed(2)}`);
        }
        for (const d of dets) {
          const explained = truth.some((g) => boxIou(d, g) >= 0.5 || (g.visible < 0.95 && boxIou(d, g) > 0));
          assert.ok(explained, `${name} t=${f.pts.toFixed(1)}: stray box ${JSON.stringify(d)}`);
        }
      }
      assert.equal(frames, scene.duration * 5);
      assert.ok(people > 20, `only ${people} people checked`);
    });
  }
});

describe('detector contract checks', () => {
  function tinyModel(inputShape: number[], outputShape: number[]): Uint8Array {
    const g = new GraphBuilder('wrong');
    const x = g.input('images', inputShape);
    g.op('Reshape', [x, g.ints(outputShape)], {}, 'output0');
    g.output('output0', outputShape);
    return g.build();
  }

  test('an output that is not [1, 4+classes, anchors] is refused with the reason', async () => {
    await assert.rejects(fx.pool.load('bad-out', tinyModel([1, 3, 64, 64], [1, 3, 4096])), (err: Error) => {
      assert.ok(err instanceof ModelError);
      assert.match(err.message, /\[1, 4\+classes, anchors\].*got \[1, 3, 4096\]/);
      return true;
    });
  });

  test('a model that does not take [1, 3, S, S] images is refused with the reason', async () => {
    await assert.rejects(fx.pool.load('bad-in', tinyModel([1, 1, 64, 64], [1, 8, 512])), /\[1, 3, H, W\]/);
  });

  test('a file that is not a model is refused', async () => {
    const path = join(fx.videos.dir, 'not-a-model.onnx');
    await writeFile(path, 'hello');
    await assert.rejects(fx.pool.load('garbage', path), ModelError);
  });
});

describe('video sources', () => {
  test('a file that is not video: a permanent error naming the cause', async () => {
    const path = join(fx.videos.dir, 'notes.txt');
    await writeFile(path, 'not a video at all\n'.repeat(100));
    await assert.rejects(
      (async () => {
        for await (const _ of openVideo({ url: path, inputSize: SIZE, fps: 5, readTimeoutMs: 2000 }));
      })(),
      (err: Error) => err instanceof VideoSourceError && err.permanent && /no video stream/.test(err.message),
    );
  });

  test('an RTSP server that never answers: the read timeout ends the attempt, retryable', async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      await assert.rejects(
        (async () => {
          for await (const _ of openVideo({
            url: `rtsp://127.0.0.1:${port}/cam`,
            inputSize: SIZE,
            fps: 5,
            readTimeoutMs: 700,
            openTimeoutMs: 1500,
          }));
        })(),
        (err: Error) => err instanceof VideoSourceError && !err.permanent,
      );
    } finally {
      silent.close();
    }
  });
});

describe('camera video loop', () => {
  test('frames arrive in order; the end of the file is a disconnect and the source is reopened', async () => {
    const frames: DetectionsFrame[] = [];
    const states: Array<[VideoState, string | null]> = [];
    const cam = new CameraVideo({
      cameraId: 'loop',
      url: fx.videos.path('crossing'),
      fps: 5,
      inputSize: SIZE,
      confidence: 0.5,
      modelKey: 'shape',
      pool: fx.pool,
      readTimeoutMs: 5000,
      realtime: false,
      backoffBaseMs: 20,
      random: () => 0.5,
      onFrame: (f) => frames.push(f),
      onState: (s, reason) => states.push([s, reason]),
    });
    cam.start();
    const perPass = SCENES.crossing.duration * 5;
    while (frames.length < perPass + 5 && cam.health().state !== 'failed')
      await new Promise((r) => setTimeout(r, 50));
    await cam.stop();
    const h = cam.health();
    assert.deepEqual(states.slice(0, 3), [
      ['streaming', null],
      ['reconnecting', 'stream ended'],
      ['streaming', null],
    ]);
    assert.deepEqual(states.at(-1), ['stopped', null]);
    assert.ok(h.reconnects >= 1);
    const seqs = frames.map((f) => f.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'delivered in frame order',
    );
    assert.equal(h.framesDetected + h.framesDropped, h.framesIn);
    assert.ok(frames.some((f) => f.detections.length === 2));
    assert.ok(h.inferenceMs.p50 !== null && h.inferenceMs.p95! >= h.inferenceMs.p50);
  });

  test('a source that can never work ends in failed with the reason', async () => {
    const path = join(fx.videos.dir, 'garbage.mp4');
    await writeFile(path, Buffer.alloc(4096, 7));
    const cam = new CameraVideo({
      cameraId: 'bad',
      url: path,
      fps: 5,
      inputSize: SIZE,
      confidence: 0.5,
      modelKey: 'shape',
      pool: fx.pool,
      readTimeoutMs: 2000,
      onFrame: () => undefined,
    });
    cam.start();
    await waitFor('the camera left starting', () => cam.health().state !== 'starting');
    const h = cam.health();
    await cam.stop();
    assert.equal(h.state, 'failed');
    assert.match(h.lastError ?? '', /cannot open file/);
  });
});

describe('detector pool', () => {
  test('a lane that outruns inference drops its oldest frames and counts them', async () => {
    const small = new DetectorPool({ size: 1, queueDepth: 1 });
    try {
      await small.load('shape', buildShapeDetector({ inputSize: 160 }));
      const jobs = Array.from({ length: 6 }, () =>
        small.detect('cam', 'shape', {
          input: new Float32Array(3 * 160 * 160).fill(0.45),
          size: 160,
          decode: { confidence: 0.5, iou: 0.5 },
        }),
      );
      const kinds = (await Promise.all(jobs)).map((o) => o.kind);
      // One in flight, one queued; the four in between were pushed out oldest first.
      assert.deepEqual(kinds, ['detected', 'dropped', 'dropped', 'dropped', 'dropped', 'detected']);
      assert.equal(small.stats().dropped, 4);
    } finally {
      await small.close();
    }
  });

  test('a lane that waits for room drops nothing, and every frame buffer comes back for reuse', async () => {
    const small = new DetectorPool({ size: 1, queueDepth: 1 });
    try {
      await small.load('shape', buildShapeDetector({ inputSize: 160 }));
      const jobs: Array<Promise<DetectOutcome>> = [];
      for (let i = 0; i < 6; i++) {
        jobs.push(
          small.detect('cam', 'shape', {
            input: new Float32Array(3 * 160 * 160).fill(0.45),
            size: 160,
            decode: { confidence: 0.5, iou: 0.5 },
          }),
        );
        await small.room('cam');
      }
      const outcomes = await Promise.all(jobs);
      assert.deepEqual(
        outcomes.map((o) => o.kind),
        new Array(6).fill('detected'),
      );
      assert.equal(small.stats().dropped, 0);
      // Each buffer went to the worker (transferred) and came back whole, values intact.
      for (const o of outcomes) {
        assert.equal(o.input?.length, 3 * 160 * 160);
        assert.equal(o.input[0], Math.fround(0.45));
      }
    } finally {
      await small.close();
    }
  });
});
