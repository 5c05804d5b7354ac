/**
 * A streaming camera's frames through the API (SPEC §6, zone editing), over the real services:
 * Debian's GStreamer RTSP server plays the project's synthetic scene, a real actor node runs the
 * camera's video pipeline (`camera-video`) and its actor (`camera`). The gateway holds no frames:
 * the snapshot is the node's latest decoded frame (the scene's picture at the camera's size),
 * the overlay that frame with the zones and the actor's live boxes drawn. Disabled, the camera
 * has no live frame: NO_FRAME until a screenshot is uploaded, which then answers instead.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { startActorNode, type ActorNode } from '../../actors/mod.ts';
import { buildShapeDetector, renderFrame, SCENES } from '../../actors/video/mod.ts';
import { startRtspServer, type RtspServer } from '../../ops/rtsp/rtsp.ts';
import type { CameraHealth } from '../../schemas/mod.ts';
import { apiFixture, type ApiFixture, type World } from '../helpers/app.ts';
import { sceneVideos } from '../helpers/video.ts';
import { waitFor } from '../helpers/wait.ts';

const SIZE = 320;
const scene = SCENES['walk-through'];
/** The scene's empty shop floor (tiles), what every frame shows behind the people. */
const floor = renderFrame({ ...scene, people: [] }, 0);
/** A zone at the top right of the frame, where people's heads pass at most. */
const AREA = [
  [0.55, 0.05],
  [0.95, 0.05],
  [0.95, 0.3],
  [0.55, 0.3],
];
const AREA_RGB = [0x00, 0xe5, 0xff];
const TRACK_RGB = [0x76, 0xff, 0x03];

let fx: ApiFixture;
let W: World;
let node: ActorNode;
let rtsp: RtspServer;
let videos: Awaited<ReturnType<typeof sceneVideos>>;
let camera: string;

const code = (res: { json: <T>() => T }) => res.json<{ error?: { code?: string } }>().error?.code;

async function rgbOf(image: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

const pixel = (img: { data: Buffer; width: number }, x: number, y: number): number[] => {
  const i = (Math.round(y) * img.width + Math.round(x)) * 3;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
};
const distance = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));

before(async () => {
  fx = await apiFixture();
  W = await fx.world();
  for (const id of W.cameras) {
    const res = await fx.call(W.operator.token, 'PATCH', `/v1/cameras/${id}`, { enabled: false });
    assert.equal(res.statusCode, 200, res.body);
  }
  videos = await sceneVideos(['walk-through']);
  const model = join(videos.dir, 'shape.onnx');
  await writeFile(model, buildShapeDetector({ inputSize: SIZE }));
  // A port of its own (other files run RTSP servers beside this one), the scene played forever.
  rtsp = await startRtspServer({ mounts: { shop: videos.path('walk-through') }, loop: true, port: 0 });
  node = await startActorNode({
    config: { ...fx.config, VIGIL_DETECT_WORKERS: 1 },
    log: fx.deps.log,
    nodeID: `${fx.config.VIGIL_NS}-frames`,
    services: ['camera-video', 'camera'],
    cameraTenants: [W.tenantId],
  });
  const created = await fx.call(W.operator.token, 'POST', '/v1/cameras', {
    siteId: W.sites[0],
    name: 'Shop floor',
    sourceUrl: rtsp.url('shop'),
    inputSize: SIZE,
    detectFps: 5,
    modelPath: model,
  });
  assert.equal(created.statusCode, 201, created.body);
  camera = created.json<{ id: string }>().id;
  const zone = await fx.call(W.operator.token, 'POST', '/v1/zones', {
    cameraId: camera,
    name: 'Promo',
    kind: 'area',
    points: AREA,
  });
  assert.equal(zone.statusCode, 201, zone.body);
  // The zone is the actor's, not the video's: its pipeline keeps running (before the fix it was
  // stopped and started again, seconds without frames on every zone edit).
  const states = new Set<string>();
  await waitFor('the camera streaming', async () => {
    const res = await fx.call(W.viewer.token, 'GET', `/v1/cameras/${camera}/health`);
    states.add(res.json<CameraHealth>().state);
    return res.json<CameraHealth>().state === 'streaming';
  });
  assert.ok(!states.has('stopped'), `the zone stopped the camera's video: ${[...states].join(' → ')}`);
});

after(async () => {
  await node?.stop();
  await rtsp?.stop();
  await videos?.cleanup();
  await fx?.close();
});

