/**
 * The fault harness (issue 10): a steady load of readings with unique ids while, in turn, the
 * actor node is SIGKILLed, PostgreSQL, ClickHouse, Redis and NATS are restarted (through ops/,
 * for this checkout's own stack only), and the load spikes 3× and 10×. Afterwards a ledger of
 * every acknowledged id is checked against PostgreSQL and ClickHouse: lost, duplicated, backlog
 * drained, time to recover per fault; and the alerts (with their timelines) are compared with
 * an uninterrupted run of exactly the acknowledged input. Loopback only, bounded in time.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import pino from 'pino';
import { bounceService, resolveStackConfig, type BounceTarget } from '../../ops/stack/mod.ts';
import {
  chSql,
  createClickHouse,
  createPool,
  loadConfig,
  migrate,
  type Config,
  type Pool,
} from '../../schemas/mod.ts';
import { alertOutcomes, type AlertOutcome } from '../../test/helpers/alert-state.ts';
import {
  connectNats,
  deleteNamespace,
  ensureStreams,
  jetstream,
  jetstreamManager,
  names as namesFor,
  type JetStreamClient,
  type JetStreamManager,
  type Names,
  type NatsConnection,
} from '../../streams/mod.ts';
import { ChildNode, REPO_ROOT } from './child.ts';
import { crashReading, runReference, seedCrashTenant, type CrashReading, type CrashTenant } from './crash.ts';
import { dropTenant } from './seed.ts';

export type Fault =
  | 'actor SIGKILL'
  | 'postgres restart'
  | 'clickhouse restart'
  | 'redis restart'
  | 'nats restart'
  | 'load 3x'
  | 'load 10x';

export const ALL_FAULTS: readonly Fault[] = [
  'actor SIGKILL',
  'postgres restart',
  'clickhouse restart',
  'redis restart',
  'nats restart',
  'load 3x',
  'load 10x',
];

export interface ChaosOptions {
  /** Readings per second of the steady load. */
  rate: number;
  units: number;
  /** Quiet time before each fault, and the length of a spike. */
  steadyMs: number;
  /** How long a restarted service stays down. */
  downMs: number;
  /** Give up waiting for the backlog to drain after this long. */
  drainTimeoutMs: number;
  faults: readonly Fault[];
  log: (line: string) => void;
}

export interface FaultResult {
  fault: Fault;
  /** Service down (or node dead) for; spikes: how long the spike lasted. */
  downMs: number;
  /** From the end of the fault until the backlog was back to its steady level. */
  recoverMs: number | null;
  /** Most readings waiting in TELEMETRY consumers during the fault and its recovery. */
  backlogPeak: number;
  /** Publishes that failed and were retried (same Nats-Msg-Id) until acknowledged. */
  publishRetries: number;
  /** Readings acknowledged per second while the fault lasted (a spike's achieved rate). */
  ackedPerS: number;
}

export interface ChaosResult {
  published: number;
  acked: number;
  pgRows: number;
  pgLost: number;
  pgDuplicated: number;
  chRows: number;
  chLost: number;
  chDuplicatedAfterMerge: number;
  chRowsBeforeMerge: number;
  dlq: number;
  drained: boolean;
  /** Alerts of the interrupted run, of the uninterrupted run of the same input, and how they differ. */
  alerts: number;
  referenceAlerts: number;
  alertDifferences: string[];
  faults: FaultResult[];
  durationMs: number;
}

const URL_ENV = {
  nats: 'NATS_URL',
  postgres: 'DATABASE_URL',
  clickhouse: 'CLICKHOUSE_URL',
  redis: 'REDIS_URL',
} as const;
type Service = keyof typeof URL_ENV;

/**
 * Stop one service of this checkout's stack and start it again after `downMs`, through ops/.
 * The test runner passes every service as a URL; the one bounced is handed back to ops/ as
 * embedded (its URL unset), so ops/ restarts exactly that one. PostgreSQL is whichever cluster
 * DATABASE_URL names: the TimescaleDB cluster in the suite's TimescaleDB variant.
 */
