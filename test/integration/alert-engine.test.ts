/**
 * The alert engine end to end through the real API and a real actor node (equipment actors +
 * alert sink) in a namespace of its own: acknowledging latched alerts, manual resolve, a
 * person's action on every dashboard's live stream, maintenance suppression, every rule kind accepted and a timed one evaluated, and a stale open alert an actor
 * forgot.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { alertIdFor, applyAlertEvents, startActorNode, type ActorNode } from '../../actors/mod.ts';
import {
  DECIDER_KINDS,
  createPool,
  type AlertActionEvent,
  type AlertEvent,
  type Logger,
  type Pool,
} from '../../schemas/mod.ts';
import {
  deleteNamespace,
  ensureSnapshotBucket,
  publishEvent,
  publishReading,
  telemetryPartition,
} from '../../streams/mod.ts';
import { apiFixture, type ApiFixture, type World } from '../helpers/app.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { waitFor } from '../helpers/wait.ts';

let fx: ApiFixture;
let W: World;
let node: ActorNode | null = null;
let worker: Pool;

/** Every line the actor node logs, parsed: some outcomes are only visible there. */
const logLines: Array<Record<string, unknown>> = [];
const log: Logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(JSON.parse(line));
      done();
    },
  }),
);

// Device time: a recent past hour, so every reading is well inside the accepted range.
const T0 = Math.floor((Date.now() - 50 * 60_000) / 1000) * 1000;
const at = (s: number): number => T0 + s * 1000;

const startNode = (): Promise<ActorNode> =>
  startActorNode({
    config: fx.config,
    log,
    nodeID: `${fx.config.VIGIL_NS}-${randomBytes(2).toString('hex')}`,
    services: ['equipment', 'alerts'],
  });

before(async () => {
  fx = await apiFixture();
  W = await fx.world();
  worker = createPool(fx.config, 'worker', 2);
  node = await startNode();
});

after(async () => {
  await node?.stop();
  await worker?.end();
  await deleteNamespace(fx.deps.jsm, fx.deps.names);
  await fx?.close();
});

