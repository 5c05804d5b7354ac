/**
 * Cameras on a real actor node (the `camera-video` service of startActorNode), driven through
 * the API over a real RTSP stream (Debian's GStreamer RTSP server): a camera created streams at
 * once and its detections reach NATS, an update restarts it with the new settings, and a
 * deleted camera leaves nothing behind on the node — no video session, no detector thread, no
 * loaded model, no subscription. The RTSP server killed mid-stream: the camera goes
 * `reconnecting`, `camera.offline` reaches SSE and a camera_offline alert opens; the server
 * back, it streams again, `camera.online` follows and the alert resolves. Bad input — an
 * unreachable URL, a file that is not video, a corrupt stream, a model with the wrong output
 * shape — is each a `failed` or `reconnecting` health with the reason, while another camera
 * keeps streaming. A one-second hiccup within the camera's grace (`offlineForSeconds`) raises
 * nothing; a drop past it does.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startActorNode, type ActorNode } from '../../actors/mod.ts';
import { buildShapeDetector, GraphBuilder } from '../../actors/video/mod.ts';
import { startRtspServer, type RtspServer } from '../../ops/rtsp/rtsp.ts';
import type { ApiAlert, CameraEvent, CameraHealth } from '../../schemas/mod.ts';
import type { Subscription } from '../../streams/mod.ts';
import { apiFixture, type ApiFixture, type World } from '../helpers/app.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { sceneVideos } from '../helpers/video.ts';
import { waitFor } from '../helpers/wait.ts';

const SIZE = 320;
/** What the node holds for cameras when it runs none. */
const NOTHING = { cameras: 0, detectorWorkers: 0, models: 0, videoSessions: 0, subscriptions: 0 };
let fx: ApiFixture;
let W: World;
let node: ActorNode;
let rtsp: RtspServer;
let videos: Awaited<ReturnType<typeof sceneVideos>>;
let model: string;
let base: string;

async function health(cameraId: string): Promise<CameraHealth> {
  const res = await fx.call(W.viewer.token, 'GET', `/v1/cameras/${cameraId}/health`);
  assert.equal(res.statusCode, 200, res.body);
  return res.json<CameraHealth>();
}

async function healthUntil(cameraId: string, ok: (h: CameraHealth) => boolean): Promise<CameraHealth> {
  let last: CameraHealth | undefined;
  return waitFor(
    `camera ${cameraId} health`,
    async () => (ok((last = await health(cameraId))) ? last : undefined),
    30_000,
  ).catch(() => assert.fail(`camera ${cameraId} health never got there: ${JSON.stringify(last)}`));
}

async function addCamera(name: string, settings: Record<string, unknown> = {}): Promise<string> {
  const created = await fx.call(W.operator.token, 'POST', '/v1/cameras', {
    siteId: W.sites[0],
    name,
    sourceUrl: rtsp.url('door'),
    inputSize: SIZE,
    detectFps: 3,
    modelPath: model,
    ...settings,
  });
  assert.equal(created.statusCode, 201, created.body);
  return created.json<{ id: string }>().id;
}

async function videoResources() {
  const h = (await node.health())['camera-video'];
  assert.ok(h, 'the node runs the camera-video service');
  return h;
}

before(async () => {
  fx = await apiFixture();
  W = await fx.world();
  // The world's cameras point nowhere: this file's node runs only the camera it adds.
  for (const id of W.cameras) {
    const res = await fx.call(W.operator.token, 'PATCH', `/v1/cameras/${id}`, { enabled: false });
    assert.equal(res.statusCode, 200, res.body);
  }
  videos = await sceneVideos(['walk-through']);
  model = join(videos.dir, 'shape.onnx');
  await writeFile(model, buildShapeDetector({ inputSize: SIZE }));
  rtsp = await startRtspServer({ mounts: { door: videos.path('walk-through') } });
  await fx.app.listen({ host: '127.0.0.1', port: 0 });
  const address = fx.app.server.address();
  assert.ok(address && typeof address === 'object');
  base = `http://127.0.0.1:${address.port}`;
  node = await startActorNode({
    config: { ...fx.config, VIGIL_DETECT_WORKERS: 1 },
    log: fx.deps.log,
    nodeID: `${fx.config.VIGIL_NS}-video`,
    services: ['camera-video', 'camera-alerts'],
    // The database is shared with other test files: only this file's tenant's cameras.
    cameraTenants: [W.tenantId],
  });
});