async function restartService(service: Service, downMs: number, config: Config): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env[URL_ENV[service]];
  const log = pino({ level: 'warn' });
  const timescalePort = resolveStackConfig(env).ports.postgresTimescale;
  const target: BounceTarget =
    service === 'postgres' && Number(new URL(config.DATABASE_URL).port) === timescalePort
      ? 'postgres-timescale'
      : service;
  await bounceService(target, downMs, { env, log });
}

/**
 * The steady load: reading `i` of unit `u` is crashReading(u, i) (a threshold rule's breaches,
 * escalations and recoveries), `Nats-Msg-Id` = unit + device time. Like a device with a
 * store-and-forward buffer, each unit has one publish in flight and retries it with the same
 * id until JetStream acknowledges it, so a unit's readings are stored in order and what was
 * acknowledged is, per unit, a prefix of its input: an uninterrupted run can replay exactly it.
 */
class Publisher {
  /** Per unit: readings acknowledged (the next one to publish). */
  readonly acked: number[];
  readonly #inFlight: boolean[];
  readonly #running = new Set<Promise<void>>();
  retries = 0;
  multiplier = 1;
  #stopping = false;
  #abandon = false;
  #cursor = 0;
  readonly #loop: Promise<void>;

  constructor(
    readonly js: JetStreamClient,
    readonly names: Names,
    readonly tenant: CrashTenant,
    readonly rate: number,
    readonly t0: number,
  ) {
    this.acked = tenant.units.map(() => 0);
    this.#inFlight = tenant.units.map(() => false);
    this.#loop = this.#run();
  }

  get total(): number {
    return this.acked.reduce((a, b) => a + b, 0);
  }

  /** Every acknowledged reading as `<unit id>.<ts>`. */
  ids(): Set<string> {
    const out = new Set<string>();
    this.acked.forEach((n, u) => {
      for (let i = 0; i < n; i++) out.add(`${this.tenant.units[u]!}.${crashReading(u, i, this.t0).ts}`);
    });
    return out;
  }

  /** The acknowledged input, in the order an uninterrupted publisher would send it. */
  input(): CrashReading[] {
    const out: CrashReading[] = [];
    const longest = Math.max(0, ...this.acked);
    for (let i = 0; i < longest; i++)
      this.acked.forEach((n, u) => {
        if (i < n) out.push(crashReading(u, i, this.t0));
      });
    return out;
  }

  async #publishNext(u: number): Promise<void> {
    const unit = this.tenant.units[u]!;
    const r = crashReading(u, this.acked[u]!, this.t0);
    const body = JSON.stringify({ ts: r.ts, temperature: r.temperature });
    const subject = this.names.telemetry.publish(this.tenant.tenantId, unit);
    while (!this.#abandon) {
      try {
        await this.js.publish(subject, body, { msgID: `${unit}.${r.ts}`, timeout: 5000 });
        this.acked[u]!++;
        return;
      } catch {
        this.retries++;
        await sleep(250);
      }
    }
  }

  #start(u: number): void {
    this.#inFlight[u] = true;
    const p = this.#publishNext(u).finally(() => {
      this.#inFlight[u] = false;
      this.#running.delete(p);
    });
    this.#running.add(p);
  }

  async #run(): Promise<void> {
    const units = this.tenant.units.length;
    while (!this.#stopping) {
      const tick = performance.now();
      // Readings due this 100 ms tick; a unit still waiting for its previous PubAck is skipped.
      let due = Math.max(1, Math.round((this.rate * this.multiplier) / 10));
      for (let scanned = 0; due > 0 && scanned < units; scanned++) {
        const u = this.#cursor++ % units;
        if (this.#inFlight[u]) continue;
        this.#start(u);
        due--;
      }
      const left = 100 - (performance.now() - tick);
      if (left > 0) await sleep(left);
    }
  }

  /** Stop starting publishes; the ones in flight finish (they retry until acknowledged). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop;
    await Promise.all(this.#running);
  }

  /** On failure: stop at once, even with publishes unacknowledged. */
  async abandon(): Promise<void> {
    this.#abandon = true;
    await this.stop();
  }
}

