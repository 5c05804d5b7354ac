/**
 * Camera alerts through the alert engine over the real services: a zone's crowding rule (K
 * people for T s, a severity, a clear delay) created through the zones API, detections published
 * to `det.*` as an edge device would → the camera actor's crowding events on /v1/stream, naming
 * their alert → a `crowding` alert row with its zone, timeline and resolution → webhook
 * notifications of its opening and resolution, and reminders while it stays open. A camera that
 * went offline (`camera.offline`, as a camera node publishes it) is notified and reminded the same
 * way, named by its camera. The notifier's clock is the test's own: reminders are stepped.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { Notifier, alertIdFor, startActorNode, type ActorNode } from '../../actors/mod.ts';
import {
  createPool,
  type ApiAlert,
  type ApiZone,
  type CameraEvent,
  type DetectionsIn,
  type PeopleEvent,
  type Pool,
} from '../../schemas/mod.ts';
import { deleteNamespace, publishDetections, publishEvent } from '../../streams/mod.ts';
import { apiFixture, type ApiFixture, type World } from '../helpers/app.ts';
import { rect } from '../helpers/scene-truth.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { waitFor } from '../helpers/wait.ts';

let fx: ApiFixture;
let W: World;
let worker: Pool;
let node: ActorNode;
let notifier: Notifier;
let sse: SseClient;
let hook: { url: string; got: Array<{ kind: string; body: Record<string, unknown> }>; server: Server };
let clock = Date.now();

before(async () => {
  fx = await apiFixture();
  W = await fx.world();
  worker = createPool(fx.config, 'worker', 2);
  node = await startActorNode({
    config: fx.config,
    log: fx.deps.log,
    nodeID: `${fx.config.VIGIL_NS}-camera-alerts`,
    services: ['camera', 'camera-alerts'],
  });
  notifier = new Notifier(
    { js: fx.deps.js, jsm: fx.deps.jsm, names: fx.deps.names, log: pino({ level: 'silent' }), worker },
    // The loops never run on their own here: the test steps them with its clock.
    // Only this world's deliveries: other test files' notifiers share the database.
    { deliverEveryMs: 3_600_000, sweepEveryMs: 3_600_000, clock: () => clock, tenants: [W.tenantId] },
  );
  await notifier.start();
  const got: typeof hook.got = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({
        kind: String(req.headers['vigil-notification']),
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
      });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hook = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, server };
  const ch = await fx.call(W.admin.token, 'POST', '/v1/notification-channels', {
    name: 'store phone',
    url: hook.url,
    minSeverity: 'warning',
    siteIds: [W.sites[0]],
    remindEveryS: 60,
  });
  assert.equal(ch.statusCode, 201, ch.body);
  await fx.app.listen({ host: '127.0.0.1', port: 0 });
  const address = fx.app.server.address() as AddressInfo;
  sse = await SseClient.open(`http://127.0.0.1:${address.port}/v1/stream?kind=people,camera`, {
    token: W.viewer.token,
    requireOk: true,
  });
});

after(async () => {
  await sse?.close();
  await notifier?.stop();
  await node?.stop();
  hook?.server.close();
  await worker?.end();
  await deleteNamespace(fx.deps.jsm, fx.deps.names);
  await fx?.close();
});

/** Webhook bodies about one alert, in arrival order. */
const about = (alertId: string) => hook.got.filter((g) => (g.body['alert'] as { id: string }).id === alertId);

/** Sends what the notifier has due, until `ok` holds for what the webhook got. */
async function delivered(what: string, ok: () => boolean): Promise<void> {
  await waitFor(what, async () => {
    await notifier.deliverDue();
    return ok();
  });
}

async function alert(id: string): Promise<ApiAlert | undefined> {
  const res = await fx.call(W.viewer.token, 'GET', `/v1/alerts/${id}`);
  return res.statusCode === 200 ? res.json<ApiAlert>() : undefined;
}

const streamed = (): Array<PeopleEvent | CameraEvent> =>
  sse.events.map((f) => JSON.parse(f.data!) as PeopleEvent | CameraEvent);

