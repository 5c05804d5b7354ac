/**
 * The alerts sink against real PostgreSQL: whatever order a unit's alert events arrive in —
 * redelivered after a crash behind the unit's next alert, reversed, batched, duplicated — the
 * stored alerts and timelines end equal to an in-order run, and no row ever holds a clear
 * threshold. (Issue 12, finding 1.) And over real NATS, while such a gap is open, nothing is
 * inferred from it: no alert shows closed before its own resolution arrived. (Finding 4.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { applyAlertEvents, type UnitInfo } from '../../actors/mod.ts';
import { alertsRunner } from '../../actors/sinks/alerts.sink.ts';
import { createLogger, createPool, type AlertEvent, type Pool } from '../../schemas/mod.ts';
import { ensureSnapshotBucket, publishEvent } from '../../streams/mod.ts';
import { alertEventsFor, thresholdRule, TWO_ALERTS } from '../helpers/alert-scenarios.ts';
import { alertOutcomes, type AlertOutcome } from '../helpers/alert-state.ts';
import { natsNamespace } from '../helpers/nats-namespace.ts';
import { waitFor } from '../helpers/wait.ts';

const fx = natsNamespace('alert-sink-order-test');
const config = fx.config;
let admin: Pool;
let worker: Pool;
let tenantId: string;
let siteId: string;
const T0 = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
const CLEAR = 4;

before(async () => {
  admin = createPool(config, 'admin', 2);
  worker = createPool(config, 'worker', 2);
  const slug = `order-${randomBytes(4).toString('hex')}`;
  tenantId = (
    await admin.query<{ id: string }>('INSERT INTO tenants (name, slug) VALUES ($1, $1) RETURNING id', [slug])
  ).rows[0]!.id;
  siteId = (
    await admin.query<{ id: string }>(
      "INSERT INTO sites (tenant_id, name) VALUES ($1, 'order') RETURNING id",
      [tenantId],
    )
  ).rows[0]!.id;
});

after(async () => {
  await admin?.query('DELETE FROM tenants WHERE id = $1', [tenantId]);
  await admin?.end();
  await worker?.end();
});

async function newUnit(): Promise<UnitInfo> {
  const { rows } = await admin.query<{ id: string }>(
    "INSERT INTO equipment (tenant_id, site_id, name, kind) VALUES ($1, $2, 'u', 'chiller') RETURNING id",
    [tenantId, siteId],
  );
  return { tenantId, siteId, equipmentId: rows[0]!.id, setpoint: null };
}

/** A fresh unit's events: two alerts, the first escalating (see TWO_ALERTS). */
async function scenario(): Promise<{ unit: string; events: AlertEvent[] }> {
  const unit = await newUnit();
  return { unit: unit.equipmentId, events: alertEventsFor(unit, thresholdRule(unit), T0, TWO_ALERTS) };
}

/**
 * Apply `batches` one transaction each, as the sink's consumer would: events the sink holds back
 * for a gap come back with the next batch (a nak'd message is redelivered), and after the last
 * one until none is held. After each transaction: no row holds the clear threshold, no alert is
 * closed as superseded, and none shows resolved before its own resolution was stored.
 */
async function deliver(unit: string, batches: AlertEvent[][]): Promise<AlertOutcome[]> {
  let held: AlertEvent[] = [];
  const transaction = async (events: AlertEvent[]): Promise<void> => {
    held = await applyAlertEvents(worker, events);
    for (const a of await alertOutcomes(admin, [unit])) {
      assert.notEqual(a.threshold, CLEAR, `${a.key} holds the clear threshold`);
      const actions = a.timeline.map((t) => t.action);
      assert.ok(!actions.includes('superseded'), `${a.key} closed as superseded`);
      if (a.status === 'resolved') assert.ok(actions.includes('resolved'), `${a.key} closed early`);
    }
  };
  for (const b of batches) await transaction([...held, ...b]);
  for (let round = 1; held.length; round++) {
    assert.ok(round <= 3, `events still held once all have arrived: ${held.map((e) => e.id).join(', ')}`);
    await transaction(held);
  }
  return alertOutcomes(admin, [unit]);
}

let reference: AlertOutcome[];

function pick(events: AlertEvent[], type: AlertEvent['type'], nth: number): AlertEvent {
  const alertIds = [...new Set(events.map((e) => e.data.alertId))];
  const e = events.find((x) => x.type === type && x.data.alertId === alertIds[nth]);
  assert.ok(e, `${type} of alert ${nth}`);
  return e;
}