/** Messages not yet acknowledged by the consumers of `streams` (pending + in flight); null if NATS is away. */
async function backlog(jsm: JetStreamManager, streams: readonly string[]): Promise<number | null> {
  try {
    let n = 0;
    for (const stream of streams)
      for await (const c of jsm.consumers.list(stream)) n += c.num_pending + c.num_ack_pending;
    return n;
  } catch {
    return null;
  }
}

async function stored(
  admin: Pool,
  ch: ClickHouseClient,
  t: CrashTenant,
): Promise<{
  pg: Set<string>;
  pgRows: number;
  chFinal: Set<string>;
  chFinalRows: number;
  chRaw: number;
}> {
  const pgRes = await admin.query<{ e: string; ms: string }>(
    `SELECT equipment_id AS e, (extract(epoch FROM ts) * 1000)::bigint::text AS ms FROM telemetry WHERE tenant_id = $1`,
    [t.tenantId],
  );
  const pg = new Set(pgRes.rows.map((r) => `${r.e}.${r.ms}`));
  const chRes = await ch.query({
    query: chSql`SELECT equipment_id AS e, toString(ts_ms) AS ms FROM telemetry FINAL WHERE tenant_id = ${t.tenantId}`,
    format: 'JSONEachRow',
  });
  const chRows = await chRes.json<{ e: string; ms: string }>();
  const raw = await ch.query({
    query: chSql`SELECT count() AS n FROM telemetry WHERE tenant_id = ${t.tenantId}`,
    format: 'JSONEachRow',
  });
  const [rawRow] = await raw.json<{ n: string }>();
  return {
    pg,
    pgRows: pgRes.rows.length,
    chFinal: new Set(chRows.map((r) => `${r.e}.${r.ms}`)),
    chFinalRows: chRows.length,
    chRaw: Number(rawRow?.n ?? 0),
  };
}

