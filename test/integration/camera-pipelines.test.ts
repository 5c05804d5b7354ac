/**
 * The video side of cameras on a camera node (actors/camera/camera-pipelines.host.ts), driven
 * through the API: a camera added streams at once and publishes its detections to DETECTIONS,
 * health comes from the node running it, a bad source or a model that does not fit is `failed`
 * with the reason while the other cameras keep streaming, and a deleted camera's pipeline stops.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CameraPipelines } from '../../actors/camera/camera-pipelines.host.ts';
import { buildShapeDetector } from '../../actors/video/mod.ts';
import { createPool, type CameraHealth, type Pool } from '../../schemas/mod.ts';
import {
  detectionsPartition,
  ensureStreams,
  jetstream,
  jetstreamManager,
  type JetStreamManager,
} from '../../streams/mod.ts';
import { apiFixture, type ApiFixture, type World } from '../helpers/app.ts';
import { sceneVideos } from '../helpers/video.ts';
import { waitFor } from '../helpers/wait.ts';

const SIZE = 320;
let fx: ApiFixture;
let W: World;
let worker: Pool;
let jsm: JetStreamManager;
let pipelines: CameraPipelines;
let videos: Awaited<ReturnType<typeof sceneVideos>>;
let model: string;
let notVideo: string;

async function health(cameraId: string): Promise<CameraHealth> {
  const res = await fx.call(W.viewer.token, 'GET', `/v1/cameras/${cameraId}/health`);
  assert.equal(res.statusCode, 200, res.body);
  return res.json<CameraHealth>();
}

/** Polls health until `ok` holds (a test must never hang: fails after `ms`). */
async function healthUntil(
  cameraId: string,
  ok: (h: CameraHealth) => boolean,
  ms = 30_000,
): Promise<CameraHealth> {
  let last: CameraHealth | undefined;
  return waitFor(
    `camera ${cameraId} health`,
    async () => (ok((last = await health(cameraId))) ? last : undefined),
    ms,
  ).catch(() => assert.fail(`camera ${cameraId} health never got there: ${JSON.stringify(last)}`));
}

async function addCamera(body: Record<string, unknown>): Promise<string> {
  const res = await fx.call(W.operator.token, 'POST', '/v1/cameras', {
    siteId: W.sites[0],
    name: 'Cam',
    inputSize: SIZE,
    detectFps: 5,
    modelPath: model,
    ...body,
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ id: string }>().id;
}

before(async () => {
  fx = await apiFixture();
  W = await fx.world();
  jsm = await jetstreamManager(fx.deps.nc);
  await ensureStreams(jsm, fx.deps.names);
  videos = await sceneVideos(['walk-through']);
  model = join(videos.dir, 'shape.onnx');
  await writeFile(model, buildShapeDetector({ inputSize: SIZE }));
  notVideo = join(videos.dir, 'notes.txt');
  await writeFile(notVideo, 'this is not a video\n'.repeat(50));
  worker = createPool(fx.config, 'worker', 2);
  // Only cameras this file adds from here on: other test files share the database.
  const { rows } = await fx.admin.query<{ id: string }>('SELECT id FROM cameras');
  const others = new Set(rows.map((r) => r.id));
  pipelines = new CameraPipelines(
    { nc: fx.deps.nc, js: jetstream(fx.deps.nc), names: fx.deps.names, pool: worker, log: fx.deps.log },
    { nodeId: 'cam-test', owns: (id) => !others.has(id), defaultModel: null, workers: 1, backoffBaseMs: 200 },
  );
  await pipelines.start();
});

after(async () => {
  await pipelines?.stop();
  await worker?.end();
  await videos?.cleanup();
  await fx?.close();
});

describe('camera pipelines on a camera node', () => {
  let good = '';

  test('a camera added through the API streams at once and publishes its detections', async () => {
    good = await addCamera({ sourceUrl: videos.path('walk-through') });
    const h = await healthUntil(good, (x) => x.framesDetected >= 3);
    assert.equal(h.node, 'cam-test');
    assert.ok(['streaming', 'reconnecting'].includes(h.state), h.state);
    assert.ok(h.inferenceMs.p50 !== null && h.inferenceMs.p95 !== null);
    assert.ok(h.lastFrameAt !== null);
    const p = detectionsPartition(W.tenantId, good, fx.config.VIGIL_PARTITIONS);
    const last = await jsm.streams.getMessage(fx.deps.names.detections.stream, {
      last_by_subj: `${fx.deps.names.detections.publish(W.tenantId, good)}.${p}`,
    });
    const frame = last!.json<{ ts: number; detections: Array<{ box: number[]; cls: number }> }>();
    assert.ok(Math.abs(frame.ts - Date.now()) < 60_000, 'frame time is wall-clock time');
    for (const d of frame.detections) assert.equal(d.box.length, 4);
  });

  test('bad sources and models fail with the reason; the good camera keeps streaming', async () => {
    const text = await addCamera({ sourceUrl: notVideo });
    const wrongModel = await addCamera({ sourceUrl: videos.path('walk-through'), inputSize: 640 });
    const noModel = await addCamera({
      sourceUrl: videos.path('walk-through'),
      modelPath: join(videos.dir, 'none.onnx'),
    });
    const unreachable = await addCamera({ sourceUrl: 'rtsp://127.0.0.1:9/none' });
    const failed = (x: CameraHealth) => x.state === 'failed';
    assert.match((await healthUntil(text, failed)).lastError ?? '', /no video stream|cannot open/);
    assert.match(
      (await healthUntil(wrongModel, failed)).lastError ?? '',
      /takes 320×320 input; the camera is set to 640/,
    );
    assert.match((await healthUntil(noModel, failed)).lastError ?? '', /none\.onnx/);
    const down = await healthUntil(unreachable, (x) => x.state === 'reconnecting' && x.reconnects >= 1);
    assert.match(down.lastError ?? '', /cannot open stream/);
    const before = (await health(good)).framesDetected;
    await healthUntil(good, (x) => x.framesDetected > before);
    for (const id of [text, wrongModel, noModel, unreachable])
      assert.equal((await fx.call(W.operator.token, 'DELETE', `/v1/cameras/${id}`)).statusCode, 204);
  });

  test('restart reopens the source; delete stops the pipeline and nobody answers for it', async () => {
    const before = await health(good);
    assert.equal((await fx.call(W.operator.token, 'POST', `/v1/cameras/${good}/restart`)).statusCode, 202);
    // A restarted pipeline is a new session: its counters start again.
    await healthUntil(good, (x) => x.framesIn < before.framesIn && x.framesDetected >= 1);
    assert.equal((await fx.call(W.operator.token, 'DELETE', `/v1/cameras/${good}`)).statusCode, 204);
    await waitFor('the deleted camera stopped', () => !pipelines.cameras().includes(good), 10_000).catch(() =>
      assert.fail('the deleted camera still runs'),
    );
    assert.equal(pipelines.health(good), null);
    await assert.rejects(
      fx.deps.nc.request(fx.deps.names.cameras.health(good), JSON.stringify({ tenantId: W.tenantId }), {
        timeout: 1000,
      }),
      'nobody answers for a deleted camera',
    );
  });
});
