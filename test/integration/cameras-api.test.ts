/**
 * Cameras and zones through the management API (SPEC §6): CRUD with the control messages camera
 * nodes act on, polygon rules with their error codes, health when no camera node runs the
 * camera, roles and site restriction.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiFixture, type ApiFixture, type World } from '../helpers/app.ts';

let fx: ApiFixture;
let W: World;

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Every message on a NATS core subject while `fn` runs (and a flush after). */
async function messagesDuring(subject: string, fn: () => Promise<void>): Promise<unknown[]> {
  const got: unknown[] = [];
  const sub = fx.deps.nc.subscribe(subject, {
    callback: (_err, m) => {
      got.push(m.json());
    },
  });
  await fx.deps.nc.flush();
  await fn();
  await fx.deps.nc.flush();
  // A round trip through the server after the publishes: they have all been delivered back.
  await new Promise((r) => setTimeout(r, 50));
  sub.unsubscribe();
  return got;
}

const square = [
  [0.2, 0.2],
  [0.6, 0.2],
  [0.6, 0.6],
  [0.2, 0.6],
];

before(async () => {
  fx = await apiFixture();
  W = await fx.world();
});

after(async () => {
  await fx?.close();
});

describe('cameras', () => {
  test('create, read, update, delete; each change tells the camera nodes', async () => {
    const t = W.operator.token;
    let id = '';
    const msgs = await messagesDuring(fx.deps.names.ctl.cameraChanged, async () => {
      const created = await fx.call(t, 'POST', '/v1/cameras', {
        siteId: W.sites[1],
        name: 'Cooler aisle',
        sourceUrl: 'rtsp://192.0.2.1/aisle',
        detectFps: 4,
      });
      assert.equal(created.statusCode, 201, created.body);
      const cam = created.json<{
        id: string;
        detectFps: number;
        inputSize: number;
        confidence: number;
        enabled: boolean;
      }>();
      id = cam.id;
      assert.deepEqual(
        {
          detectFps: cam.detectFps,
          inputSize: cam.inputSize,
          confidence: cam.confidence,
          enabled: cam.enabled,
        },
        { detectFps: 4, inputSize: 640, confidence: 0.25, enabled: true },
      );
      const patched = await fx.call(t, 'PATCH', `/v1/cameras/${id}`, { enabled: false, inputSize: 320 });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal(patched.json<{ inputSize: number }>().inputSize, 320);
      const restart = await fx.call(t, 'POST', `/v1/cameras/${id}/restart`);
      assert.equal(restart.statusCode, 202, restart.body);
      assert.equal((await fx.call(t, 'DELETE', `/v1/cameras/${id}`)).statusCode, 204);
    });
    assert.deepEqual(
      msgs,
      ['created', 'updated', 'restart', 'deleted'].map((action) => ({
        tenantId: W.tenantId,
        cameraId: id,
        action,
      })),
    );
    assert.equal((await fx.call(t, 'GET', `/v1/cameras/${id}`)).statusCode, 404);
  });

  test('bad settings are refused with their codes', async () => {
    const t = W.operator.token;
    for (const [body, code] of [
      [{ detectFps: 0 }, 'VALIDATION_FAILED'],
      [{ detectFps: 31 }, 'VALIDATION_FAILED'],
      [{ inputSize: 300 }, 'VALIDATION_FAILED'],
      [{ confidence: 1 }, 'VALIDATION_FAILED'],
      [{ sourceUrl: '' }, 'VALIDATION_FAILED'],
      [{ colour: 'red' }, 'UNKNOWN_FIELD'],
    ] as const) {
      const res = await fx.call(t, 'POST', '/v1/cameras', {
        siteId: W.sites[0],
        name: 'Bad',
        sourceUrl: 'rtsp://192.0.2.1/x',
        ...body,
      });
      assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
      assert.equal(res.json<{ error: { code: string } }>().error.code, code, JSON.stringify(body));
    }
  });

  test('health with no camera node running it: stopped, with the reason', async () => {
    const res = await fx.call(W.viewer.token, 'GET', `/v1/cameras/${W.cameras[0]}/health`);
    assert.equal(res.statusCode, 200, res.body);
    const h = res.json<{ cameraId: string; state: string; lastError: string; framesIn: number }>();
    assert.deepEqual(
      { cameraId: h.cameraId, state: h.state, lastError: h.lastError, framesIn: h.framesIn },
      { cameraId: W.cameras[0], state: 'stopped', lastError: 'no camera node runs this camera', framesIn: 0 },
    );
  });

  test('viewers read, only operators and admins change; a restricted operator only on its site', async () => {
    const body = { siteId: W.sites[0], name: 'Till', sourceUrl: 'rtsp://192.0.2.1/till' };
    assert.equal((await fx.call(W.viewer.token, 'POST', '/v1/cameras', body)).statusCode, 403);
    assert.equal((await fx.call(W.viewer.token, 'GET', `/v1/cameras/${W.cameras[1]}`)).statusCode, 200);
    const other = await fx.call(W.siteOperator.token, 'POST', '/v1/cameras', { ...body, siteId: W.sites[1] });
    assert.equal(other.statusCode, 404, other.body);
    const own = await fx.call(W.siteOperator.token, 'POST', '/v1/cameras', body);
    assert.equal(own.statusCode, 201, own.body);
    const list = await fx.call(W.siteOperator.token, 'GET', `/v1/cameras?siteId=${W.sites[0]}`);
    const ids = list.json<Page<{ id: string; siteId: string }>>().items;
    assert.deepEqual(new Set(ids.map((c) => c.siteId)), new Set([W.sites[0]]));
    assert.ok(ids.some((c) => c.id === own.json<{ id: string }>().id));
  });

  test('deleting a camera deletes its zones', async () => {
    const t = W.operator.token;
    const cam = (
      await fx.call(t, 'POST', '/v1/cameras', { siteId: W.sites[0], name: 'Gone', sourceUrl: 'x.mkv' })
    ).json<{ id: string }>();
    const zone = await fx.call(t, 'POST', '/v1/zones', {
      cameraId: cam.id,
      name: 'a',
      kind: 'area',
      points: square,
    });
    assert.equal(zone.statusCode, 201, zone.body);
    assert.equal((await fx.call(t, 'DELETE', `/v1/cameras/${cam.id}`)).statusCode, 204);
    assert.equal((await fx.call(t, 'GET', `/v1/zones/${zone.json<{ id: string }>().id}`)).statusCode, 404);
  });
});