/** Human-readable differences between two runs' alerts, empty when they are identical. */
function alertDifferences(seen: readonly AlertOutcome[], want: readonly AlertOutcome[]): string[] {
  const out: string[] = [];
  const wanted = new Map(want.map((a) => [a.key, a]));
  const got = new Map(seen.map((a) => [a.key, a]));
  for (const [key, a] of got) {
    const w = wanted.get(key);
    if (!w) out.push(`${key}: not in the uninterrupted run`);
    else if (JSON.stringify(a) !== JSON.stringify(w))
      out.push(`${key}: ${JSON.stringify(a).slice(0, 300)} ≠ ${JSON.stringify(w).slice(0, 300)}`);
  }
  for (const key of wanted.keys()) if (!got.has(key)) out.push(`${key}: missing`);
  return out;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const started = performance.now();
  const run = randomBytes(3).toString('hex');
  const ns = `chaos${run}`;
  const nsRef = `chref${run}`;
  const config: Config = loadConfig(process.env, { VIGIL_NS: ns, LOG_LEVEL: 'warn' });
  const names = namesFor(ns);
  await migrate(config);
  const admin = createPool(config, 'admin', 2);
  const ch = createClickHouse(config);
  const nc: NatsConnection = await connectNats(config, 'chaos');
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, names);
  await ensureStreams(jsm, namesFor(nsRef));
  const tenant = await seedCrashTenant(admin, `chaos-${run}`, opts.units);
  const refTenant = await seedCrashTenant(admin, `chaos-ref-${run}`, opts.units);
  const logDir = join(REPO_ROOT, '.vigil', 'bench');
  mkdirSync(logDir, { recursive: true });
  const startActor = (): Promise<ChildNode<{ nodeID: string }>> =>
    ChildNode.start({
      name: 'actor node',
      script: 'bench/lib/actor-node.ts',
      // The same node id after a kill, as a supervisor restarting it on the same machine would.
      env: { ...process.env, VIGIL_NS: ns, LOG_LEVEL: 'warn', BENCH_NODE_ID: `${ns}-actor` },
      logFile: join(logDir, `chaos-${ns}-actor.log`),
      readyTimeoutMs: 120_000,
    });
  let actor = await startActor();
  opts.log('actor node serving; load starts');
  // Device time 10 s per reading from a day ago: a long run stays in the past (≤ 8 640 per unit).
  const t0 = Math.floor((Date.now() - 24 * 3_600_000) / 60_000) * 60_000;
  const pub = new Publisher(js, names, tenant, opts.rate, t0);
  const results: FaultResult[] = [];
  const telemetryOnly = [names.telemetry.stream];
  let finished = false;

  /** Sample the backlog until it is back to `steady` (or the timeout); returns [peak, ms]. */
  async function recover(from: number, steady: number, peakSoFar: number): Promise<[number, number | null]> {
    let peak = peakSoFar;
    const deadline = performance.now() + opts.drainTimeoutMs;
    for (;;) {
      const b = await backlog(jsm, telemetryOnly);
      if (b !== null) {
        peak = Math.max(peak, b);
        if (b <= steady) return [peak, performance.now() - from];
      }
      if (performance.now() > deadline) return [peak, null];
      await sleep(250);
    }
  }

  /**
   * Back to normal: the backlog no more than twice what it was just before the fault (what the
   * consumers hold between batches at this load), or 50.
   */
  const steadyLevel = (before: number): number => Math.max(50, 2 * before);

  try {
    for (const fault of opts.faults) {
      await sleep(opts.steadyMs);
      const retriesBefore = pub.retries;
      const ackedBefore = pub.total;
      const before = (await backlog(jsm, telemetryOnly)) ?? 0;
      let peak = before;
      const sampler = setInterval(() => {
        void backlog(jsm, telemetryOnly).then((b) => {
          if (b !== null) peak = Math.max(peak, b);
        });
      }, 250);
      const t0Fault = performance.now();
      try {
        switch (fault) {
          case 'actor SIGKILL':
            await actor.kill();
            actor = await startActor();
            break;
          case 'postgres restart':
            await restartService('postgres', opts.downMs, config);
            break;
          case 'clickhouse restart':
            await restartService('clickhouse', opts.downMs, config);
            break;
          case 'redis restart':
            await restartService('redis', opts.downMs, config);
            break;
          case 'nats restart':
            // Our own connection reconnects by itself; the handles stay valid.
            await restartService('nats', opts.downMs, config);
            break;
          case 'load 3x':
          case 'load 10x':
            pub.multiplier = fault === 'load 3x' ? 3 : 10;
            await sleep(opts.steadyMs);
            pub.multiplier = 1;
            break;
          default: {
            const never: never = fault;
            throw new Error(`unknown fault ${String(never)}`);
          }
        }
      } finally {
        clearInterval(sampler);
      }
      const downMs = performance.now() - t0Fault;
      // Counted now: the recovery below may take minutes at the base rate.
      const ackedDuring = pub.total - ackedBefore;
      const [backlogPeak, recoverMs] = await recover(performance.now(), steadyLevel(before), peak);
      const r: FaultResult = {
        fault,
        downMs,
        recoverMs,
        backlogPeak,
        publishRetries: pub.retries - retriesBefore,
        ackedPerS: Math.round((ackedDuring * 1000) / downMs),
      };
      results.push(r);
      opts.log(
        `${fault}: down ${(downMs / 1000).toFixed(1)} s, recovered ${recoverMs === null ? 'NOT' : `${(recoverMs / 1000).toFixed(1)} s`}, backlog peak ${backlogPeak}, acknowledged ${r.ackedPerS}/s, publish retries ${r.publishRetries}`,
      );
    }
    await pub.stop();
    opts.log(`load stopped at ${pub.total} readings; draining`);
    // Drained: every consumer (telemetry and events) has handled everything, and the stores
    // hold what was acknowledged.
    const acked = pub.ids();
    let drained = false;
    const deadline = performance.now() + opts.drainTimeoutMs;
    let s = await stored(admin, ch, tenant);
    while (performance.now() < deadline) {
      const b = await backlog(jsm, [names.telemetry.stream, names.events.stream]);
      s = await stored(admin, ch, tenant);
      if (b === 0 && [...acked].every((id) => s.pg.has(id) && s.chFinal.has(id))) {
        drained = true;
        break;
      }
      await sleep(1000);
    }
    let dlq = 0;
    try {
      dlq = (await jsm.streams.info(names.dlq.stream)).state.messages;
    } catch {
      dlq = -1;
    }
    opts.log(drained ? 'drained' : 'NOT drained');
    await actor.stop();
    opts.log('faults done; the same input through an uninterrupted node for reference');
    const seen = await alertOutcomes(admin, tenant.units);
    await runReference({ config, js, jsm, admin, ch, logDir }, nsRef, refTenant, pub.input());
    const want = await alertOutcomes(admin, refTenant.units);
    opts.log(`reference run done: ${want.length} alerts`);
    const lost = (set: Set<string>): number => [...acked].filter((id) => !set.has(id)).length;
    finished = true;
    return {
      published: pub.total + pub.retries,
      acked: acked.size,
      pgRows: s.pgRows,
      pgLost: lost(s.pg),
      pgDuplicated: s.pgRows - s.pg.size,
      chRows: s.chFinalRows,
      chLost: lost(s.chFinal),
      chDuplicatedAfterMerge: s.chFinalRows - s.chFinal.size,
      chRowsBeforeMerge: s.chRaw,
      dlq,
      drained,
      alerts: seen.length,
      referenceAlerts: want.length,
      alertDifferences: alertDifferences(seen, want),
      faults: results,
      durationMs: performance.now() - started,
    };
  } finally {
    if (!finished) await pub.abandon().catch(() => undefined);
    await actor.stop().catch(() => undefined);
    for (const n of [names, namesFor(nsRef)]) await deleteNamespace(jsm, n).catch(() => undefined);
    for (const t of [tenant, refTenant]) await dropTenant(admin, ch, t.tenantId).catch(() => undefined);
    await nc.drain().catch(() => undefined);
    await admin.end();
    await ch.close();
  }
}

