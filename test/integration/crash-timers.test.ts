/**
 * Issue 7's crash test. SIGKILL of the actor node, twice: once while readings stream, once while a unit is silent
 * and its no_data timer is pending (and stays down past the timer's instant). Every reading is
 * stored exactly once, and the alerts — ids, opening and resolving instants — equal those of
 * an uninterrupted run of the same input: the decider run straight through (its equality with
 * a live node is the backtest test's subject).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { backtest, type DeciderRule } from '../../actors/mod.ts';
import { ChildNode } from '../../bench/lib/child.ts';
import { parseAlertRule, type Reading } from '../../schemas/mod.ts';
import { deleteNamespace, ensureSnapshotBucket, ensureStreams, publishReading } from '../../streams/mod.ts';
import { apiFixture, type ApiFixture, type World } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

let fx: ApiFixture;
let W: World;
let child: ChildNode<{ nodeID: string }> | null = null;
const logDir = mkdtempSync(join(tmpdir(), 'vigil-crash-'));

before(async () => {
  fx = await apiFixture();
  W = await fx.world();
  await ensureStreams(fx.deps.jsm, fx.deps.names);
  await ensureSnapshotBucket(fx.deps.js, fx.deps.names);
});

after(async () => {
  await child?.stop();
  await deleteNamespace(fx.deps.jsm, fx.deps.names);
  await fx?.close();
});

const startNode = (n: number): Promise<ChildNode<{ nodeID: string }>> =>
  ChildNode.start<{ nodeID: string }>({
    name: `actor node ${n}`,
    script: 'bench/lib/actor-node.ts',
    env: {
      ...process.env,
      VIGIL_NS: fx.config.VIGIL_NS,
      BENCH_SERVICES: 'equipment,alerts,telemetry-pg',
      LOG_LEVEL: 'warn',
    },
    logFile: join(logDir, `node-${n}.log`),
    readyTimeoutMs: 90_000,
  });

function kill(node: ChildNode<unknown>): void {
  process.kill(node.pid!, 'SIGKILL');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Rules as the API stored them, typed for the decider (sorted by key, as actors load them). */
function parseRules(
  rules: Record<string, { kind: string; params: unknown }>,
  tenantId: string,
): DeciderRule[] {
  return Object.entries(rules)
    .map(([key, r]) => {
      const parsed = parseAlertRule({
        id: '00000000-0000-4000-8000-000000000000',
        tenant_id: tenantId,
        site_id: null,
        equipment_id: null,
        key,
        kind: r.kind,
        name: key,
        params: r.params,
        latched: false,
        enabled: true,
      });
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.rule;
    })
    .sort((a, b) => (a.key < b.key ? -1 : 1));
}

test('SIGKILL while streaming and while a no_data timer is pending: stored once, same alerts as an uninterrupted run', async () => {
  const unit = W.equipment[0];
  const rules = {
    press_hi: {
      kind: 'threshold',
      params: {
        metric: 'pressure',
        op: '>',
        levels: [{ severity: 'critical', value: 20 }],
        for_s: 2,
        clear: { value: 15, for_s: 2 },
      },
    },
    gone_quiet: { kind: 'no_data', params: { levels: [{ severity: 'critical', after_s: 5 }] } },
  };
  for (const [key, r] of Object.entries(rules)) {
    const res = await fx.call(W.admin.token, 'POST', '/v1/alert-rules', { key, equipmentId: unit, ...r });
    assert.equal(res.statusCode, 201, res.body);
  }

  child = await startNode(1);
  const sent: Reading[] = [];
  // Device time is real time: the no_data timer runs on the server's clock.
  const send = async (pressure: number): Promise<void> => {
    const ts = Date.now();
    await publishReading(fx.deps.js, fx.deps.names, W.tenantId, unit, { ts, pressure });
    sent.push({ tenantId: W.tenantId, equipmentId: unit, ts, pressure });
    await sleep(250);
  };
  // A breach held past for_s, killed in the middle of it, and its recovery.
  for (let i = 0; i < 6; i++) await send(10);
  for (let i = 0; i < 6; i++) await send(25);
  kill(child);
  for (let i = 0; i < 10; i++) await send(25);
  child = await startNode(2);
  for (let i = 0; i < 16; i++) await send(10);
  const stored = async (): Promise<number> =>
    (await fx.admin.query('SELECT 1 FROM telemetry WHERE equipment_id = $1', [unit])).rowCount ?? 0;
  await waitFor('readings stored', async () => ((await stored()) === sent.length ? true : undefined), 90_000);
  // Silence: killed with the no_data timer pending, down past its instant.
  const last = sent.at(-1)!.ts;
  await sleep(1000);
  kill(child);
  await sleep(Math.max(0, last + 6000 - Date.now()));
  child = await startNode(3);

  type Row = { id: string; rule_key: string; opened_at: Date; resolved_at: Date | null };
  const alerts = async (): Promise<Row[]> =>
    (
      await fx.admin.query<Row>(
        `SELECT id, rule_key, opened_at, resolved_at FROM alerts
          WHERE equipment_id = $1 AND rule_key = ANY($2) ORDER BY opened_at, rule_key`,
        [unit, Object.keys(rules)],
      )
    ).rows;
  assert.equal(await stored(), sent.length, 'every reading stored exactly once');

  const expected = backtest({
    unit: { tenantId: W.tenantId, siteId: W.sites[0], equipmentId: unit, setpoint: null },
    rules: parseRules(rules, W.tenantId),
    readings: sent,
    until: Date.now(),
  }).events;
  const opened = expected.filter((e) => e.type === 'alert.opened');
  // Every alert the uninterrupted run opened, the killed one opens too (the last one once the
  // restarted node's timer fires); then they must be the same.
  await waitFor(
    'the alerts of the uninterrupted run',
    async () => ((await alerts()).length >= opened.length ? true : undefined),
    90_000,
  );
  const resolvedAt = (id: string) =>
    expected.find((e) => e.type === 'alert.resolved' && e.data.alertId === id)?.ts ?? null;
  assert.deepEqual(
    (await alerts()).map((a) => [a.id, a.rule_key, a.opened_at.getTime(), a.resolved_at?.getTime() ?? null]),
    opened
      .map((e) => [e.data.alertId, e.data.ruleKey, e.data.openedAt, resolvedAt(e.data.alertId)])
      .sort((a, b) => (a[2] as number) - (b[2] as number) || String(a[1]).localeCompare(String(b[1]))),
  );
  // The oracle saw the breach and the final silence (and, since the restart after the first
  // kill paused the sender for the lease timeout, a silence then too).
  assert.ok(opened.some((e) => e.data.ruleKey === 'press_hi'));
  const lastSilence = opened.filter((e) => e.data.ruleKey === 'gone_quiet').at(-1)!;
  assert.equal(lastSilence.data.openedAt, last + 5000, 'opened at the instant the pending timer was due');
  assert.equal(resolvedAt(lastSilence.data.alertId), null);
});