describe('frames of a streaming camera', () => {
  test("the snapshot is the node's latest frame: the scene's picture at the camera's size", async () => {
    const res = await waitFor('a live snapshot', async () => {
      const r = await fx.call(W.viewer.token, 'GET', `/v1/cameras/${camera}/snapshot`);
      return r.statusCode === 200 ? r : undefined;
    });
    assert.equal(res.headers['content-type'], 'image/jpeg');
    assert.equal(res.headers['x-vigil-frame-source'], 'live');
    assert.ok(!Number.isNaN(Date.parse(String(res.headers['x-vigil-frame-at']))));
    const img = await rgbOf(res.rawPayload);
    assert.deepEqual([img.width, img.height], [scene.width, scene.height]);
    // The picture is the scene: within codec error of the empty floor except where people are
    // (a few percent of the frame), and not flat (the tiles' lines are there).
    let diff = 0;
    for (let i = 0; i < floor.length; i++) diff += Math.abs(img.data[i]! - floor[i]!);
    assert.ok(diff / floor.length < 10, `mean difference from the scene ${diff / floor.length}`);
    const rowMean = (y: number) => {
      let sum = 0;
      for (let x = 0; x < img.width; x++) sum += pixel(img, x, y)[1]!;
      return sum / img.width;
    };
    // Tile lines (112) every 40 rows on the floor (128); no one's head is that high.
    const [line, between] = [rowMean(40), rowMean(60)];
    assert.ok(between - line >= 6, `tile line row ${line} vs floor row ${between}`);
  });

  test('the overlay draws the zone on the live frame and boxes on the people the actor tracks', async () => {
    const { width, height } = scene;
    // Wait for a frame with people in it, tracked by the actor.
    const res = await waitFor(
      'an overlay with live boxes',
      async () => {
        const r = await fx.call(W.viewer.token, 'GET', `/v1/cameras/${camera}/overlay?format=png`);
        return r.statusCode === 200 && Number(r.headers['x-vigil-tracks']) >= 1 ? r : undefined;
      },
      60_000,
      250,
    );
    assert.equal(res.headers['content-type'], 'image/png');
    assert.equal(res.headers['x-vigil-frame-source'], 'live');
    const drawn = await rgbOf(res.rawPayload);
    assert.deepEqual([drawn.width, drawn.height], [width, height]);
    // The zone's edges are drawn in its colour; the live frame there is floor. (Points above
    // the people's heads, which never rise past a fifth of the frame, nor their labels.)
    for (const [x, y] of [
      [0.55 * width, 0.1 * height],
      [0.95 * width, 0.1 * height],
      [0.875 * width, 0.05 * height],
    ] as const) {
      assert.deepEqual(pixel(drawn, x, y), AREA_RGB, `zone edge at (${x}, ${y})`);
      assert.ok(distance(pixel({ data: floor, width }, x, y), AREA_RGB) > 100);
    }
    // Boxes: pixels of the track colour, which nothing in the scene has.
    let boxPixels = 0;
    for (let i = 0; i < drawn.data.length; i += 3)
      if (distance([drawn.data[i]!, drawn.data[i + 1]!, drawn.data[i + 2]!], TRACK_RGB) <= 2) boxPixels++;
    assert.ok(boxPixels >= 40, `only ${boxPixels} pixels of boxes`);
    let sceneLime = 0;
    for (let i = 0; i < floor.length; i += 3)
      if (distance([floor[i]!, floor[i + 1]!, floor[i + 2]!], TRACK_RGB) <= 2) sceneLime++;
    assert.equal(sceneLime, 0);
  });

  test('disabled, the camera has no live frame: NO_FRAME, then the uploaded screenshot', async () => {
    const off = await fx.call(W.operator.token, 'PATCH', `/v1/cameras/${camera}`, { enabled: false });
    assert.equal(off.statusCode, 200, off.body);
    const none = await fx.call(W.viewer.token, 'GET', `/v1/cameras/${camera}/snapshot`);
    assert.equal(none.statusCode, 409, none.body);
    assert.equal(code(none), 'NO_FRAME');

    const shot = await sharp(renderFrame(scene, 2), {
      raw: { width: scene.width, height: scene.height, channels: 3 },
    })
      .png()
      .toBuffer();
    const put = await fx.call(W.operator.token, 'PUT', `/v1/cameras/${camera}/screenshot`, shot, {
      'content-type': 'image/png',
    });
    assert.equal(put.statusCode, 200, put.body);
    const snap = await fx.call(W.viewer.token, 'GET', `/v1/cameras/${camera}/snapshot`);
    assert.equal(snap.statusCode, 200, snap.body);
    assert.equal(snap.headers['x-vigil-frame-source'], 'screenshot');
    assert.ok((await rgbOf(snap.rawPayload)).data.equals(renderFrame(scene, 2)));

    // Enabled again: the live frame answers before the screenshot.
    const on = await fx.call(W.operator.token, 'PATCH', `/v1/cameras/${camera}`, { enabled: true });
    assert.equal(on.statusCode, 200, on.body);
    await waitFor('a live snapshot again', async () => {
      const r = await fx.call(W.viewer.token, 'GET', `/v1/cameras/${camera}/snapshot`);
      return r.statusCode === 200 && r.headers['x-vigil-frame-source'] === 'live';
    });
  });
});
