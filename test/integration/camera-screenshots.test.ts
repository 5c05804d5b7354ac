/**
 * Screenshots for cameras that are not streaming, through the real gateway and PostgreSQL
 * (SPEC §6, zone editing): an operator uploads an image, the camera's snapshot answers it
 * pixel for pixel (`x-vigil-frame-source: screenshot`), and the overlay draws the camera's zones
 * on it — different where the zones lie, identical elsewhere. Bad uploads each get their code;
 * viewers read but may not upload; another tenant's or another site's camera is not there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { renderFrame, SCENES } from '../../actors/video/mod.ts';
import { SCREENSHOT_LIMITS, type ApiScreenshot } from '../../schemas/mod.ts';
import { apiFixture, type ApiFixture, type World } from '../helpers/app.ts';

let fx: ApiFixture;
let A: World;
let B: World;
let camera: string;

const scene = SCENES['walk-through'];
/** The scene at 3 s as raw RGB: people on the shop floor. */
const picture = renderFrame(scene, 3);
const raw = { raw: { width: scene.width, height: scene.height, channels: 3 as const } };

const code = (res: { json: <T>() => T }) => res.json<{ error?: { code?: string } }>().error?.code;

function upload(token: string, cameraId: string, body: Buffer | string, type = 'image/png') {
  return fx.call(token, 'PUT', `/v1/cameras/${cameraId}/screenshot`, body, { 'content-type': type });
}