/** The ledger and fault table as Markdown. */
export function chaosTable(r: ChaosResult): string {
  const s = (ms: number | null): string => (ms === null ? 'did not recover' : `${(ms / 1000).toFixed(1)} s`);
  return [
    '| fault | down / spike | time to recover | backlog peak | acknowledged/s during it | publishes retried |',
    '|---|---|---|---|---|---|',
    ...r.faults.map(
      (f) =>
        `| ${f.fault} | ${s(f.downMs)} | ${s(f.recoverMs)} | ${f.backlogPeak} | ${f.ackedPerS} | ${f.publishRetries} |`,
    ),
    '',
    '| ledger | count |',
    '|---|---|',
    `| publish attempts | ${r.published} |`,
    `| acknowledged by JetStream | ${r.acked} |`,
    `| PostgreSQL rows | ${r.pgRows} |`,
    `| lost in PostgreSQL | ${r.pgLost} |`,
    `| duplicated in PostgreSQL | ${r.pgDuplicated} |`,
    `| ClickHouse rows (FINAL) | ${r.chRows} |`,
    `| lost in ClickHouse | ${r.chLost} |`,
    `| duplicated in ClickHouse (FINAL) | ${r.chDuplicatedAfterMerge} |`,
    `| ClickHouse rows before merge (redelivered batches) | ${r.chRowsBeforeMerge} |`,
    `| DLQ entries | ${r.dlq} |`,
    `| backlog drained | ${r.drained ? 'yes' : 'NO'} |`,
    `| alerts (uninterrupted run of the same input) | ${r.alerts} (${r.referenceAlerts}) |`,
    `| alerts that differ from the uninterrupted run | ${r.alertDifferences.length} |`,
  ].join('\n');
}