after(async () => {
  await node?.stop();
  await rtsp?.stop();
  await videos?.cleanup();
  await fx?.close();
});

describe('cameras on an actor node', () => {
  test('create streams at once, update restarts with the new settings, delete leaves no handle', async () => {
    assert.deepEqual((await videoResources()).resources, NOTHING);
    const id = await addCamera('Door');
    let frames = 0;
    let people = 0;
    const det: Subscription = fx.deps.nc.subscribe(`${fx.deps.names.detections.publish(W.tenantId, id)}.*`, {
      callback: (_err, msg) => {
        frames++;
        people += msg.json<{ detections: unknown[] }>().detections.length;
      },
    });
    try {
      const streaming = await healthUntil(id, (h) => h.state === 'streaming' && h.framesDetected >= 3);
      assert.equal(streaming.node, node.nodeID);
      assert.equal(streaming.lastError, null);
      await waitFor('detections on NATS', () => frames >= 3 && people >= 1);
      // The check below sees what a running camera holds: it would see a leak.
      assert.deepEqual((await videoResources()).resources, {
        cameras: 1,
        detectorWorkers: 1,
        models: 1,
        videoSessions: 1,
        subscriptions: 1,
      });

      // An input size the model was not built for: the restarted pipeline says so.
      const bad = await fx.call(W.operator.token, 'PATCH', `/v1/cameras/${id}`, { inputSize: 640 });
      assert.equal(bad.statusCode, 200, bad.body);
      const failed = await healthUntil(id, (h) => h.state === 'failed');
      assert.match(failed.lastError ?? '', /takes 320×320 input; the camera is set to 640/);
      const fixed = await fx.call(W.operator.token, 'PATCH', `/v1/cameras/${id}`, { inputSize: SIZE });
      assert.equal(fixed.statusCode, 200, fixed.body);
      await healthUntil(id, (h) => h.state === 'streaming' && h.framesDetected >= 1);

      assert.equal((await fx.call(W.operator.token, 'DELETE', `/v1/cameras/${id}`)).statusCode, 204);
      await waitFor(
        'the node closed the camera',
        async () => (await videoResources()).resources.cameras === 0,
      );
      assert.deepEqual((await videoResources()).cameras, []);
      assert.deepEqual((await videoResources()).resources, NOTHING);
      await assert.rejects(
        fx.deps.nc.request(fx.deps.names.cameras.health(id), JSON.stringify({ tenantId: W.tenantId }), {
          timeout: 1000,
        }),
        'nobody answers for a deleted camera',
      );
      // Frames published just before the stop may still be on their way; none after that.
      await new Promise((r) => setTimeout(r, 500));
      const seen = frames;
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(frames, seen, 'no detections after the delete');
    } finally {
      det.unsubscribe();
    }
  });

  test('the RTSP server killed mid-stream: reconnecting, offline event and alert; back: online, alert resolved', async () => {
    const sse = await SseClient.open(`${base}/v1/stream?access_token=${W.viewer.token}&kind=camera`);
    assert.equal(sse.status, 200);
    const id = await addCamera('Door again');
    const seen = (type: CameraEvent['type']): CameraEvent[] =>
      sse.events
        .map((f) => JSON.parse(f.data!) as CameraEvent)
        .filter((e) => e.type === type && e.data.cameraId === id);
    try {
      await healthUntil(id, (h) => h.state === 'streaming' && h.framesDetected >= 1);
      await sse.until('camera.online', () => seen('camera.online').length === 1, 30_000);
      assert.equal(seen('camera.online')[0]!.data.alert, undefined, 'a first start resolves nothing');

      await rtsp.stop({ kill: true });
      const down = await healthUntil(id, (h) => h.state === 'reconnecting');
      assert.ok(down.lastError, 'the reason is given');
      await sse.until('camera.offline', () => seen('camera.offline').length === 1, 30_000);
      const offline = seen('camera.offline')[0]!;
      assert.equal(offline.siteId, W.sites[0]);
      assert.ok(offline.data.reason);
      const alertId = offline.data.alert?.alertId;
      assert.ok(alertId, 'the offline event names its alert');
      const opened = await waitFor('the camera alert opened', async () => {
        const res = await fx.call(W.viewer.token, 'GET', `/v1/alerts/${alertId}`);
        return res.statusCode === 200 ? res.json<ApiAlert>() : undefined;
      });
      assert.equal(opened.cameraId, id);
      assert.equal(opened.equipmentId, null);
      assert.equal(opened.ruleKey, 'camera_offline');
      assert.equal(opened.status, 'active');
      assert.match(opened.message, /^camera offline: /);
      const listed = await fx.call(W.viewer.token, 'GET', '/v1/alerts?status=open');
      assert.equal(listed.statusCode, 200, listed.body);
      assert.ok(listed.json<{ items: ApiAlert[] }>().items.some((a) => a.id === alertId));

      rtsp = await startRtspServer({ mounts: { door: videos.path('walk-through') }, port: rtsp.port });
      const back = await healthUntil(id, (h) => h.state === 'streaming' && h.reconnects >= 1);
      assert.equal(back.lastError, null);
      await sse.until('camera.online again', () => seen('camera.online').length === 2, 30_000);
      assert.deepEqual(seen('camera.online')[1]!.data.alert, offline.data.alert);
      const resolved = await waitFor('the camera alert resolved', async () => {
        const a = (await fx.call(W.viewer.token, 'GET', `/v1/alerts/${alertId}`)).json<ApiAlert>();
        return a.status === 'resolved' ? a : undefined;
      });
      assert.ok(resolved.resolvedAt);
      assert.equal(resolved.resolvedBy, null, 'resolved by the camera, not a person');
      const timeline = await fx.call(W.viewer.token, 'GET', `/v1/alerts/${alertId}/timeline`);
      assert.equal(timeline.statusCode, 200, timeline.body);
      assert.deepEqual(
        timeline.json<{ items: Array<{ action: string }> }>().items.map((t) => t.action),
        ['opened', 'resolved'],
      );
    } finally {
      await sse.close();
      assert.equal((await fx.call(W.operator.token, 'DELETE', `/v1/cameras/${id}`)).statusCode, 204);
    }
  });

  test("a one-second RTSP hiccup within the camera's grace pages nobody; a drop past the grace raises the alert", async () => {
    const sse = await SseClient.open(`${base}/v1/stream?access_token=${W.viewer.token}&kind=camera`);
    assert.equal(sse.status, 200);
    const GRACE_S = 8;
    const id = await addCamera('Door hiccup', { offlineForSeconds: GRACE_S, offlineClearSeconds: 1 });
    const seen = (type: CameraEvent['type']): CameraEvent[] =>
      sse.events
        .map((f) => JSON.parse(f.data!) as CameraEvent)
        .filter((e) => e.type === type && e.data.cameraId === id);
    const alerts = async (): Promise<number> =>
      (await fx.admin.query('SELECT 1 FROM alerts WHERE camera_id = $1', [id])).rowCount ?? 0;
    try {
      await healthUntil(id, (h) => h.state === 'streaming' && h.framesDetected >= 1);
      await sse.until('camera.online', () => seen('camera.online').length === 1, 30_000);

      // The server dies and is back at once: the camera reconnects within its grace.
      const dropped = Date.now();
      await rtsp.stop({ kill: true });
      await healthUntil(id, (h) => h.state === 'reconnecting');
      rtsp = await startRtspServer({ mounts: { door: videos.path('walk-through') }, port: rtsp.port });
      await healthUntil(id, (h) => h.state === 'streaming' && h.reconnects >= 1);
      // Past the grace of that drop (and its timer, had one been left): nothing was said.
      await new Promise((r) => setTimeout(r, Math.max(0, dropped + (GRACE_S + 2) * 1000 - Date.now())));
      assert.deepEqual(seen('camera.offline'), [], 'no offline event for a hiccup');
      assert.equal(await alerts(), 0, 'no alert for a hiccup');

      // The same camera down past its grace: the alert opens (the check above could fail).
      await rtsp.stop({ kill: true });
      await sse.until('camera.offline', () => seen('camera.offline').length === 1, 30_000);
      const alertId = seen('camera.offline')[0]!.data.alert?.alertId;
      assert.ok(alertId, 'the offline event names its alert');
      await waitFor('the camera alert opened', async () => (await alerts()) === 1);
      rtsp = await startRtspServer({ mounts: { door: videos.path('walk-through') }, port: rtsp.port });
      await sse.until('camera.online again', () => seen('camera.online').length === 2, 60_000);
      assert.deepEqual(seen('camera.online')[1]!.data.alert, seen('camera.offline')[0]!.data.alert);
    } finally {
      await sse.close();
      assert.equal((await fx.call(W.operator.token, 'DELETE', `/v1/cameras/${id}`)).statusCode, 204);
    }
  });

  test('bad input is a failed or reconnecting camera with the reason; another camera keeps streaming', async () => {
    const good = await addCamera('Good');
    await healthUntil(good, (h) => h.state === 'streaming' && h.framesDetected >= 1);
    const notVideo = join(videos.dir, 'notes.txt');
    await writeFile(notVideo, 'this is not a video\n'.repeat(50));
    // A real recording's first kilobytes, then noise: the container opens, the stream is garbage.
    const corrupt = join(videos.dir, 'corrupt.mkv');
    const head = (await readFile(videos.path('walk-through'))).subarray(0, 4096);
    const noise = Buffer.alloc(256 * 1024);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + (i >> 3)) & 0xff;
    await writeFile(corrupt, Buffer.concat([head, noise]));
    // Takes the camera's images, but its output is not [1, 4+classes, anchors].
    const wrongOutput = join(videos.dir, 'wrong-output.onnx');
    const g = new GraphBuilder('wrong-output');
    const x = g.input('images', [1, 3, SIZE, SIZE]);
    g.op('Reshape', [x, g.ints([1, 3, SIZE * SIZE])], {}, 'output0');
    g.output('output0', [1, 3, SIZE * SIZE]);
    await writeFile(wrongOutput, g.build());

    const bad = {
      unreachable: await addCamera('Unreachable', { sourceUrl: 'rtsp://127.0.0.1:9/none' }),
      notVideo: await addCamera('Text', { sourceUrl: notVideo }),
      corrupt: await addCamera('Corrupt', { sourceUrl: corrupt }),
      wrongOutput: await addCamera('Wrong model', { modelPath: wrongOutput }),
    };
    try {
      const down = (h: CameraHealth) =>
        h.state === 'failed' || (h.state === 'reconnecting' && h.reconnects >= 1);
      const unreachable = await healthUntil(
        bad.unreachable,
        (h) => h.state === 'reconnecting' && h.reconnects >= 1,
      );
      assert.match(unreachable.lastError ?? '', /cannot open stream/);
      const text = await healthUntil(bad.notVideo, (h) => h.state === 'failed');
      assert.match(text.lastError ?? '', /no video stream|cannot open file/);
      const corrupted = await healthUntil(bad.corrupt, down);
      assert.match(
        corrupted.lastError ?? '',
        /cannot open file|no video stream|decode failed|stream gave no frames|stream ended/,
        JSON.stringify(corrupted),
      );
      const model = await healthUntil(bad.wrongOutput, (h) => h.state === 'failed');
      assert.match(
        model.lastError ?? '',
        /wrong-output\.onnx.*\[1, 4\+classes, anchors\].*got \[1, 3, 102400\]/,
      );

      const before = (await health(good)).framesDetected;
      const after = await healthUntil(good, (h) => h.framesDetected >= before + 3);
      assert.equal(after.state, 'streaming');
      assert.equal(after.lastError, null);
    } finally {
      for (const id of [good, ...Object.values(bad)])
        assert.equal((await fx.call(W.operator.token, 'DELETE', `/v1/cameras/${id}`)).statusCode, 204);
    }
    await waitFor(
      'the node closed every camera',
      async () => (await videoResources()).resources.cameras === 0,
    );
    assert.deepEqual((await videoResources()).resources, NOTHING);
  });
});