describe('zones', () => {
  test('polygon rules, each with its own code', async () => {
    const t = W.operator.token;
    const cases: Array<[string, unknown, string]> = [
      [
        'two points for an area',
        [
          [0.1, 0.1],
          [0.5, 0.5],
        ],
        'ZONE_TOO_FEW_POINTS',
      ],
      ['no points', [], 'ZONE_TOO_FEW_POINTS'],
      [
        'x above 1',
        [
          [0.1, 0.1],
          [1.2, 0.1],
          [0.5, 0.5],
        ],
        'ZONE_OUTSIDE_IMAGE',
      ],
      [
        'y below 0',
        [
          [0.1, -0.1],
          [0.9, 0.1],
          [0.5, 0.5],
        ],
        'ZONE_OUTSIDE_IMAGE',
      ],
      [
        'bow tie',
        [
          [0.1, 0.1],
          [0.9, 0.9],
          [0.9, 0.1],
          [0.1, 0.9],
        ],
        'ZONE_SELF_INTERSECTING',
      ],
      [
        'collinear',
        [
          [0.1, 0.1],
          [0.5, 0.5],
          [0.9, 0.9],
        ],
        'ZONE_SELF_INTERSECTING',
      ],
      [
        'a point of three numbers',
        [
          [0.1, 0.1, 0.1],
          [0.5, 0.5],
          [0.9, 0.1],
        ],
        'VALIDATION_FAILED',
      ],
    ];
    for (const [what, points, code] of cases) {
      const res = await fx.call(t, 'POST', '/v1/zones', {
        cameraId: W.cameras[0],
        name: what,
        kind: 'area',
        points,
      });
      assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
      assert.equal(res.json<{ error: { code: string } }>().error.code, code, what);
    }
    for (const [what, points, code] of [
      [
        'a line of three points',
        [
          [0.1, 0.1],
          [0.5, 0.5],
          [0.9, 0.1],
        ],
        'ZONE_TOO_FEW_POINTS',
      ],
      [
        'a line of one point twice',
        [
          [0.3, 0.3],
          [0.3, 0.3],
        ],
        'ZONE_TOO_FEW_POINTS',
      ],
    ] as const) {
      const res = await fx.call(t, 'POST', '/v1/zones', {
        cameraId: W.cameras[0],
        name: what,
        kind: 'line',
        points,
      });
      assert.equal(res.json<{ error: { code: string } }>().error.code, code, what);
    }
    const ok = await fx.call(t, 'POST', '/v1/zones', {
      cameraId: W.cameras[0],
      name: 'door',
      kind: 'line',
      entrance: true,
      points: [
        [0.5, 0.2],
        [0.5, 1],
      ],
    });
    assert.equal(ok.statusCode, 201, ok.body);
    const entranceArea = await fx.call(t, 'POST', '/v1/zones', {
      cameraId: W.cameras[0],
      name: 'e',
      kind: 'area',
      entrance: true,
      points: square,
    });
    assert.equal(entranceArea.json<{ error: { code: string } }>().error.code, 'VALIDATION_FAILED');
  });

  test('a zone is created on its camera’s site, updated as a whole, listed by camera, deleted', async () => {
    const t = W.operator.token;
    let id = '';
    const msgs = await messagesDuring(fx.deps.names.ctl.cameraChanged, async () => {
      const created = await fx.call(t, 'POST', '/v1/zones', {
        cameraId: W.cameras[1],
        name: 'Cooler',
        kind: 'product',
        points: square,
        dwellSeconds: 2,
        crowding: { occupancy: 3, seconds: 10 },
      });
      assert.equal(created.statusCode, 201, created.body);
      const z = created.json<{ id: string; siteId: string; dwellSeconds: number; crowding: unknown }>();
      id = z.id;
      assert.deepEqual(
        { siteId: z.siteId, dwellSeconds: z.dwellSeconds, crowding: z.crowding },
        { siteId: W.sites[1], dwellSeconds: 2, crowding: { occupancy: 3, seconds: 10 } },
      );
      // Turning it into a line keeps its four points: refused as a whole.
      const bad = await fx.call(t, 'PATCH', `/v1/zones/${id}`, { kind: 'line' });
      assert.equal(bad.json<{ error: { code: string } }>().error.code, 'ZONE_TOO_FEW_POINTS');
      const moved = await fx.call(t, 'PATCH', `/v1/zones/${id}`, {
        points: [
          [0.7, 0.4],
          [0.9, 0.4],
          [0.8, 0.7],
        ],
      });
      assert.equal(moved.statusCode, 200, moved.body);
      assert.deepEqual(moved.json<{ points: unknown }>().points, [
        [0.7, 0.4],
        [0.9, 0.4],
        [0.8, 0.7],
      ]);
      const list = await fx.call(t, 'GET', `/v1/zones?cameraId=${W.cameras[1]}`);
      assert.ok(list.json<Page<{ id: string }>>().items.some((x) => x.id === id));
      assert.equal((await fx.call(t, 'DELETE', `/v1/zones/${id}`)).statusCode, 204);
    });
    assert.deepEqual(
      msgs,
      [1, 2, 3].map(() => ({ tenantId: W.tenantId, cameraId: W.cameras[1], action: 'zones' })),
    );
  });
});
