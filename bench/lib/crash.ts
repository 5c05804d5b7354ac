/**
 * The crash scenario of issue 12, shared by the CI-sized test (test/integration/crash.test.ts)
 * and the long bench (bench/crash.bench.ts): units with one threshold rule, readings with
 * unique ids, an actor node in a child process SIGKILLed at several points, restarted — and
 * the same input through an uninterrupted node for reference.
 *
 * Kill points, in this order: live, with units mid-pending (the node has handled every
 * reading, its last commit is up to a second behind); during recovery (the restarted node is
 * serving and replaying the tail the first one never committed, its sinks holding nothing
 * yet stored); during a backlog replay (readings published while no node ran, about half
 * handled). After the last restart the rest of the input is published live.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { chSql, type Config, type Pool, type ThresholdParams } from '../../schemas/mod.ts';
import {
  ensureSnapshotBucket,
  names as namesFor,
  publishReading,
  type JetStreamClient,
  type ConsumerStats,
  type JetStreamManager,
  type Names,
} from '../../streams/mod.ts';
import type { ActorNodeReady } from './actor-node.ts';
import { ChildNode, type LoopDelay } from './child.ts';
import { sinceSpawn } from './start-phases.ts';
import { InFlightWindow } from './window.ts';

export interface CrashReading {
  unit: number;
  ts: number;
  temperature: number;
}

/** Warning above 8 °C, critical above 10 °C, held 30 s; clear at or below 5 °C held 20 s. */
export const CRASH_RULE: ThresholdParams = {
  metric: 'temperature',
  op: '>',
  levels: [
    { severity: 'critical', value: 10 },
    { severity: 'warning', value: 8 },
  ],
  for_s: 30,
  clear: { value: 5, for_s: 20 },
};

/**
 * Readings every 10 s of device time, round robin over the units: each unit swings through
 * breaches (some short enough to stay pending), escalations and recoveries on its own period.
 */
export function crashInput(units: number, perUnit: number, t0: number): CrashReading[] {
  const out: CrashReading[] = [];
  for (let i = 0; i < perUnit; i++) {
    for (let u = 0; u < units; u++) out.push(crashReading(u, i, t0));
  }
  return out;
}

/** Reading `i` of unit `u` (see crashInput); the fault harness draws its steady load from it. */
export function crashReading(u: number, i: number, t0: number): CrashReading {
  const period = 12 + ((u * 7) % 23);
  const phase = (u * 1.7) % (2 * Math.PI);
  const wobble = ((i * 31 + u * 17) % 11) / 10 - 0.5;
  const temperature = Math.round((6.5 + 5 * Math.sin((2 * Math.PI * i) / period + phase) + wobble) * 10) / 10;
  return { unit: u, ts: t0 + i * 10_000, temperature };
}

export interface CrashTenant {
  tenantId: string;
  siteId: string;
  units: string[];
}

export async function seedCrashTenant(admin: Pool, label: string, units: number): Promise<CrashTenant> {
  const t = await admin.query<{ id: string }>(
    'INSERT INTO tenants (name, slug) VALUES ($1, $1) RETURNING id',
    [label],
  );
  const tenantId = t.rows[0]!.id;
  const s = await admin.query<{ id: string }>(
    "INSERT INTO sites (tenant_id, name) VALUES ($1, 'crash') RETURNING id",
    [tenantId],
  );
  const siteId = s.rows[0]!.id;
  const u = await admin.query<{ id: string }>(
    `INSERT INTO equipment (tenant_id, site_id, name, kind)
     SELECT $1, $2, 'unit ' || g, 'chiller' FROM generate_series(1, $3::int) g ORDER BY g RETURNING id`,
    [tenantId, siteId, units],
  );
  await admin.query(
    `INSERT INTO alert_rules (tenant_id, key, kind, name, params)
     VALUES ($1, 'high_temp', 'threshold', 'High temperature', $2)`,
    [tenantId, JSON.stringify(CRASH_RULE)],
  );
  return { tenantId, siteId, units: u.rows.map((r) => r.id) };
}

export async function dropCrashTenant(admin: Pool, tenantId: string): Promise<void> {
  await admin.query('DELETE FROM telemetry WHERE tenant_id = $1', [tenantId]);
  await admin.query('DELETE FROM tenants WHERE id = $1', [tenantId]);
}