/** Mulberry32: a seeded shuffle, so a failure names an order that can be replayed. */
function shuffle<T>(xs: readonly T[], seed: number): T[] {
  let a = seed;
  const rnd = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('alerts sink: arrival order changes nothing', () => {
  before(async () => {
    const { unit, events } = await scenario();
    reference = await deliver(
      unit,
      events.map((e) => [e]),
    );
    assert.deepEqual(
      reference.map((a) => [a.status, a.severity, a.threshold, a.timeline.map((t) => t.action)]),
      [
        ['resolved', 'critical', 8, ['opened', 'updated', 'resolved']],
        ['resolved', 'warning', 5, ['opened', 'resolved']],
      ],
    );
  });

  test("a late alert.resolved, redelivered after the unit's next alert, ends as in order with no supersession", async () => {
    const { unit, events } = await scenario();
    const late = pick(events, 'alert.resolved', 0);
    const rest = events.filter((e) => e !== late);
    const out = await deliver(unit, [...rest.map((e) => [e]), [late]]);
    assert.deepEqual(out, reference);
    assert.ok(out.every((a) => a.timeline.every((t) => t.action !== 'superseded')));
  });

  test('an alert row first created from alert.resolved keeps the breach threshold and ends as in order', async () => {
    const { unit, events } = await scenario();
    const resolved = pick(events, 'alert.resolved', 0);
    const out = await deliver(unit, [[resolved], ...events.filter((e) => e !== resolved).map((e) => [e])]);
    assert.deepEqual(out, reference);
  });

  test('reversed, one by one and all at once', async () => {
    const one = await scenario();
    assert.deepEqual(
      await deliver(
        one.unit,
        [...one.events].reverse().map((e) => [e]),
      ),
      reference,
    );
    const all = await scenario();
    assert.deepEqual(await deliver(all.unit, [[...all.events].reverse()]), reference);
  });

  test('shuffled, in batches, with duplicates', async () => {
    for (let seed = 1; seed <= 8; seed++) {
      const { unit, events } = await scenario();
      const order = shuffle([...events, ...events.slice(0, seed % events.length)], seed);
      const batches: AlertEvent[][] = [];
      for (let i = 0; i < order.length; i += 1 + (seed % 3)) batches.push(order.slice(i, i + 1 + (seed % 3)));
      assert.deepEqual(await deliver(unit, batches), reference, `seed ${seed}`);
    }
  });
});

describe("alerts sink over NATS: a gap in a unit's alerts is waited out, never filled by inference", () => {
  test("the unit's next alert arriving before the older one's resolution: no superseded entry, no alert closed early", async () => {
    const inOrder = await scenario();
    const expected = await deliver(
      inOrder.unit,
      inOrder.events.map((e) => [e]),
    );
    const { unit, events } = await scenario();
    const [aOpened, aUpdated, aResolved, bOpened, bResolved] = events;
    assert.deepEqual(
      events.map((e) => [e.type, e.data.alertId === aOpened!.data.alertId ? 'A' : 'B']),
      [
        ['alert.opened', 'A'],
        ['alert.updated', 'A'],
        ['alert.resolved', 'A'],
        ['alert.opened', 'B'],
        ['alert.resolved', 'B'],
      ],
    );
    const runner = alertsRunner({
      config,
      log: createLogger(config, 'alert-sink-order-test'),
      nc: fx.nc,
      js: fx.js,
      jsm: fx.jsm,
      names: fx.names,
      kv: await ensureSnapshotBucket(fx.js, fx.names),
      worker,
    });
    await runner.start();
    try {
      // The shape a crash leaves: the sink's copy of A's resolution was held by the dead node,
      // its republish dropped as a duplicate, so it comes back after B's opening.
      for (const e of [aOpened!, aUpdated!, bOpened!]) await publishEvent(fx.js, fx.names, e);
      await waitFor('the sink handled all three', () => {
        const s = runner.stats();
        return s.processed + s.deferred >= 3;
      });
      assert.ok(runner.stats().deferred >= 1, "B's opening is held back");
      const seen = await alertOutcomes(admin, [unit]);
      assert.deepEqual(
        seen.map((a) => [a.status, a.timeline.map((t) => t.action)]),
        [['active', ['opened', 'updated']]],
        'A stays as its own events left it, and B waits behind it',
      );

      for (const e of [aResolved!, bResolved!]) await publishEvent(fx.js, fx.names, e);
      const superseded = new Set<string>();
      let last: AlertOutcome[] = [];
      await waitFor(
        'the alerts as in order',
        async () => {
          last = await alertOutcomes(admin, [unit]);
          for (const a of last) if (a.timeline.some((t) => t.action === 'superseded')) superseded.add(a.key);
          return isDeepStrictEqual(last, expected);
        },
        30_000,
      ).catch(() => assert.deepEqual(last, expected));
      assert.deepEqual([...superseded], [], 'no alert is ever closed as superseded');
    } finally {
      await runner.stop();
    }
  });
});