async function newUnit(): Promise<string> {
  const res = await fx.call(W.admin.token, 'POST', '/v1/equipment', {
    siteId: W.sites[0],
    name: `unit-${randomBytes(3).toString('hex')}`,
    kind: 'freezer',
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ equipment: { id: string } }>().equipment.id;
}

/** A pressure rule on one unit (pressure: the world's temperature rules never see it). */
async function pressureRule(equipmentId: string, key: string, latched: boolean): Promise<void> {
  const res = await fx.call(W.admin.token, 'POST', '/v1/alert-rules', {
    key,
    kind: 'threshold',
    equipmentId,
    latched,
    params: {
      metric: 'pressure',
      op: '>',
      levels: [{ severity: 'critical', value: 20 }],
      for_s: 0,
      clear: { value: 15, for_s: 0 },
    },
  });
  assert.equal(res.statusCode, 201, res.body);
}

async function send(equipmentId: string, s: number, pressure: number): Promise<void> {
  await publishReading(fx.deps.js, fx.deps.names, W.tenantId, equipmentId, { ts: at(s), pressure });
}

interface AlertRow {
  id: string;
  status: string;
  suppressed: boolean;
  opened_at: Date;
}

async function alertsOf(equipmentId: string, ruleKey: string): Promise<AlertRow[]> {
  const r = await fx.admin.query<AlertRow>(
    `SELECT id, status, suppressed, opened_at FROM alerts WHERE equipment_id = $1 AND rule_key = $2
      ORDER BY opened_at`,
    [equipmentId, ruleKey],
  );
  return r.rows;
}

async function timeline(alertId: string): Promise<string[]> {
  const r = await fx.admin.query<{ action: string }>(
    'SELECT action FROM alert_timeline WHERE alert_id = $1 ORDER BY id',
    [alertId],
  );
  return r.rows.map((x) => x.action);
}

/** The unit's partition consumer has handled, committed and acked everything published so far. */
async function actorIdle(equipmentId: string): Promise<boolean> {
  const p = telemetryPartition(W.tenantId, equipmentId, fx.config.VIGIL_PARTITIONS);
  const info = await fx.deps.jsm.consumers.info(
    fx.deps.names.telemetry.stream,
    fx.deps.names.consumer(`equipment_p${p}`),
  );
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

describe('latched alerts and people', () => {
  test('acknowledged while in breach, a latched alert resolves when it clears; the next breach is a new alert', async () => {
    const unit = await newUnit();
    await pressureRule(unit, 'press_latch', true);
    await send(unit, 0, 25);
    const [opened] = await waitFor('alert opened', async () => {
      const rows = await alertsOf(unit, 'press_latch');
      return rows.length === 1 ? rows : undefined;
    });
    const ack = await fx.call(W.operator.token, 'POST', `/v1/alerts/${opened!.id}/ack`, {});
    assert.equal(ack.statusCode, 200, ack.body);
    assert.equal(ack.json<{ status: string }>().status, 'acknowledged', 'still in breach: stays open');

    await send(unit, 10, 10);
    await waitFor('acknowledged latched alert resolved on clear', async () => {
      const rows = await alertsOf(unit, 'press_latch');
      return rows[0]?.status === 'resolved';
    });
    assert.deepEqual((await timeline(opened!.id)).slice(-1), ['resolved']);

    await send(unit, 20, 25);
    const rows = await waitFor('a new alert for the new breach', async () => {
      const r = await alertsOf(unit, 'press_latch');
      return r.length === 2 ? r : undefined;
    });
    assert.deepEqual(
      rows.map((r) => r.status),
      ['resolved', 'active'],
    );
    assert.equal(rows[1]!.opened_at.getTime(), at(20));
  });

  test('resolved by hand while in breach: the actor forgets it, and the breach opens a new alert', async () => {
    const unit = await newUnit();
    await pressureRule(unit, 'press_latch', true);
    await send(unit, 0, 25);
    const [first] = await waitFor('alert opened', async () => {
      const rows = await alertsOf(unit, 'press_latch');
      return rows.length === 1 ? rows : undefined;
    });
    const resolved = await fx.call(W.operator.token, 'POST', `/v1/alerts/${first!.id}/resolve`, {
      note: 'sensor replaced',
    });
    assert.equal(resolved.statusCode, 200, resolved.body);
    // The control message and the readings race: keep the breach going until the actor has it.
    let s = 10;
    const rows = await waitFor('a new alert', async () => {
      await send(unit, (s += 10), 25);
      const r = await alertsOf(unit, 'press_latch');
      return r.length === 2 ? r : undefined;
    });
    assert.deepEqual(
      rows.map((r) => r.status),
      ['resolved', 'active'],
    );
  });
});

/** The alerts sink has written everything on EVENTS so far. */
async function sinkIdle(): Promise<boolean> {
  const info = await fx.deps.jsm.consumers.info(
    fx.deps.names.events.stream,
    fx.deps.names.consumer('alerts_pg'),
  );
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

describe("a person's action on every dashboard's live stream", () => {
  let base: string;
  const streams: SseClient[] = [];

  before(async () => {
    await fx.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(fx.app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const s of streams) await s.close();
  });

  async function watch(token: string): Promise<SseClient> {
    const client = await SseClient.open(`${base}/v1/stream?kind=alert`, { token, requireOk: true });
    streams.push(client);
    // The retry hint is written once the consumer exists: nothing published after it is missed.
    await client.until('retry hint', (c) => c.frames.length > 0);
    return client;
  }

  const actions = (c: SseClient): AlertActionEvent[] =>
    c.events
      .filter(
        (f) => f.event === 'alert.acknowledged' || f.event === 'alert.closed' || f.event === 'alert.snoozed',
      )
      .map((f) => JSON.parse(f.data!) as AlertActionEvent);
  const about = (c: SseClient, alertId: string): string[] =>
    actions(c)
      .filter((e) => e.data.alertId === alertId)
      .map((e) => e.type);

  test('acknowledge and resolve by hand reach the other dashboards of the tenant and its site, no other tenant', async () => {
    const other = await fx.world();
    // Same tenant, not the one acting; one of them sees only the first site; another tenant.
    const mate = await watch(W.viewer.token);
    const north = await watch(W.siteViewer.token);
    const stranger = await watch(other.viewer.token);
    const [northAlert, southAlert] = W.alerts;

    for (const alertId of [southAlert, northAlert]) {
      const ack = await fx.call(W.operator.token, 'POST', `/v1/alerts/${alertId}/ack`, { note: 'looking' });
      assert.equal(ack.statusCode, 200, ack.body);
      const res = await fx.call(W.operator.token, 'POST', `/v1/alerts/${alertId}/resolve`, {
        note: 'door seal replaced',
      });
      assert.equal(res.statusCode, 200, res.body);
    }
    // The other tenant's own action comes last on EVENTS: once its dashboard has it, it has been
    // offered everything published before.
    const theirs = await fx.call(other.operator.token, 'POST', `/v1/alerts/${other.alerts[0]}/ack`, {});
    assert.equal(theirs.statusCode, 200, theirs.body);

    await mate.until('both alerts acknowledged and closed', (c) =>
      [northAlert, southAlert].every((a) => about(c, a).length === 2),
    );
    for (const alertId of [northAlert, southAlert]) {
      assert.deepEqual(about(mate, alertId), ['alert.acknowledged', 'alert.closed']);
    }
    const [acked, closed] = actions(mate).filter((e) => e.data.alertId === northAlert);
    assert.deepEqual(
      [
        acked!.tenantId,
        acked!.siteId,
        acked!.data.equipmentId,
        acked!.data.status,
        acked!.data.by,
        acked!.data.note,
      ],
      [W.tenantId, W.sites[0], W.equipment[0], 'acknowledged', W.operator.id, 'looking'],
    );
    assert.deepEqual(
      [closed!.siteId, closed!.data.status, closed!.data.by, closed!.data.note],
      [W.sites[0], 'resolved', W.operator.id, 'door seal replaced'],
    );

    await north.until('the first site closed', (c) => about(c, northAlert).length === 2);
    assert.deepEqual(about(north, southAlert), [], 'the other site is not shown to a site-restricted user');

    await stranger.until('its own acknowledgement', (c) => about(c, other.alerts[0]).length === 1);
    assert.deepEqual(
      actions(stranger).map((e) => e.tenantId),
      [other.tenantId],
      'nothing of another tenant',
    );

    // The event's id is its timeline entry's: published again, the stream keeps one copy.
    assert.equal((await publishEvent(fx.deps.js, fx.deps.names, closed!)).duplicate, true);
    // The alerts sink has read them, and the timeline holds each action once.
    await waitFor('alerts sink caught up', sinkIdle);
    assert.deepEqual((await timeline(northAlert)).slice(1), ['acknowledged', 'resolved']);
    const entries = await fx.call(W.viewer.token, 'GET', `/v1/alerts/${northAlert}/timeline`);
    assert.deepEqual(
      entries
        .json<{ items: Array<{ id: number; action: string }> }>()
        .items.filter((x) => x.action !== 'opened')
        .map((x) => x.id),
      [acked!.data.timelineId, closed!.data.timelineId],
    );
  });

  test('a latched alert released by its acknowledgement is closed on the other dashboards', async () => {
    const mate = await watch(W.viewer.token);
    const unit = await newUnit();
    await pressureRule(unit, 'press_latch', true);
    await send(unit, 0, 25);
    await send(unit, 10, 10);
    const [latched] = await waitFor('alert latched after its condition cleared', async () => {
      const r = await fx.admin.query<{ id: string }>(
        `SELECT id FROM alerts WHERE equipment_id = $1 AND cleared_at IS NOT NULL AND status = 'active'`,
        [unit],
      );
      return r.rows.length === 1 ? r.rows : undefined;
    });
    const ack = await fx.call(W.operator.token, 'POST', `/v1/alerts/${latched!.id}/ack`, {});
    assert.equal(ack.statusCode, 200, ack.body);
    assert.equal(ack.json<{ status: string }>().status, 'resolved');
    await mate.until('acknowledged and closed', (c) => about(c, latched!.id).length === 2);
    assert.deepEqual(about(mate, latched!.id), ['alert.acknowledged', 'alert.closed']);
    assert.deepEqual(
      actions(mate)
        .filter((e) => e.data.alertId === latched!.id)
        .map((e) => e.data.status),
      ['resolved', 'resolved'],
    );
  });

  test('a snooze reaches the other dashboards as alert.snoozed, with the time reminders resume', async () => {
    const mate = await watch(W.viewer.token);
    const unit = await newUnit();
    await pressureRule(unit, 'press_snooze', false);
    await send(unit, 0, 25);
    const [open] = await waitFor('alert open', async () => {
      const r = await fx.admin.query<{ id: string }>(
        `SELECT id FROM alerts WHERE equipment_id = $1 AND status = 'active'`,
        [unit],
      );
      return r.rows.length === 1 ? r.rows : undefined;
    });
    const res = await fx.call(W.operator.token, 'POST', `/v1/alerts/${open!.id}/snooze`, {
      minutes: 30,
      note: 'night shift',
    });
    assert.equal(res.statusCode, 200, res.body);
    const until = Date.parse(res.json<{ snoozedUntil: string }>().snoozedUntil);
    await mate.until('snoozed', (c) => about(c, open!.id).length === 1);
    const [snoozed] = actions(mate).filter((e) => e.data.alertId === open!.id);
    assert.deepEqual(
      [snoozed!.type, snoozed!.data.status, snoozed!.data.snoozedUntil, snoozed!.data.by, snoozed!.data.note],
      ['alert.snoozed', 'active', until, W.operator.id, 'night shift'],
    );
    // The alerts sink reads it as an action already written: the timeline holds it once.
    await waitFor('alerts sink caught up', sinkIdle);
    assert.deepEqual(await timeline(open!.id), ['opened', 'snoozed']);
  });
});

describe('maintenance windows', () => {
  async function window(equipmentId: string, fromS: number, toS: number): Promise<void> {
    const res = await fx.call(W.operator.token, 'POST', '/v1/maintenance', {
      equipmentId,
      kind: 'repair',
      performedAt: new Date(at(fromS)).toISOString(),
      windowStart: new Date(at(fromS)).toISOString(),
      windowEnd: new Date(at(toS)).toISOString(),
    });
    assert.equal(res.statusCode, 201, res.body);
  }

  test('an alert opened in a window is recorded, published and flagged suppressed; one after it is not', async () => {
    const unit = await newUnit();
    await pressureRule(unit, 'press_hi', false);
    await window(unit, 0, 600);
    await send(unit, 300, 25);
    const [inWindow] = await waitFor('alert opened in the window', async () => {
      const rows = await alertsOf(unit, 'press_hi');
      return rows.length === 1 ? rows : undefined;
    });
    assert.equal(inWindow!.suppressed, true);
    await send(unit, 360, 10);
    await send(unit, 900, 25);
    const rows = await waitFor('second alert, after the window', async () => {
      const r = await alertsOf(unit, 'press_hi');
      return r.length === 2 ? r : undefined;
    });
    assert.deepEqual(
      rows.map((r) => [r.status, r.suppressed]),
      [
        ['resolved', true],
        ['active', false],
      ],
    );
  });

  test('a window recorded while the actor is live applies at once (ctl.maintenance.changed)', async () => {
    const unit = await newUnit();
    await pressureRule(unit, 'press_hi', false);
    await send(unit, 0, 10);
    await waitFor('actor live and idle', () => actorIdle(unit));
    await window(unit, 1200, 1800);
    await waitFor('the actor reloaded its windows', async () =>
      logLines.some((l) => l['msg'] === 'maintenance windows reloaded' && l['equipmentId'] === unit),
    );
    await send(unit, 1500, 25);
    const [alert] = await waitFor('alert opened', async () => {
      const rows = await alertsOf(unit, 'press_hi');
      return rows.length === 1 ? rows : undefined;
    });
    assert.equal(alert!.suppressed, true);
  });
});

describe('rule kinds', () => {
  test('the API accepts every kind the engine evaluates, and the engine evaluates every kind', async () => {
    assert.deepEqual([...DECIDER_KINDS].sort(), [
      'defrost_overrun',
      'door_open',
      'no_data',
      'rate',
      'threshold',
      'unattended_door',
    ]);
    const unit = await newUnit();
    const levels = [{ severity: 'warning', after_s: 300 }];
    const bodies = {
      no_data: { levels, schedule: { windows: [{ days: ['mon', 'fri'], from: '22:00', to: '06:00' }] } },
      door_open: { levels, clear_for_s: 30 },
      defrost_overrun: { levels },
      rate: {
        metric: 'temperature',
        direction: 'rising',
        window_s: 600,
        levels: [{ severity: 'warning', per_min: 0.5 }],
        for_s: 0,
      },
      unattended_door: { levels, clear_for_s: 10 },
    };
    for (const [kind, params] of Object.entries(bodies)) {
      const res = await fx.call(W.admin.token, 'POST', '/v1/alert-rules', {
        key: `k_${kind}`,
        kind,
        equipmentId: unit,
        params,
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json<{ kind: string }>().kind, kind);
    }
  });

  test('a door left open raises door_open at open + after_s, and closing it resolves the alert', async () => {
    const unit = await newUnit();
    const res = await fx.call(W.admin.token, 'POST', '/v1/alert-rules', {
      key: 'door_ajar',
      kind: 'door_open',
      equipmentId: unit,
      params: { levels: [{ severity: 'warning', after_s: 300 }] },
    });
    assert.equal(res.statusCode, 201, res.body);
    const door = (s: number, open: boolean) =>
      publishReading(fx.deps.js, fx.deps.names, W.tenantId, unit, { ts: at(s), door: open });
    await door(0, true);
    await door(400, true);
    const [opened] = await waitFor('door alert opened', async () => {
      const rows = await alertsOf(unit, 'door_ajar');
      return rows.length === 1 ? rows : undefined;
    });
    assert.equal(opened!.opened_at.getTime(), at(300), 'stamped with the instant, not the reading');
    assert.equal(opened!.id, alertIdFor(unit, 'door_ajar', at(300)));
    await door(500, false);
    await waitFor(
      'door alert resolved',
      async () => (await alertsOf(unit, 'door_ajar'))[0]?.status === 'resolved',
    );
  });
});

describe('server-time timers', () => {
  test('a unit that goes silent raises no_data with no reading to trigger it, stamped at last reading + after_s', async () => {
    const unit = await newUnit();
    const res = await fx.call(W.admin.token, 'POST', '/v1/alert-rules', {
      key: 'gone_quiet',
      kind: 'no_data',
      equipmentId: unit,
      params: { levels: [{ severity: 'critical', after_s: 2 }] },
    });
    assert.equal(res.statusCode, 201, res.body);
    // Device time is now: the timer is due two seconds of server time after the last reading.
    const last = Math.floor(Date.now() / 1000) * 1000;
    await publishReading(fx.deps.js, fx.deps.names, W.tenantId, unit, { ts: last, temperature: -18 });
    const [opened] = await waitFor('no_data alert opened by the timer', async () => {
      const rows = await alertsOf(unit, 'gone_quiet');
      return rows.length === 1 ? rows : undefined;
    });
    assert.equal(opened!.opened_at.getTime(), last + 2000);
    assert.equal(opened!.id, alertIdFor(unit, 'gone_quiet', last + 2000));
    await publishReading(fx.deps.js, fx.deps.names, W.tenantId, unit, { ts: Date.now(), temperature: -18 });
    await waitFor(
      'resolved when data returns',
      async () => (await alertsOf(unit, 'gone_quiet'))[0]?.status === 'resolved',
    );
  });
});

describe('an open alert the actor forgot', () => {
  test('an unreadable snapshot is logged loudly, and the next alert supersedes the stale one', async () => {
    const unit = await newUnit();
    await pressureRule(unit, 'press_hi', false);
    await send(unit, 0, 25);
    const [stale] = await waitFor('first alert', async () => {
      const rows = await alertsOf(unit, 'press_hi');
      return rows.length === 1 ? rows : undefined;
    });
    await waitFor('snapshot committed', () => actorIdle(unit));
    await node!.stop();
    node = null;
    const kv = await ensureSnapshotBucket(fx.deps.js, fx.deps.names);
    await kv.put(`eq.${unit}`, 'not json {');
    node = await startNode();

    await send(unit, 60, 26);
    const rows = await waitFor('second alert opened, first superseded', async () => {
      const r = await alertsOf(unit, 'press_hi');
      return r.length === 2 && r[0]!.status === 'resolved' ? r : undefined;
    });
    assert.equal(rows[0]!.id, stale!.id);
    assert.equal(rows[1]!.status, 'active');
    assert.deepEqual(await timeline(stale!.id), ['opened', 'superseded']);
    const loud = logLines.find(
      (l) =>
        l['equipmentId'] === unit && l['level'] === 50 && /UNREADABLE ACTOR SNAPSHOT/.test(String(l['msg'])),
    );
    assert.ok(loud, 'an error-level log line names the unit');
    assert.ok(((await node.health()).equipment?.unreadableSnapshots ?? 0) >= 1);
  });

  test('an older alert arriving after a newer open one is recorded closed, never dead-lettered', async () => {
    const unit = await newUnit();
    const event = (type: AlertEvent['type'], openedAt: number): AlertEvent => {
      const alertId = alertIdFor(unit, 'press_hi', openedAt);
      return {
        id: `${alertId}:${type}:${openedAt}`,
        type,
        tenantId: W.tenantId,
        siteId: W.sites[0],
        ts: openedAt,
        data: {
          alertId,
          equipmentId: unit,
          ruleId: null,
          ruleKey: 'press_hi',
          severity: 'critical',
          metric: 'pressure',
          value: 25,
          threshold: 20,
          openedAt,
          latched: false,
          suppressed: false,
          message: 'pressure 25 > 20',
        },
      };
    };
    const newer = event('alert.opened', at(600));
    const older = event('alert.opened', at(0));
    await applyAlertEvents(worker, [newer]);
    // The sink first holds it back, waiting for its resolution (alert-sink-order.test.ts); this
    // is what it does once the hold has run out and the resolution never came.
    assert.deepEqual(await applyAlertEvents(worker, [older]), [older]);
    await applyAlertEvents(worker, [older], { mayHold: () => false });
    const rows = await alertsOf(unit, 'press_hi');
    assert.deepEqual(
      rows.map((r) => [r.id, r.status]),
      [
        [older.data.alertId, 'resolved'],
        [newer.data.alertId, 'active'],
      ],
    );
    assert.deepEqual(await timeline(older.data.alertId), ['opened', 'superseded']);
    // Redelivered: nothing changes.
    await applyAlertEvents(worker, [older, newer]);
    assert.equal((await timeline(older.data.alertId)).length, 2);
    assert.equal((await timeline(newer.data.alertId)).length, 1);
  });
});