export interface CrashEnv {
  config: Config;
  js: JetStreamClient;
  jsm: JetStreamManager;
  admin: Pool;
  ch: ClickHouseClient;
  logDir: string;
  /** Publishes in flight. */
  window?: number;
  /** Pause between a kill and the restart. */
  restartDelayMs?: number;
  /** Pace publishing at this many readings/s (default: as fast as PubAcks return). */
  rate?: number;
  progress?: (line: string) => void;
}

type Node = ChildNode<ActorNodeReady>;

let started = 0;

async function startNode(env: CrashEnv, ns: string, label: string): Promise<Node> {
  mkdirSync(env.logDir, { recursive: true });
  return ChildNode.start<ActorNodeReady>({
    name: `actor node ${label}`,
    script: 'bench/lib/actor-node.ts',
    // Bundled: a restarted node does not spend its first seconds transpiling (see bundled()).
    bundle: process.env['BENCH_TSX'] !== '1',
    env: {
      ...process.env,
      VIGIL_NS: ns,
      LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'warn',
      // Every restart is the same node coming back: it reclaims its own partition leases.
      BENCH_NODE_ID: `${ns}-actor`,
    },
    logFile: join(env.logDir, `${ns}-${label}-${++started}.log`),
    readyTimeoutMs: 90_000,
  });
}

async function publish(
  env: CrashEnv,
  names: Names,
  tenant: CrashTenant,
  readings: readonly CrashReading[],
): Promise<void> {
  const window = new InFlightWindow(env.window ?? 500);
  const start = performance.now();
  let sent = 0;
  for (const r of readings) {
    if (window.full) await window.room();
    if (env.rate && ++sent % 100 === 0) {
      const due = start + (sent / env.rate) * 1000 - performance.now();
      if (due > 0) await sleep(due);
    }
    window.start(() =>
      publishReading(env.js, names, tenant.tenantId, tenant.units[r.unit]!, {
        ts: r.ts,
        temperature: r.temperature,
      }),
    );
  }
  await window.drain();
}