describe('a zone crowding rule through the alert engine', () => {
  let cameraId = '';
  let zoneId = '';
  /** Frame time of the next frame: the camera's clock moves on across tests. */
  let ts = Math.floor(Date.now() / 1000) * 1000;
  let seq = 0;
  const LOOKS = [
    [0.9, 0.1, 0.1, 0.9, 0.1, 0.1],
    [0.1, 0.9, 0.1, 0.1, 0.9, 0.1],
  ];
  const two = LOOKS.map((appearance, i): DetectionsIn['detections'][number] => {
    const x = 0.35 + i * 0.3;
    return { box: [x - 0.03, 0.5, x + 0.03, 0.8], score: 0.9, appearance };
  });

  /** `seconds` of frames at 5 fps, each with these people. */
  async function frames(seconds: number, detections: DetectionsIn['detections']): Promise<void> {
    for (let i = 0; i < seconds * 5; i++) {
      await publishDetections(fx.deps.js, fx.deps.names, W.tenantId, cameraId, {
        ts,
        seq: ++seq,
        detections,
      });
      ts += 200;
    }
  }

  const crowding = (type: PeopleEvent['type']): PeopleEvent[] =>
    streamed().filter((e): e is PeopleEvent => e.type === type && e.data.cameraId === cameraId);

  test('the rule is set through the zones API, its options checked', async () => {
    const cam = await fx.call(W.operator.token, 'POST', '/v1/cameras', {
      siteId: W.sites[0],
      name: 'Checkout edge',
      // An edge device detects for this camera: Vigil runs no video for it.
      sourceUrl: 'rtsp://192.0.2.1/checkout',
      enabled: false,
    });
    assert.equal(cam.statusCode, 201, cam.body);
    cameraId = cam.json<{ id: string }>().id;
    const points = rect(0.2, 0.4, 0.8, 0.9);
    for (const [crowdingRule, code] of [
      [{ occupancy: 2, seconds: 1, clearOccupancy: 2 }, 'VALIDATION_FAILED'],
      [{ occupancy: 2, seconds: 1, severity: 'urgent' }, 'VALIDATION_FAILED'],
      [{ occupancy: 2, seconds: 1, clearSeconds: -1 }, 'VALIDATION_FAILED'],
      [{ occupancy: 2, seconds: 1, repeat: true }, 'UNKNOWN_FIELD'],
    ] as const) {
      const bad = await fx.call(W.operator.token, 'POST', '/v1/zones', {
        cameraId,
        name: 'queue',
        kind: 'area',
        points,
        crowding: crowdingRule,
      });
      assert.equal(bad.statusCode, 400, `${JSON.stringify(crowdingRule)}: ${bad.body}`);
      assert.equal(bad.json<{ error: { code: string } }>().error.code, code, JSON.stringify(crowdingRule));
    }
    const rule = { occupancy: 2, seconds: 1, severity: 'critical', clearSeconds: 1 };
    const zone = await fx.call(W.operator.token, 'POST', '/v1/zones', {
      cameraId,
      name: 'queue',
      kind: 'area',
      points,
      crowding: rule,
    });
    assert.equal(zone.statusCode, 201, zone.body);
    zoneId = zone.json<ApiZone>().id;
    assert.deepEqual(zone.json<ApiZone>().crowding, rule);
  });

  test('two people for 3 s: crowding on the stream, a critical alert with its zone, resolved once they leave; notified both ways', async () => {
    await frames(3, two);
    // Lost tracks end after the tracker's buffer; the zone is then clear for the clear delay.
    await frames(6, []);
    await sse.until('crowding ended', () => crowding('people.crowding_ended').length === 1, 30_000);
    const [started] = crowding('people.crowding_started');
    const [ended] = crowding('people.crowding_ended');
    assert.ok(started && ended);
    assert.equal(started.data.zoneId, zoneId);
    assert.equal(started.data.severity, 'critical');
    assert.equal(started.data.count, 2);
    assert.ok(started.ts - started.data.since! >= 1000, 'held the rule’s 1 s');
    const alertId = started.data.alert!.alertId;
    assert.equal(alertId, alertIdFor(zoneId, 'crowding', started.ts));
    assert.deepEqual(ended.data.alert, started.data.alert, 'the end resolves the alert the start opened');

    const resolved = await waitFor('the crowding alert resolved', async () => {
      const a = await alert(alertId);
      return a?.status === 'resolved' ? a : undefined;
    });
    assert.deepEqual(
      {
        cameraId: resolved.cameraId,
        zoneId: resolved.zoneId,
        equipmentId: resolved.equipmentId,
        ruleKey: resolved.ruleKey,
        severity: resolved.severity,
        resolvedBy: resolved.resolvedBy,
      },
      { cameraId, zoneId, equipmentId: null, ruleKey: 'crowding', severity: 'critical', resolvedBy: null },
    );
    assert.equal(resolved.openedAt, new Date(started.ts).toISOString());
    assert.match(resolved.message, /^crowding: 2 people in the zone for /);

    // Both enqueued together: sent in either order, each once.
    clock = ended.ts + 1000;
    await delivered('opened and resolved notified', () => about(alertId).length >= 2);
    assert.deepEqual(
      about(alertId)
        .map((g) => g.kind)
        .sort(),
      ['opened', 'resolved'],
    );
    const body = about(alertId).find((g) => g.kind === 'opened')!.body as { alert: Record<string, unknown> };
    assert.deepEqual(
      {
        cameraId: body.alert['cameraId'],
        zoneId: body.alert['zoneId'],
        equipmentId: body.alert['equipmentId'],
        severity: body.alert['severity'],
        ruleKey: body.alert['ruleKey'],
      },
      { cameraId, zoneId, equipmentId: null, severity: 'critical', ruleKey: 'crowding' },
    );
    const timeline = await fx.call(W.viewer.token, 'GET', `/v1/alerts/${alertId}/timeline`);
    assert.equal(timeline.statusCode, 200, timeline.body);
    assert.deepEqual(
      timeline
        .json<{ items: Array<{ action: string }> }>()
        .items.map((t) => t.action)
        .sort(),
      ['notified', 'notified', 'opened', 'resolved'],
    );
  });

  test('crowding that stays is reminded, named by its camera and zone, until acknowledged', async () => {
    await frames(3, two);
    await sse.until('crowding again', () => crowding('people.crowding_started').length === 2, 30_000);
    const started = crowding('people.crowding_started')[1]!;
    const alertId = started.data.alert!.alertId;
    const open = await waitFor('the second crowding alert open', async () => {
      const a = await alert(alertId);
      return a?.status === 'active' ? a : undefined;
    });
    assert.equal(open.zoneId, zoneId);
    clock = started.ts + 61_000;
    await notifier.sweep();
    await delivered('a reminder', () => about(alertId).some((g) => g.kind === 'reminder'));
    const reminder = about(alertId).find((g) => g.kind === 'reminder')!.body as {
      reminder: number;
      alert: Record<string, unknown>;
    };
    assert.equal(reminder.reminder, 1);
    assert.deepEqual(
      [reminder.alert['cameraId'], reminder.alert['zoneId'], reminder.alert['ruleKey']],
      [cameraId, zoneId, 'crowding'],
    );
    // Acknowledged: no more reminders.
    const ack = await fx.call(W.operator.token, 'POST', `/v1/alerts/${alertId}/ack`, {
      note: 'opening till 3',
    });
    assert.equal(ack.statusCode, 200, ack.body);
    clock += 61_000;
    await notifier.sweep();
    await notifier.deliverDue();
    assert.equal(about(alertId).filter((g) => g.kind === 'reminder').length, 1);
  });
});

