/**
 * Alert notifications over a real webhook: a local HTTP receiver, the real EVENTS stream and
 * durable consumer, PostgreSQL outbox and timeline. The notifier's clock is the test's own, so
 * retries and reminders are stepped, never waited for.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import {
  Notifier,
  alertIdFor,
  applyAlertEvents,
  verifySignature,
  type NotifierOptions,
} from '../../actors/mod.ts';
import { createPool, type AlertEvent, type Pool } from '../../schemas/mod.ts';
import { deleteNamespace, ensureStreams, publishEvent } from '../../streams/mod.ts';
import { apiFixture, type ApiFixture, type World } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

let fx: ApiFixture;
let W: World;
let worker: Pool;
let notifier: Notifier;
let clock = Date.now();

interface Received {
  body: string;
  signature: string;
  kind: string;
  status: number;
}

/** A webhook receiver that answers `failures` 500s, then 204s (forever 500 when null). */
async function receiver(failures: number | null): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  let failed = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const fail = failures === null || failed < failures;
      if (fail) failed++;
      const status = fail ? 500 : 204;
      got.push({
        body: Buffer.concat(chunks).toString('utf8'),
        signature: String(req.headers['vigil-signature']),
        kind: String(req.headers['vigil-notification']),
        status,
      });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, server };
}

const servers: Server[] = [];

before(async () => {
  fx = await apiFixture();
  W = await fx.world();
  await ensureStreams(fx.deps.jsm, fx.deps.names);
  worker = createPool(fx.config, 'worker', 2);
  // The loops never run on their own here: the test steps them with its clock.
  notifier = steppedNotifier({ deliverEveryMs: 3_600_000, sweepEveryMs: 3_600_000 });
  await notifier.start();
});

/**
 * A notifier on the test's clock that sends only this world's deliveries (other test files'
 * notifiers share the database).
 */
function steppedNotifier(opts: NotifierOptions = {}): Notifier {
  return new Notifier(
    { js: fx.deps.js, jsm: fx.deps.jsm, names: fx.deps.names, log: pino({ level: 'silent' }), worker },
    { maxAttempts: 5, retryBaseMs: 1000, clock: () => clock, tenants: [W.tenantId], ...opts },
  );
}

/** The delivery id and alert id of a received webhook. */
function bodyOf(g: Received): { id: string; alert: { id: string } } {
  return JSON.parse(g.body) as { id: string; alert: { id: string } };
}

after(async () => {
  await notifier?.stop();
  for (const s of servers) s.close();
  await worker?.end();
  await deleteNamespace(fx.deps.jsm, fx.deps.names);
  await fx?.close();
});

async function channel(
  url: string,
  body: Record<string, unknown> = {},
): Promise<{ id: string; secret: string }> {
  const res = await fx.call(W.admin.token, 'POST', '/v1/notification-channels', {
    name: 'hook',
    url,
    ...body,
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ id: string; secret: string }>();
}

function openedEvent(ruleKey: string, openedAt: number): AlertEvent {
  const alertId = alertIdFor(W.equipment[0], ruleKey, openedAt);
  return {
    id: `${alertId}:alert.opened:${openedAt}`,
    type: 'alert.opened',
    tenantId: W.tenantId,
    siteId: W.sites[0],
    ts: openedAt,
    data: {
      alertId,
      equipmentId: W.equipment[0],
      ruleId: null,
      ruleKey,
      severity: 'critical',
      metric: 'temperature',
      value: 9,
      threshold: 8,
      openedAt,
      latched: false,
      suppressed: false,
      message: 'temperature 9 > 8',
    },
  };
}

/**
 * An alert of a fresh rule key opened now (the notifier's clock set to it): stored as the alerts
 * sink would, and published for the notifier's consumer.
 */
async function openAlertNow(): Promise<{ openedAt: number; alertId: string }> {
  const openedAt = Math.floor(Date.now() / 1000) * 1000;
  clock = openedAt;
  const event = openedEvent(`hot_${randomUUID().slice(0, 8)}`, openedAt);
  await applyAlertEvents(worker, [event]);
  await publishEvent(fx.deps.js, fx.deps.names, event);
  return { openedAt, alertId: event.data.alertId };
}

async function deliveries(alertId: string, channelId: string) {
  const r = await fx.admin.query<{ kind: string; status: string; attempts: number }>(
    'SELECT kind, status, attempts FROM notification_deliveries WHERE alert_id = $1 AND channel_id = $2 ORDER BY seq',
    [alertId, channelId],
  );
  return r.rows;
}

/** Send what is due now, then move the clock past the longest retry wait, `rounds` times. */
async function deliverRounds(rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await notifier.deliverDue();
    clock += 20_000;
  }
}