async function until(what: string, probe: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  // A JetStream API request that times out on a loaded machine is a probe to repeat.
  const look = (): Promise<boolean> =>
    probe().catch((err: unknown) => {
      if (err instanceof Error && err.name === 'TimeoutError') return false;
      throw err;
    });
  while (!(await look())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface ConsumerState {
  name: string;
  pending: number;
  ackPending: number;
}

async function consumers(env: CrashEnv, names: Names): Promise<ConsumerState[]> {
  const out: ConsumerState[] = [];
  for (const stream of [names.telemetry.stream, names.events.stream]) {
    for await (const c of env.jsm.consumers.list(stream)) {
      // The listing can hold null entries (seen mid-run on a loaded server): skipped, not fatal.
      if (c) out.push({ name: c.name, pending: c.num_pending, ackPending: c.num_ack_pending });
    }
  }
  return out;
}

/** Every equipment partition consumer has been delivered everything (handled, maybe uncommitted). */
async function equipmentCaughtUp(env: CrashEnv, names: Names): Promise<boolean> {
  const cs = (await consumers(env, names)).filter((c) => c.name.includes('equipment_p'));
  return cs.length === env.config.VIGIL_PARTITIONS && cs.every((c) => c.pending === 0);
}

async function equipmentPending(env: CrashEnv, names: Names): Promise<number> {
  return (await consumers(env, names))
    .filter((c) => c.name.includes('equipment_p'))
    .reduce((n, c) => n + c.pending, 0);
}

export async function idle(env: CrashEnv, names: Names): Promise<boolean> {
  const cs = await consumers(env, names);
  return cs.length > 0 && cs.every((c) => c.pending === 0 && c.ackPending === 0);
}

export async function pgReadings(admin: Pool, tenant: CrashTenant): Promise<Array<[number, number, number]>> {
  const r = await admin.query<{ equipment_id: string; ts: Date; temperature: number }>(
    'SELECT equipment_id, ts, temperature FROM telemetry WHERE tenant_id = $1',
    [tenant.tenantId],
  );
  return r.rows
    .map((x): [number, number, number] => [
      tenant.units.indexOf(x.equipment_id),
      x.ts.getTime(),
      x.temperature,
    ])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

/** Rows after FINAL (one per reading), and rows before it (duplicates not merged yet count). */
export async function chReadings(
  ch: ClickHouseClient,
  tenant: CrashTenant,
): Promise<{ rows: Array<[number, number, number]>; raw: number }> {
  const q = await ch.query({
    query: chSql`SELECT equipment_id, ts_ms, temperature FROM telemetry FINAL WHERE tenant_id = ${tenant.tenantId}`,
    format: 'JSONEachRow',
  });
  const rows = (await q.json<{ equipment_id: string; ts_ms: string | number; temperature: number }>())
    .map((x): [number, number, number] => [
      tenant.units.indexOf(x.equipment_id),
      Number(x.ts_ms),
      x.temperature,
    ])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const c = await ch.query({
    query: chSql`SELECT count() AS n FROM telemetry WHERE tenant_id = ${tenant.tenantId}`,
    format: 'JSONEachRow',
  });
  const raw = Number((await c.json<{ n: string | number }>())[0]?.n ?? 0);
  return { rows, raw };
}

export async function stored(env: CrashEnv, tenant: CrashTenant, count: number): Promise<boolean> {
  const pg = await env.admin.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM telemetry WHERE tenant_id = $1',
    [tenant.tenantId],
  );
  if ((pg.rows[0]?.n ?? 0) < count) return false;
  const c = await env.ch.query({
    query: chSql`SELECT uniqExact(equipment_id, ts_ms) AS n FROM telemetry WHERE tenant_id = ${tenant.tenantId}`,
    format: 'JSONEachRow',
  });
  return Number((await c.json<{ n: string | number }>())[0]?.n ?? 0) >= count;
}

/** Call `watch` about every 250 ms until the returned function is called (and awaited). */
function watchEvery(watch: (() => Promise<void>) | undefined): () => Promise<void> {
  let done = false;
  const loop = (async (): Promise<void> => {
    while (!done) {
      await watch?.();
      await sleep(250);
    }
  })();
  return async () => {
    done = true;
    await loop;
  };
}

/** The uninterrupted run: one node, every reading, until every consumer is idle. */
export async function runReference(
  env: CrashEnv,
  ns: string,
  tenant: CrashTenant,
  input: readonly CrashReading[],
  hooks: CrashHooks = {},
): Promise<void> {
  const names = namesFor(ns);
  const node = await startNode(env, ns, 'reference');
  const unwatch = watchEvery(hooks.watch);
  try {
    await publish(env, names, tenant, input);
    await until(
      'the reference run to settle',
      async () => (await idle(env, names)) && stored(env, tenant, input.length),
      // Proportional to the input: the long fault run's reference replays ~75 000 readings.
      Math.max(180_000, input.length * 10),
    );
  } finally {
    await unwatch();
    await node.stop();
  }
}

/**
 * Alerts the alerts sink already stored as resolved while the unit's last snapshot still holds
 * them open: a node killed then restores those actors from that snapshot, finds the alert
 * resolved in PostgreSQL, and replays readings from while it was still firing (issue 12,
 * finding 4). Read while no node runs.
 */
async function resolvedAheadOfSnapshots(env: CrashEnv, names: Names, tenant: CrashTenant): Promise<number> {
  const kv = await ensureSnapshotBucket(env.js, names);
  const open: string[] = [];
  for (const unit of tenant.units) {
    const entry = await kv.get(`eq.${unit}`);
    if (!entry || entry.operation !== 'PUT') continue;
    const body = entry.json<{
      state?: { rules?: Record<string, { phase: string; alert?: { id: string } }> };
    }>();
    for (const rs of Object.values(body.state?.rules ?? {}))
      if (rs.phase !== 'pending' && rs.alert) open.push(rs.alert.id);
  }
  const r = await env.admin.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM alerts WHERE id = ANY($1::uuid[]) AND status = 'resolved'",
    [open],
  );
  return r.rows[0]?.n ?? 0;
}

/** The sinks whose held messages a restart must store. */
const SINKS = ['telemetry-pg', 'telemetry-ch', 'alerts'] as const;

/** A sink consumer's counters in the restarted node, and how far behind its event loop ran. */
export interface SinkRedeliveries {
  /** Per sink: redeliveries it received, and those of messages it still held itself. */
  sinks: Record<string, Pick<ConsumerStats, 'redelivered' | 'expiredWhileHeld'>>;
  /** Worst event-loop delay of the restarted node, per second of its first `loop.length` seconds. */
  loopMaxMs: number[];
}

async function sinkCounters(node: Node): Promise<SinkRedeliveries['sinks']> {
  const health = await node.call<Record<string, { consumer?: ConsumerStats } | undefined>>('health');
  const out: SinkRedeliveries['sinks'] = {};
  for (const name of SINKS) {
    const c = health[name]?.consumer;
    if (c) out[name] = { redelivered: c.redelivered, expiredWhileHeld: c.expiredWhileHeld };
  }
  return out;
}

export interface CrashFigures {
  /**
   * At the kill during the backlog replay: alerts stored as resolved that the snapshots still
   * held open (see resolvedAheadOfSnapshots).
   */
  resolvedAheadAtReplayKill: number;
  /** Per restart: ms from spawning the node to every partition serving. */
  restartToServingMs: number[];
  /** Per restart: when each step of the node's start ended, ms since the spawn. */
  restartSteps: Array<Record<string, number | null>>;
  /** ms from the last restart until every reading published before it is in both stores. */
  heldStoredMs: number;
  /** The last restarted node's sinks (see SinkRedeliveries). */
  afterLastRestart: SinkRedeliveries;
}

export interface CrashHooks {
  /**
   * Called about every 250 ms until the run settles: in the interrupted run, once the last
   * node serves; in the reference run, from its start.
   */
  watch?: () => Promise<void>;
}

/** The interrupted run; see the module comment. */
export async function runWithCrashes(
  env: CrashEnv,
  ns: string,
  tenant: CrashTenant,
  input: readonly CrashReading[],
  hooks: CrashHooks = {},
): Promise<CrashFigures> {
  const names = namesFor(ns);
  const say = env.progress ?? ((): void => undefined);
  const delay = env.restartDelayMs ?? 1500;
  const cut = (f: number): number => Math.floor(input.length * f);
  const restartToServingMs: number[] = [];
  const restartSteps: Array<Record<string, number | null>> = [];
  const restart = async (label: string): Promise<Node> => {
    await sleep(delay);
    const t = performance.now();
    const node = await startNode(env, ns, label);
    restartToServingMs.push(performance.now() - t);
    restartSteps.push(sinceSpawn(node.spawnedAt, node.ready.phases));
    return node;
  };

  let node = await startNode(env, ns, 'first');
  await publish(env, names, tenant, input.slice(0, cut(0.3)));
  await until('the first node to be delivered everything', () => equipmentCaughtUp(env, names), 120_000);
  await node.kill();
  say('killed live, units mid-pending');

  node = await restart('recovering');
  await node.kill();
  say('killed during recovery');

  const backlog = input.slice(cut(0.3), cut(0.7));
  await publish(env, names, tenant, backlog);
  node = await restart('replaying');
  await until(
    'half the backlog replayed',
    async () => (await equipmentPending(env, names)) <= backlog.length / 2,
    120_000,
  );
  await node.kill();
  const resolvedAheadAtReplayKill = await resolvedAheadOfSnapshots(env, names, tenant);
  say(
    `killed during the backlog replay (${resolvedAheadAtReplayKill} alerts resolved ahead of their snapshots)`,
  );

  node = await restart('last');
  const restartedAt = performance.now() - restartToServingMs[restartToServingMs.length - 1]!;
  let heldStoredMs = -1;
  let settled = false;
  let settledAt: number;
  const last = node;
  const loopMaxMs: number[] = [];
  const watching = (async (): Promise<void> => {
    let loopAt = performance.now();
    while (!settled) {
      await hooks.watch?.();
      if (heldStoredMs < 0 && (await stored(env, tenant, cut(0.7))))
        heldStoredMs = performance.now() - restartedAt;
      if (loopMaxMs.length < 60 && performance.now() - loopAt >= 1000) {
        loopAt = performance.now();
        loopMaxMs.push((await last.call<LoopDelay>('loopDelay').catch(() => null))?.max ?? Number.NaN);
      }
      await sleep(250);
    }
  })();
  try {
    await publish(env, names, tenant, input.slice(cut(0.7)));
    await until(
      'the interrupted run to settle',
      async () => (await idle(env, names)) && stored(env, tenant, input.length),
      // Proportional to the input: the long fault run's reference replays ~75 000 readings.
      Math.max(180_000, input.length * 10),
    );
    settledAt = performance.now();
  } finally {
    settled = true;
    await watching;
  }
  let sinks: SinkRedeliveries['sinks'];
  try {
    sinks = await sinkCounters(node);
  } finally {
    await node.stop();
  }
  // The watcher polls every 250 ms; on a fast machine the run can settle between two polls,
  // so the moment everything settled is the honest (upper) bound for "held readings stored".
  if (heldStoredMs < 0 && (await stored(env, tenant, cut(0.7)))) heldStoredMs = settledAt - restartedAt;
  return {
    restartToServingMs,
    restartSteps,
    heldStoredMs,
    resolvedAheadAtReplayKill,
    afterLastRestart: { sinks, loopMaxMs },
  };
}