async function rgbOf(image: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Area in the left half, a line below it; the right third of the frame has nothing drawn. */
const AREA = [
  [0.1, 0.2],
  [0.4, 0.2],
  [0.4, 0.6],
  [0.1, 0.6],
];
const LINE = [
  [0.05, 0.8],
  [0.45, 0.8],
];

before(async () => {
  fx = await apiFixture();
  A = await fx.world();
  B = await fx.world();
  // The world's first camera, disabled: it runs nowhere, as a camera that is not streaming.
  camera = A.cameras[0];
  const off = await fx.call(A.operator.token, 'PATCH', `/v1/cameras/${camera}`, { enabled: false });
  assert.equal(off.statusCode, 200, off.body);
  // The world's zone on it goes: this file's zones are the only ones drawn.
  const zone = await fx.call(A.operator.token, 'DELETE', `/v1/zones/${A.zones[0]}`);
  assert.equal(zone.statusCode, 204, zone.body);
});

after(async () => {
  await fx?.close();
});

describe('camera screenshots', () => {
  test('no live frame and no screenshot: 409 NO_FRAME saying why', async () => {
    const res = await fx.call(A.viewer.token, 'GET', `/v1/cameras/${camera}/snapshot`);
    assert.equal(res.statusCode, 409, res.body);
    assert.equal(code(res), 'NO_FRAME');
    assert.match(res.json<{ error: { message: string } }>().error.message, /disabled/);
  });

  test('an uploaded PNG is the snapshot of a camera that is not streaming, pixel for pixel', async () => {
    const png = await sharp(picture, raw).png().toBuffer();
    const res = await upload(A.operator.token, camera, png);
    assert.equal(res.statusCode, 200, res.body);
    const stored = res.json<ApiScreenshot>();
    assert.deepEqual(
      { cameraId: stored.cameraId, format: stored.format, width: stored.width, height: stored.height },
      { cameraId: camera, format: 'png', width: scene.width, height: scene.height },
    );
    assert.ok(stored.bytes > 0);

    const snap = await fx.call(A.viewer.token, 'GET', `/v1/cameras/${camera}/snapshot`);
    assert.equal(snap.statusCode, 200, snap.body);
    assert.equal(snap.headers['content-type'], 'image/png');
    assert.equal(snap.headers['x-vigil-frame-source'], 'screenshot');
    assert.equal(snap.headers['x-vigil-frame-at'], stored.uploadedAt);
    assert.equal(snap.headers['cache-control'], 'no-store');
    const got = await rgbOf(snap.rawPayload);
    assert.deepEqual([got.width, got.height], [scene.width, scene.height]);
    assert.ok(got.data.equals(picture), 'the stored picture is the uploaded one');

    const entries = await fx.admin.query<{ action: string }>(
      `SELECT action FROM audit_log WHERE tenant_id = $1 AND target_id = $2 AND action LIKE 'camera.screenshot%'`,
      [A.tenantId, camera],
    );
    assert.deepEqual(
      entries.rows.map((r) => r.action),
      ['camera.screenshot_upload'],
    );
  });

  test('the overlay draws the zones on the screenshot: different where they lie, the same elsewhere', async () => {
    for (const [name, kind, points] of [
      ['Promo table', 'area', AREA],
      ['Door', 'line', LINE],
    ] as const) {
      const z = await fx.call(A.operator.token, 'POST', '/v1/zones', {
        cameraId: camera,
        name,
        kind,
        points,
      });
      assert.equal(z.statusCode, 201, z.body);
    }
    const res = await fx.call(A.viewer.token, 'GET', `/v1/cameras/${camera}/overlay?format=png`);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'image/png');
    assert.equal(res.headers['x-vigil-frame-source'], 'screenshot');
    assert.equal(res.headers['x-vigil-tracks'], '0', 'no live boxes on a screenshot');
    const drawn = await rgbOf(res.rawPayload);
    assert.deepEqual([drawn.width, drawn.height], [scene.width, scene.height]);

    const { width, height } = scene;
    const px = (buf: Buffer, x: number, y: number) => {
      const i = (Math.round(y) * width + Math.round(x)) * 3;
      return [buf[i]!, buf[i + 1]!, buf[i + 2]!];
    };
    // The area's left edge half way down, the line half way along: the zones' colours.
    assert.deepEqual(px(drawn.data, 0.1 * width, 0.45 * height), [0x00, 0xe5, 0xff]);
    assert.deepEqual(px(picture, 0.1 * width, 0.45 * height), [128, 128, 128]);
    assert.deepEqual(px(drawn.data, 0.25 * width, 0.8 * height), [0xff, 0x2d, 0x95]);
    // Inside the area: tinted, not replaced.
    const inside = px(drawn.data, 0.3 * width, 0.5 * height);
    assert.notDeepEqual(inside, px(picture, 0.3 * width, 0.5 * height));
    assert.ok(inside[2]! > inside[0]!, `tinted towards cyan: ${inside.join(',')}`);
    // Nothing is drawn on the right third: there the overlay is the picture, exactly.
    let changedLeft = 0;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 3;
        const same =
          drawn.data[i] === picture[i] &&
          drawn.data[i + 1] === picture[i + 1] &&
          drawn.data[i + 2] === picture[i + 2];
        if (x >= (2 / 3) * width) assert.ok(same, `(${x}, ${y}) changed outside the zones`);
        else if (!same) changedLeft++;
      }
    // The area's interior alone is 0.3 × 0.4 of the frame.
    assert.ok(changedLeft > 0.1 * width * height, `only ${changedLeft} pixels drawn`);

    const jpeg = await fx.call(A.viewer.token, 'GET', `/v1/cameras/${camera}/overlay`);
    assert.equal(jpeg.statusCode, 200, jpeg.body);
    assert.equal(jpeg.headers['content-type'], 'image/jpeg');
    const meta = await sharp(jpeg.rawPayload).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', width, height]);
  });

  test('a JPEG sent as application/octet-stream replaces it; the type is read from the bytes', async () => {
    const jpeg = await sharp(picture, raw).jpeg({ quality: 95 }).toBuffer();
    const res = await upload(A.operator.token, camera, jpeg, 'application/octet-stream');
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<ApiScreenshot>().format, 'jpeg');
    // Sent as PNG, it is a JPEG all the same.
    const labelled = await upload(A.admin.token, camera, jpeg, 'image/png');
    assert.equal(labelled.statusCode, 200, labelled.body);
    assert.equal(labelled.json<ApiScreenshot>().format, 'jpeg');
    const snap = await fx.call(A.viewer.token, 'GET', `/v1/cameras/${camera}/snapshot`);
    assert.equal(snap.statusCode, 200, snap.body);
    assert.equal(snap.headers['content-type'], 'image/jpeg');
    const got = await rgbOf(snap.rawPayload);
    let diff = 0;
    for (let i = 0; i < picture.length; i++) diff += Math.abs(got.data[i]! - picture[i]!);
    assert.ok(diff / picture.length < 3, `mean difference ${diff / picture.length}`);
  });

  test('bad uploads: each refused with its code, the screenshot kept', async () => {
    const before = (await fx.call(A.viewer.token, 'GET', `/v1/cameras/${camera}/snapshot`)).rawPayload;
    const png = await sharp(picture, raw).png().toBuffer();
    const cases: Array<
      [string, () => Promise<{ statusCode: number; body: string; json: <T>() => T }>, number, string]
    > = [
      ['not an image', () => upload(A.operator.token, camera, 'just some text'), 400, 'IMAGE_INVALID'],
      [
        'a truncated PNG',
        () => upload(A.operator.token, camera, png.subarray(0, png.length >> 1)),
        400,
        'IMAGE_INVALID',
      ],
      [
        'a WebP',
        async () =>
          upload(A.operator.token, camera, await sharp(picture, raw).webp().toBuffer(), 'image/png'),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'more bytes than the bound',
        () => upload(A.operator.token, camera, Buffer.alloc(SCREENSHOT_LIMITS.bytes + 1, 0xff), 'image/jpeg'),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      [
        'JSON',
        () => upload(A.operator.token, camera, JSON.stringify({ image: 'x' }), 'application/json'),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'text/plain',
        () => upload(A.operator.token, camera, 'x', 'text/plain'),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      ['by a viewer', () => upload(A.viewer.token, camera, png), 403, 'FORBIDDEN'],
      ["to another tenant's camera", () => upload(B.admin.token, camera, png), 404, 'NOT_FOUND'],
      [
        "to another site's camera, by an operator of one site",
        () => upload(A.siteOperator.token, A.cameras[1], png),
        404,
        'NOT_FOUND',
      ],
    ];
    for (const [name, send, status, expected] of cases) {
      const res = await send();
      assert.equal(res.statusCode, status, `${name}: ${res.body}`);
      assert.equal(code(res), expected, name);
    }
    const after = (await fx.call(A.viewer.token, 'GET', `/v1/cameras/${camera}/snapshot`)).rawPayload;
    assert.ok(after.equals(before), 'the screenshot is the one before');
    const { rows } = await fx.admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM camera_screenshots WHERE tenant_id = $1',
      [B.tenantId],
    );
    assert.equal(rows[0]!.n, 0, 'nothing stored for the other tenant');
  });

  test("another tenant's reader: the snapshot and overlay of this camera are not there", async () => {
    for (const path of ['snapshot', 'overlay', 'screenshot']) {
      const res = await fx.call(
        B.admin.token,
        path === 'screenshot' ? 'DELETE' : 'GET',
        `/v1/cameras/${camera}/${path}`,
      );
      assert.equal(res.statusCode, 404, `${path}: ${res.body}`);
      assert.equal(code(res), 'NOT_FOUND');
    }
  });

  test('deleted, the screenshot is gone: NO_FRAME again, and a second delete is 404', async () => {
    const del = await fx.call(A.operator.token, 'DELETE', `/v1/cameras/${camera}/screenshot`);
    assert.equal(del.statusCode, 204, del.body);
    const snap = await fx.call(A.viewer.token, 'GET', `/v1/cameras/${camera}/snapshot`);
    assert.equal(snap.statusCode, 409, snap.body);
    assert.equal(code(snap), 'NO_FRAME');
    const again = await fx.call(A.operator.token, 'DELETE', `/v1/cameras/${camera}/screenshot`);
    assert.equal(again.statusCode, 404, again.body);
    assert.equal(code(again), 'NOT_FOUND');
  });

  test('the OpenAPI document describes the image routes', async () => {
    const doc = (await fx.app.inject('/openapi.json')).json<{
      paths: Record<
        string,
        Record<
          string,
          {
            description?: string;
            requestBody?: { content: Record<string, unknown> };
            responses: Record<
              string,
              { content?: Record<string, unknown>; headers?: Record<string, unknown> }
            >;
          }
        >
      >;
    }>();
    const snapshot = doc.paths['/v1/cameras/{id}/snapshot']?.['get'];
    assert.ok(snapshot, 'snapshot documented');
    assert.deepEqual(Object.keys(snapshot.responses['200']?.content ?? {}).sort(), [
      'image/jpeg',
      'image/png',
    ]);
    assert.ok(snapshot.responses['200']?.headers?.['x-vigil-frame-source'], 'frame source header documented');
    assert.ok(snapshot.responses['4XX']?.content?.['application/json'], 'errors documented as JSON');
    assert.match(snapshot.description ?? '', /409 NO_FRAME/);
    const overlay = doc.paths['/v1/cameras/{id}/overlay']?.['get'];
    assert.ok(overlay?.responses['200']?.headers?.['x-vigil-tracks']);
    const put = doc.paths['/v1/cameras/{id}/screenshot']?.['put'];
    assert.deepEqual(Object.keys(put?.requestBody?.content ?? {}).sort(), [
      'application/octet-stream',
      'image/jpeg',
      'image/png',
    ]);
  });
});