describe('webhook notifications', () => {
  test('signed, retried with backoff to exactly one accepted delivery, reminded until acknowledged, dead after the limit', async () => {
    const flaky = await receiver(3);
    const dead = await receiver(null);
    servers.push(flaky.server, dead.server);
    const good = await channel(flaky.url, { remindEveryS: 60 });
    const bad = await channel(dead.url);
    // Below the channels' default minimum (warning): routed nowhere.
    const quiet = await channel(flaky.url, { minSeverity: 'critical', siteIds: [W.sites[1]] });

    const { openedAt, alertId } = await openAlertNow();
    // The durable consumer turns the event into one delivery per routed channel.
    await waitFor('deliveries enqueued', async () =>
      (await deliveries(alertId, bad.id)).length === 1 ? true : undefined,
    );
    assert.deepEqual(await deliveries(alertId, quiet.id), [], 'another site: not routed');

    // Timing: attempts 1–3 fail (waits 1 s, 2 s, 4 s), the 4th is accepted.
    await deliverRounds(6);
    // The world's own alerts may page this tenant's channels too: look at this alert only.
    const mine = (): Received[] => flaky.got.filter((g) => bodyOf(g).alert.id === alertId);
    const opened = mine().filter((g) => g.kind === 'opened');
    assert.deepEqual(
      opened.map((g) => g.status),
      [500, 500, 500, 204],
    );
    assert.equal(new Set(opened.map((g) => g.body)).size, 1, 'every attempt sends the same body');
    for (const g of opened) {
      const t = Number(/t=(\d+)/.exec(g.signature)?.[1]);
      assert.ok(verifySignature(good.secret, g.body, g.signature, t), 'signature verifies');
      assert.ok(!verifySignature(bad.secret, g.body, g.signature, t), 'not with another secret');
    }
    const body = JSON.parse(opened[0]!.body) as { kind: string; alert: { id: string; severity: string } };
    assert.equal(body.kind, 'opened');
    assert.equal(body.alert.id, alertId);
    assert.deepEqual(await deliveries(alertId, good.id), [
      { kind: 'opened', status: 'delivered', attempts: 4 },
    ]);
    // The channel that never answers: dead after 5 attempts.
    assert.deepEqual(await deliveries(alertId, bad.id), [{ kind: 'opened', status: 'dead', attempts: 5 }]);
    assert.equal(dead.got.length, 5);

    const timeline = await fx.admin.query<{ action: string; data: { channelId: string; attempts: number } }>(
      `SELECT action, data FROM alert_timeline WHERE alert_id = $1 AND action LIKE 'notif%' ORDER BY id`,
      [alertId],
    );
    assert.deepEqual(
      timeline.rows.map((r) => [r.action, r.data.channelId, r.data.attempts]).sort(),
      [
        ['notification_failed', bad.id, 5],
        ['notified', good.id, 4],
      ].sort(),
    );

    // Nothing is sent twice.
    const before = mine().length;
    await deliverRounds(2);
    assert.equal(mine().length, before);

    // Reminders: one per elapsed period while the alert is active.
    clock = openedAt + 61_000;
    await notifier.sweep();
    await notifier.sweep();
    await deliverRounds(1);
    clock = openedAt + 125_000;
    await notifier.sweep();
    await deliverRounds(1);
    assert.deepEqual(
      mine()
        .filter((g) => g.kind === 'reminder')
        .map((g) => (JSON.parse(g.body) as { reminder: number }).reminder),
      [1, 2],
    );

    const ack = await fx.call(W.operator.token, 'POST', `/v1/alerts/${alertId}/ack`, { note: 'on it' });
    assert.equal(ack.statusCode, 200, ack.body);
    clock = openedAt + 600_000;
    await notifier.sweep();
    await deliverRounds(1);
    const kinds = mine()
      .filter((g) => g.status === 204)
      .map((g) => g.kind);
    assert.deepEqual(
      kinds,
      ['opened', 'reminder', 'reminder', 'acknowledged'],
      'reminders stop at acknowledgement',
    );
    const acked = JSON.parse(mine().at(-1)!.body) as { by: string; note: string };
    assert.equal(acked.by, W.operator.id);
    assert.equal(acked.note, 'on it');
  });
});

