/**
 * The fault harness (issue 10): a steady load of readings with unique ids while, in turn, the
 * actor node is SIGKILLed, PostgreSQL, ClickHouse, Redis and NATS are restarted (through ops/,
 * for this checkout's own stack only), and the load spikes 3× and 10×. Afterwards a ledger of
 * every acknowledged id is checked against PostgreSQL and ClickHouse: lost, duplicated, backlog
 * drained, time to recover per fault. Loopback only, bounded in time.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import pino from 'pino';
import { ensureStack, stopStack } from '../../ops/stack/mod.ts';
import {
  chSql,
  createClickHouse,
  createPool,
  loadConfig,
  migrate,
  type Config,
  type Pool,
} from '../../schemas/mod.ts';
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
import { dropTenant, seedTenant, type BenchTenant } from './seed.ts';

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
 * Stop one embedded service of this checkout's stack and start it again after `downMs`: the
 * others are passed as external URLs, so ops/ leaves them alone.
 */
async function restartService(
  service: Service,
  downMs: number,
  urls: Record<Service, string>,
): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [s, key] of Object.entries(URL_ENV)) env[key] = urls[s as Service];
  delete env[URL_ENV[service]];
  const log = pino({ level: 'warn' });
  await stopStack({ env, log });
  await sleep(downMs);
  await ensureStack({ env, log });
}

/** Steady publisher: unique (unit, ts) per reading, Nats-Msg-Id `<unit>.<ts>`, retried until acked. */
class Publisher {
  readonly acked = new Set<string>();
  published = 0;
  retries = 0;
  multiplier = 1;
  #running = true;
  #loop: Promise<void>;
  readonly #counters: number[];
  readonly #t0: number;

  constructor(
    readonly js: () => JetStreamClient,
    readonly names: Names,
    readonly tenant: BenchTenant,
    readonly rate: number,
  ) {
    this.#counters = tenant.unitIds.map(() => 0);
    // Device time: unique per unit, 10 ms apart, starting an hour ago (inside the accepted window).
    this.#t0 = Date.now() - 3_600_000;
    this.#loop = this.#run();
  }

  async #publishOne(unitIndex: number): Promise<void> {
    const unit = this.tenant.unitIds[unitIndex]!;
    const ts = this.#t0 + this.#counters[unitIndex]!++ * 10;
    const id = `${unit}.${ts}`;
    const body = JSON.stringify({ ts, temperature: 3 + (ts % 7) / 10 });
    this.published++;
    for (;;) {
      try {
        await this.js().publish(this.names.telemetry.publish(this.tenant.tenantId, unit), body, {
          msgID: id,
          timeout: 5000,
        });
        this.acked.add(id);
        return;
      } catch {
        this.retries++;
        if (!this.#running) return;
        await sleep(250);
      }
    }
  }

  async #run(): Promise<void> {
    let next = 0;
    const inflight = new Set<Promise<void>>();
    while (this.#running) {
      const tick = performance.now();
      const n = Math.max(1, Math.round((this.rate * this.multiplier) / 10));
      for (let i = 0; i < n; i++) {
        const p = this.#publishOne(next++ % this.tenant.unitIds.length);
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
      // Never more than ~5 s of load in flight: an outage must not grow the heap without bound.
      while (inflight.size > this.rate * this.multiplier * 5) await Promise.race(inflight);
      const left = 100 - (performance.now() - tick);
      if (left > 0) await sleep(left);
    }
    await Promise.all(inflight);
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }
}

/** Readings not yet acknowledged by the TELEMETRY consumers (pending + in flight); null if NATS is away. */
async function backlog(jsm: JetStreamManager, names: Names): Promise<number | null> {
  try {
    let n = 0;
    for await (const c of jsm.consumers.list(names.telemetry.stream)) n += c.num_pending + c.num_ack_pending;
    return n;
  } catch {
    return null;
  }
}