describe('a camera offline alert through the notifier', () => {
  test('opened, reminded and resolved notifications name the camera', async () => {
    const cameraId = W.cameras[0];
    const at = Math.floor(Date.now() / 1000) * 1000;
    clock = at;
    const alertRef = { alertId: alertIdFor(cameraId, 'camera_offline', at), openedAt: at };
    const base = { tenantId: W.tenantId, siteId: W.sites[0] };
    await publishEvent(fx.deps.js, fx.deps.names, {
      ...base,
      id: `camera.offline:${cameraId}:${at}`,
      type: 'camera.offline',
      ts: at,
      data: { cameraId, reason: 'stream ended', alert: alertRef },
    });
    const open = await waitFor('the offline alert open', () => alert(alertRef.alertId));
    assert.equal(open.status, 'active');
    assert.equal(open.cameraId, cameraId);
    await delivered('opened notified', () => about(alertRef.alertId).length >= 1);
    clock = at + 61_000;
    await notifier.sweep();
    await delivered('reminded', () => about(alertRef.alertId).some((g) => g.kind === 'reminder'));
    await publishEvent(fx.deps.js, fx.deps.names, {
      ...base,
      id: `camera.online:${cameraId}:${at + 70_000}`,
      type: 'camera.online',
      ts: at + 70_000,
      data: { cameraId, alert: alertRef },
    });
    await delivered('resolved notified', () => about(alertRef.alertId).some((g) => g.kind === 'resolved'));
    assert.deepEqual(
      about(alertRef.alertId).map((g) => g.kind),
      ['opened', 'reminder', 'resolved'],
    );
    for (const g of about(alertRef.alertId)) {
      const a = g.body['alert'] as Record<string, unknown>;
      assert.deepEqual(
        [a['cameraId'], a['equipmentId'], a['ruleKey'], a['severity']],
        [cameraId, null, 'camera_offline', 'critical'],
      );
      assert.equal('zoneId' in a, false, 'a camera alert about no zone names none');
    }
    assert.equal((await alert(alertRef.alertId))?.status, 'resolved');
  });
});