describe("people's actions", () => {
  test('a resolve by hand is sent through its event, once, before any sweep; the sweep adds nothing; a snooze sends nothing', async () => {
    const hook = await receiver(0);
    servers.push(hook.server);
    const ch = await channel(hook.url);
    const { alertId } = await openAlertNow();
    // A snooze pages nobody: its event passes the notifier by (below: nothing between the two).
    const snooze = await fx.call(W.operator.token, 'POST', `/v1/alerts/${alertId}/snooze`, { minutes: 5 });
    assert.equal(snooze.statusCode, 200, snooze.body);

    const res = await fx.call(W.operator.token, 'POST', `/v1/alerts/${alertId}/resolve`, {
      note: 'compressor restarted',
    });
    assert.equal(res.statusCode, 200, res.body);
    // The sweep never runs on its own here: only the event can have enqueued it.
    await waitFor('resolve enqueued from its event', async () =>
      (await deliveries(alertId, ch.id)).some((d) => d.kind === 'resolved') ? true : undefined,
    );
    await notifier.sweep();
    await deliverRounds(2);
    await notifier.sweep();
    await deliverRounds(1);

    assert.deepEqual(await deliveries(alertId, ch.id), [
      { kind: 'opened', status: 'delivered', attempts: 1 },
      { kind: 'resolved', status: 'delivered', attempts: 1 },
    ]);
    assert.equal(notifier.stats().consumer.rejected, 0, 'the snooze was read, not dead-lettered');
    const got = hook.got.filter((g) => bodyOf(g).alert.id === alertId);
    assert.deepEqual(
      got.map((g) => g.kind),
      ['opened', 'resolved'],
    );
    const resolved = JSON.parse(got[1]!.body) as {
      kind: string;
      by: string;
      note: string;
      alert: { siteId: string };
    };
    assert.deepEqual(
      [resolved.kind, resolved.by, resolved.note, resolved.alert.siteId],
      ['resolved', W.operator.id, 'compressor restarted', W.sites[0]],
    );
  });
});

