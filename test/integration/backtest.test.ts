/**
 * Backtest against the live engine: readings go through NATS to a real actor node (equipment
 * actors, alert sink, PostgreSQL telemetry sink); then the same rules, as drafts, run through
 * `POST /v1/alert-rules/backtest` over the stored history. Both must raise the same alerts —
 * same ids, same opening and resolving instants — including a timed rule.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { startActorNode, type ActorNode } from '../../actors/mod.ts';
import type { AlertEvent } from '../../schemas/mod.ts';
import { deleteNamespace, ensureSnapshotBucket, publishReading } from '../../streams/mod.ts';
import { apiFixture, type ApiFixture, type World } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

let fx: ApiFixture;
let W: World;
let node: ActorNode | null = null;

const T0 = Math.floor((Date.now() - 40 * 60_000) / 1000) * 1000;
const at = (s: number): number => T0 + s * 1000;

before(async () => {
  fx = await apiFixture();
  W = await fx.world();
  await ensureSnapshotBucket(fx.deps.js, fx.deps.names);
  node = await startActorNode({
    config: fx.config,
    log: pino({ level: 'silent' }),
    nodeID: `${fx.config.VIGIL_NS}-${randomBytes(2).toString('hex')}`,
    services: ['equipment', 'alerts', 'telemetry-pg'],
  });
});

after(async () => {
  await node?.stop();
  await deleteNamespace(fx.deps.jsm, fx.deps.names);
  await fx?.close();
});

const RULES = {
  press_hi: {
    kind: 'threshold',
    params: {
      metric: 'pressure',
      op: '>',
      levels: [
        { severity: 'critical', value: 30 },
        { severity: 'warning', value: 20 },
      ],
      for_s: 60,
      clear: { value: 15, for_s: 60 },
    },
  },
  door_ajar: { kind: 'door_open', params: { levels: [{ severity: 'warning', after_s: 300 }] } },
} as const;

type Row = { id: string; opened_at: Date; resolved_at: Date | null; severity: string };

test('a draft rule over stored history raises exactly the alerts the live engine raised', async () => {
  const unit = W.equipment[1];
  for (const [key, r] of Object.entries(RULES)) {
    const res = await fx.call(W.admin.token, 'POST', '/v1/alert-rules', { key, equipmentId: unit, ...r });
    assert.equal(res.statusCode, 201, res.body);
  }
  // Pressure: breach at 60 s, critical at 180, clears from 300 (resolved at 360); again at 600.
  // Door: open 400–900 (alert at 700, resolved at 900), open 1000–1100 (no alert).
  const script: Array<[number, { pressure?: number; door?: boolean }]> = [
    [0, { pressure: 10, door: false }],
    [60, { pressure: 22 }],
    [120, { pressure: 24 }],
    [180, { pressure: 35 }],
    [300, { pressure: 12 }],
    [360, { pressure: 11 }],
    [400, { door: true }],
    [600, { pressure: 25 }],
    [660, { pressure: 26 }],
    [800, { pressure: 14 }],
    [860, { pressure: 13 }],
    [900, { door: false }],
    [1000, { door: true }],
    [1100, { door: false, pressure: 10 }],
  ];
  for (const [s, fields] of script)
    await publishReading(fx.deps.js, fx.deps.names, W.tenantId, unit, { ts: at(s), ...fields });

  const stored = async (): Promise<number> =>
    (await fx.admin.query('SELECT 1 FROM telemetry WHERE equipment_id = $1', [unit])).rowCount ?? 0;
  await waitFor('every reading stored', async () => ((await stored()) === script.length ? true : undefined));
  const live = async (key: string): Promise<Row[]> =>
    (
      await fx.admin.query<Row>(
        'SELECT id, opened_at, resolved_at, severity FROM alerts WHERE equipment_id = $1 AND rule_key = $2 ORDER BY opened_at',
        [unit, key],
      )
    ).rows;
  const expected = { press_hi: 2, door_ajar: 1 };
  for (const [key, n] of Object.entries(expected)) {
    await waitFor(`live ${key} alerts resolved`, async () => {
      const rows = await live(key);
      return rows.length === n && rows.every((r) => r.resolved_at) ? true : undefined;
    });
  }

  for (const [key, r] of Object.entries(RULES)) {
    const res = await fx.call(W.admin.token, 'POST', '/v1/alert-rules/backtest', {
      rule: { key, ...r },
      equipmentIds: [unit],
      from: new Date(at(-60)).toISOString(),
      to: new Date(at(1200)).toISOString(),
    });
    assert.equal(res.statusCode, 200, res.body);
    const out = res.json<{ alerts: AlertEvent[]; units: Array<{ readings: number; opened: number }> }>();
    assert.equal(out.units[0]!.readings, script.length);
    const fromBacktest = out.alerts
      .filter((e) => e.type === 'alert.opened')
      .map((e) => ({
        id: e.data.alertId,
        openedAt: e.data.openedAt,
        resolvedAt: out.alerts.find((x) => x.type === 'alert.resolved' && x.data.alertId === e.data.alertId)
          ?.ts,
      }));
    const fromLive = (await live(key)).map((row) => ({
      id: row.id,
      openedAt: row.opened_at.getTime(),
      resolvedAt: row.resolved_at?.getTime(),
    }));
    assert.deepEqual(fromBacktest, fromLive, `${key}: backtest equals the live engine`);
    assert.equal(fromLive.length, expected[key as keyof typeof expected]);
  }
});

test('past its bound the backtest answers a clear error', async () => {
  const ids = Array.from({ length: 40 }, () => randomUUID());
  const res = await fx.call(W.admin.token, 'POST', '/v1/alert-rules/backtest', {
    rule: RULES.press_hi,
    equipmentIds: ids,
    from: new Date(at(0)).toISOString(),
    to: new Date(at(3 * 86_400)).toISOString(),
  });
  assert.equal(res.statusCode, 400, res.body);
  const err = res.json<{ error: { code: string; message: string } }>().error;
  assert.equal(err.code, 'BACKTEST_TOO_LARGE');
  assert.match(err.message, /40 units × 3\.00 days = 120\.0 unit-days; at most 93/);
  const bad = await fx.call(W.admin.token, 'POST', '/v1/alert-rules/backtest', {
    rule: { kind: 'threshold', params: { metric: 'pressure' } },
    equipmentIds: [W.equipment[0]],
    from: new Date(at(0)).toISOString(),
    to: new Date(at(60)).toISOString(),
  });
  assert.equal(bad.json<{ error: { code: string } }>().error.code, 'VALIDATION_FAILED');
});