async function stored(
  admin: Pool,
  ch: ClickHouseClient,
  t: BenchTenant,
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

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const started = performance.now();
  const ns = `chaos${randomBytes(3).toString('hex')}`;
  const config: Config = loadConfig(process.env, { VIGIL_NS: ns, LOG_LEVEL: 'warn' });
  const names = namesFor(ns);
  const urls: Record<Service, string> = {
    nats: config.NATS_URL,
    postgres: config.DATABASE_URL,
    clickhouse: config.CLICKHOUSE_URL,
    redis: config.REDIS_URL,
  };
  await migrate(config);
  const admin = createPool(config, 'admin', 2);
  const ch = createClickHouse(config);
  const nc: NatsConnection = await connectNats(config, 'chaos');
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, names);
  const tenant = await seedTenant(admin, ns, opts.units);
  const logDir = join(REPO_ROOT, '.vigil', 'bench');
  mkdirSync(logDir, { recursive: true });
  const startActor = (): Promise<ChildNode<{ nodeID: string }>> =>
    ChildNode.start({
      name: 'actor node',
      script: 'bench/lib/actor-node.ts',
      env: { ...process.env, VIGIL_NS: ns, LOG_LEVEL: 'warn' },
      logFile: join(logDir, `chaos-${ns}-actor.log`),
      readyTimeoutMs: 120_000,
    });
  let actor = await startActor();
  const pub = new Publisher(() => js, names, tenant, opts.rate);
  const results: FaultResult[] = [];

  /** Sample the backlog until it is back to `steady` (or the timeout); returns [peak, ms]. */
  async function recover(from: number, steady: number, peakSoFar: number): Promise<[number, number | null]> {
    let peak = peakSoFar;
    const deadline = performance.now() + opts.drainTimeoutMs;
    for (;;) {
      const b = await backlog(jsm, names);
      if (b !== null) {
        peak = Math.max(peak, b);
        if (b <= steady) return [peak, performance.now() - from];
      }
      if (performance.now() > deadline) return [peak, null];
      await sleep(250);
    }
  }

  /** The backlog a healthy system carries at this load: what the sinks hold between batches. */
  const steadyLevel = (): number => Math.max(50, Math.round(opts.rate * 0.6));

  try {
    for (const fault of opts.faults) {
      await sleep(opts.steadyMs);
      const retriesBefore = pub.retries;
      let peak = (await backlog(jsm, names)) ?? 0;
      const sampler = setInterval(() => {
        void backlog(jsm, names).then((b) => {
          if (b !== null) peak = Math.max(peak, b);
        });
      }, 250);
      const t0 = performance.now();
      try {
        switch (fault) {
          case 'actor SIGKILL':
            await actor.kill();
            actor = await startActor();
            break;
          case 'postgres restart':
            await restartService('postgres', opts.downMs, urls);
            break;
          case 'clickhouse restart':
            await restartService('clickhouse', opts.downMs, urls);
            break;
          case 'redis restart':
            await restartService('redis', opts.downMs, urls);
            break;
          case 'nats restart':
            await restartService('nats', opts.downMs, urls);
            // Our own connection reconnects by itself; the handles stay valid.
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
      const downMs = performance.now() - t0;
      const [backlogPeak, recoverMs] = await recover(performance.now(), steadyLevel(), peak);
      const r: FaultResult = {
        fault,
        downMs,
        recoverMs,
        backlogPeak,
        publishRetries: pub.retries - retriesBefore,
      };
      results.push(r);
      opts.log(
        `${fault}: down ${(downMs / 1000).toFixed(1)} s, recovered ${recoverMs === null ? 'NOT' : `${(recoverMs / 1000).toFixed(1)} s`}, backlog peak ${backlogPeak}, publish retries ${r.publishRetries}`,
      );
    }
    await pub.stop();
    // Drained: every consumer has handled everything, and the stores hold what was acked.
    let drained = false;
    const deadline = performance.now() + opts.drainTimeoutMs;
    let s = await stored(admin, ch, tenant);
    while (performance.now() < deadline) {
      const b = await backlog(jsm, names);
      s = await stored(admin, ch, tenant);
      if (b === 0 && [...pub.acked].every((id) => s.pg.has(id) && s.chFinal.has(id))) {
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
    const lost = (set: Set<string>): number => [...pub.acked].filter((id) => !set.has(id)).length;
    return {
      published: pub.published,
      acked: pub.acked.size,
      pgRows: s.pgRows,
      pgLost: lost(s.pg),
      pgDuplicated: s.pgRows - s.pg.size,
      chRows: s.chFinalRows,
      chLost: lost(s.chFinal),
      chDuplicatedAfterMerge: s.chFinalRows - s.chFinal.size,
      chRowsBeforeMerge: s.chRaw,
      dlq,
      drained,
      faults: results,
      durationMs: performance.now() - started,
    };
  } finally {
    await pub.stop().catch(() => undefined);
    await actor.stop().catch(() => undefined);
    await deleteNamespace(jsm, names).catch(() => undefined);
    await dropTenant(admin, ch, tenant.tenantId).catch(() => undefined);
    await nc.drain().catch(() => undefined);
    await admin.end();
    await ch.close();
  }
}

/** The ledger and fault table as Markdown. */
export function chaosTable(r: ChaosResult): string {
  const s = (ms: number | null): string => (ms === null ? 'did not recover' : `${(ms / 1000).toFixed(1)} s`);
  return [
    '| fault | down / spike | time to recover | backlog peak | publishes retried |',
    '|---|---|---|---|---|',
    ...r.faults.map(
      (f) => `| ${f.fault} | ${s(f.downMs)} | ${s(f.recoverMs)} | ${f.backlogPeak} | ${f.publishRetries} |`,
    ),
    '',
    '| ledger | count |',
    '|---|---|',
    `| readings published | ${r.published} |`,
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
  ].join('\n');
}