describe("order of an alert's notices", () => {
  test('notices enqueued in one batch are sent, and listed, in the order they happened, by two notifiers at once', async () => {
    const hook = await receiver(0);
    servers.push(hook.server);
    const ch = await channel(hook.url);
    // The notifier's consumer takes what the stream holds in one batch: under load an opening
    // and the resolve that followed it land in one insert, with one transaction time.
    const openedAt = Math.floor(Date.now() / 1000) * 1000;
    clock = openedAt;
    const events: AlertEvent[] = [];
    const alertIds: string[] = [];
    for (let i = 0; i < 12; i++) {
      const opened = openedEvent(`order_${randomUUID().slice(0, 8)}`, openedAt);
      const resolved: AlertEvent = {
        ...opened,
        id: `${opened.data.alertId}:alert.resolved:${openedAt}`,
        type: 'alert.resolved',
        data: { ...opened.data, message: 'recovered' },
      };
      events.push(opened, resolved);
      alertIds.push(opened.data.alertId);
    }
    await notifier.enqueueEvents(events);
    // Two notifiers (two nodes) send at once, a few rows each per round: one must not send an
    // alert's resolve while the other still holds its opening.
    const other = steppedNotifier();
    const mine = (): Received[] => hook.got.filter((g) => alertIds.includes(bodyOf(g).alert.id));
    for (let round = 0; round < 60 && mine().length < 2 * alertIds.length; round++) {
      await Promise.all([notifier.deliverDue(7), other.deliverDue(7)]);
      clock += 20_000;
    }
    for (const alertId of alertIds) {
      // Webhooks are at least once (a receiver dedupes by delivery id); the order is what counts.
      const seen = new Set<string>();
      const got = hook.got.filter((g) => {
        const b = bodyOf(g);
        if (b.alert.id !== alertId || seen.has(b.id)) return false;
        seen.add(b.id);
        return true;
      });
      assert.deepEqual(
        got.map((g) => g.kind),
        ['opened', 'resolved'],
        `alert ${alertId}: sent in order`,
      );
      assert.deepEqual(
        (await deliveries(alertId, ch.id)).map((d) => d.kind),
        ['opened', 'resolved'],
        `alert ${alertId}: listed in order`,
      );
    }
  });
});

describe('notification channels API', () => {
  test('CRUD for tenant admins; the secret is shown once; others get 403, unknown ids 404', async () => {
    const created = await channel('https://hooks.example.com/a', {
      minSeverity: 'info',
      siteIds: [W.sites[0]],
    });
    assert.ok(created.secret.length >= 32);
    const one = await fx.call(W.admin.token, 'GET', `/v1/notification-channels/${created.id}`);
    assert.equal(one.statusCode, 200, one.body);
    assert.equal(one.json<{ secret?: string }>().secret, undefined, 'never shown again');
    assert.equal(one.json<{ minSeverity: string }>().minSeverity, 'info');
    const patched = await fx.call(W.admin.token, 'PATCH', `/v1/notification-channels/${created.id}`, {
      enabled: false,
      remindEveryS: 300,
    });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.deepEqual(
      [patched.json<{ enabled: boolean }>().enabled, patched.json<{ remindEveryS: number }>().remindEveryS],
      [false, 300],
    );
    const rotated = await fx.call(
      W.admin.token,
      'POST',
      `/v1/notification-channels/${created.id}/rotate-secret`,
    );
    assert.equal(rotated.statusCode, 200, rotated.body);
    assert.notEqual(rotated.json<{ secret: string }>().secret, created.secret);
    const list = await fx.call(W.admin.token, 'GET', '/v1/notification-channels?limit=100');
    assert.ok(list.json<{ items: Array<{ id: string }> }>().items.some((c) => c.id === created.id));
    assert.equal((await fx.call(W.operator.token, 'GET', '/v1/notification-channels')).statusCode, 403);
    const bad = await fx.call(W.admin.token, 'POST', '/v1/notification-channels', {
      name: 'x',
      url: 'ftp://x',
    });
    assert.equal(bad.statusCode, 400);
    const missing = await fx.call(W.admin.token, 'GET', `/v1/notification-channels/${randomUUID()}`);
    assert.equal(missing.statusCode, 404);
    // Another tenant's channel does not exist for this one (RLS).
    const other = await fx.world();
    assert.equal(
      (await fx.call(other.admin.token, 'GET', `/v1/notification-channels/${created.id}`)).statusCode,
      404,
    );
    assert.equal(
      (await fx.call(W.admin.token, 'DELETE', `/v1/notification-channels/${created.id}`)).statusCode,
      204,
    );
  });
});
