/**
 * `npm run bench:ingest` — how fast readings get from a publisher into both stores, next to
 * how fast bare JetStream moves the same messages, and how long an alert takes from the
 * publish of the reading that causes it to the SSE client. Prints figures; asserts nothing.
 *
 *   npm run bench:ingest -- --readings 200000 --units 1000
 *
 * Phase 1 (raw): the readings through a stream configured like TELEMETRY and one pull
 * consumer that only acks. Phase 2 (end to end): an actor node and a gateway, each in a child
 * process, in a private namespace and tenant; the bench publishes the same readings and waits
 * for every row in PostgreSQL and ClickHouse, while a probe unit opens and resolves an alert
 * every 50 ms and an SSE client times each one. See docs/benchmarks.md.
 *
 *   npm run bench:ingest:fleet      (= npm run bench:ingest -- --fleet)
 *
 * The fleet run of issue 7: 10,000 units with five rules each (one of every kind, two of them
 * on opening hours), warmed until their rate windows are full; then the unpaced load next to
 * bare JetStream, a load paced at 8,000 readings/s for the publish → SSE latency at that rate,
 * and the actor node's heap per idle actor, measured after a full GC.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import type { ClickHouseClient } from '@clickhouse/client';
import { DEFAULT_COMMIT_INTERVAL_MS, type ActorNodeHealth } from '../actors/mod.ts';
import type { ActorNodeHeap } from './lib/actor-node.ts';
import { resolveDurability, stackStatus } from '../ops/stack/mod.ts';
import { createClickHouse, createPool, loadConfig, migrate, type Config, type Pool } from '../schemas/mod.ts';
import {
  deleteNamespace,
  jetstream,
  jetstreamManager,
  names as namesFor,
  publishReading,
  type JetStreamClient,
  type Names,
} from '../streams/mod.ts';
import { ChildNode, type LoopDelay } from './lib/child.ts';
import { cpuDelta, cpuSnapshot } from './lib/cpu.ts';
import { Load, loadChain, type BenchReading } from './lib/load.ts';
import { Prober } from './lib/probe.ts';
import { measureRawJetStream, type RawResult } from './lib/raw-jetstream.ts';
import {
  chCount,
  dropTenant,
  fleetRules,
  loadUnitAlerts,
  pgCount,
  PROBE_BREACH_C,
  PROBE_CLEAR_C,
  seedTenant,
  type BenchTenant,
} from './lib/seed.ts';
import { SseClient } from '../test/helpers/sse-client.ts';
import { rate, summarize, type Summary } from './lib/stats.ts';
import { InFlightWindow } from './lib/window.ts';

interface Options {
  readings: number;
  units: number;
  /** In-flight publishes (PubAcks awaited at once). */
  batch: number;
  /** max_messages of the raw phase's pull consumer. */
  fetch: number;
  /** Pace the end-to-end load to this many readings/s; null = as fast as PubAcks return. */
  rate: number | null;
  namespace: string;
  keep: boolean;
  skipRaw: boolean;
  probeMs: number;
  idleProbes: number;
  stallS: number;
  profile: boolean;
  /** Run the telemetry sinks in a second actor node process. */
  splitSinks: boolean;
  /** The fleet run: its rules, time zone, multi-round warm-up and final figures. */
  fleet: boolean;
  /** After the unpaced load, a load paced at this many readings/s (null: none). */
  pacedRate: number | null;
  /** Seconds of the paced load. */
  pacedS: number;
  /** Measure the actor node's heap per idle actor (the node runs with --expose-gc). */
  heap: boolean;
}

/**
 * `--fleet`: 10,000 units (a mid-size retailer's cabinets), warmed with 16 readings each two
 * seconds of device time apart — 32 s, past half the fleet rate rule's 60 s window, so each
 * reading of the timed loads pays for the full slope — then paced at 8,000 readings/s for
 * 60 s (~1,200 probes at the default 50 ms, enough for a p99). Sites in a time zone with DST.
 */
const FLEET = {
  units: 10_000,
  pacedRate: 8000,
  pacedS: 60,
  stepMs: 2000,
  warmRounds: 16,
  timeZone: 'Europe/Berlin',
} as const;

const USAGE = `usage: npm run bench:ingest -- [options]
  --readings N     readings to publish (default 200000; env BENCH_READINGS)
  --units M        units they are spread over (default 1000; env BENCH_UNITS)
  --batch W        publishes in flight, i.e. PubAcks awaited at once (default 2000; env BENCH_BATCH)
  --fetch F        max_messages of the raw phase's pull consumer (default 5000)
  --rate R         pace the end-to-end load at R readings/s (default: as fast as possible)
  --namespace NS   VIGIL_NS of the run (default b<random>; env BENCH_NAMESPACE)
  --keep           keep the namespace's streams and the bench tenant afterwards
  --skip-raw       skip the bare JetStream phase
  --probe-ms T     probe period for publish->SSE latency (default 50)
  --idle-probes K  probes before the load, for the idle latency (default 60)
  --stall-s S      give up when nothing progresses for S seconds (default 60)
  --profile        write V8 CPU profiles of the child processes (see docs/benchmarks.md)
  --split-sinks    run the PostgreSQL and ClickHouse sinks in a second actor node process
  --fleet          the fleet run: ${FLEET.units} units (unless --units), five rules each (one per
                   kind), ${FLEET.warmRounds} warm-up readings per unit, then --paced-rate ${FLEET.pacedRate}
                   --paced-s ${FLEET.pacedS} --heap, and the figures against the aims
  --paced-rate R   after the unpaced load, a load paced at R readings/s (latency at that rate)
  --paced-s S      seconds of the paced load (default 60)
  --heap           actor node heap per idle actor (bytes, after a full GC)`;

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${name} must be a positive integer, got '${raw}'`);
  return n;
}

class UsageError extends Error {
  override name = 'UsageError';
}

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      readings: { type: 'string' },
      units: { type: 'string' },
      batch: { type: 'string' },
      fetch: { type: 'string' },
      rate: { type: 'string' },
      namespace: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'skip-raw': { type: 'boolean', default: false },
      'probe-ms': { type: 'string' },
      'idle-probes': { type: 'string' },
      'stall-s': { type: 'string' },
      profile: { type: 'boolean', default: false },
      'split-sinks': { type: 'boolean', default: false },
      fleet: { type: 'boolean', default: false },
      'paced-rate': { type: 'string' },
      'paced-s': { type: 'string' },
      heap: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const namespace = values.namespace ?? env['BENCH_NAMESPACE'] ?? `b${randomBytes(5).toString('hex')}`;
  // `<ns>raw` must stay a valid namespace too (VIGIL_NS: [a-z0-9]{0,24}).
  if (!/^[a-z0-9]{1,21}$/.test(namespace))
    throw new UsageError('--namespace must be 1-21 characters of [a-z0-9]');
  return {
    readings: positiveInt('readings', values.readings ?? env['BENCH_READINGS'], 200_000),
    units: positiveInt('units', values.units ?? env['BENCH_UNITS'], values.fleet ? FLEET.units : 1000),
    batch: positiveInt('batch', values.batch ?? env['BENCH_BATCH'], 2000),
    fetch: positiveInt('fetch', values.fetch, 5000),
    rate: values.rate === undefined ? null : positiveInt('rate', values.rate, 1),
    namespace,
    keep: values.keep || env['BENCH_KEEP'] === '1',
    skipRaw: values['skip-raw'],
    probeMs: positiveInt('probe-ms', values['probe-ms'], 50),
    idleProbes: positiveInt('idle-probes', values['idle-probes'], 60),
    stallS: positiveInt('stall-s', values['stall-s'], 60),
    profile: values.profile,
    splitSinks: values['split-sinks'],
    fleet: values.fleet,
    pacedRate:
      values['paced-rate'] !== undefined
        ? positiveInt('paced-rate', values['paced-rate'], 1)
        : values.fleet
          ? FLEET.pacedRate
          : null,
    pacedS: positiveInt('paced-s', values['paced-s'], FLEET.pacedS),
    heap: values.heap || values.fleet,
  };
}

const progress = (msg: string): void => {
  process.stderr.write(`[bench] ${msg}\n`);
};

/** Ctrl-C stops the run at the next check and still cleans up; a second Ctrl-C quits at once. */
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  progress('interrupted: cleaning up (Ctrl-C again to quit at once)');
});

function checkInterrupted(): void {
  if (interrupted) throw new Error('interrupted');
}

/**
 * Publish through the window. With `ratePerS`, paced to that many readings per second
 * (a sustained load, for latency at a given rate); without, as fast as PubAcks return.
 */
async function publishAll(
  js: JetStreamClient,
  names: Names,
  readings: Iterable<BenchReading>,
  window: InFlightWindow,
  ratePerS: number | null = null,
): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  for (const r of readings) {
    checkInterrupted();
    if (ratePerS !== null) {
      const due = t0 + (n * 1000) / ratePerS;
      const wait = due - performance.now();
      if (wait >= 1) await sleep(wait);
    }
    if (window.full) await window.room();
    window.start(() => publishReading(js, names, r.tenantId, r.equipmentId, r.body, r.msgId));
    n++;
  }
  await window.drain();
  return n;
}

// ---------------------------------------------------------------- progress of the pipeline

interface Processed {
  pg: number;
  ch: number;
  equipment: number;
}

interface ConsumerView {
  processed?: number;
  rejected?: number;
  retried?: number;
  lastError?: string | null;
}

function processedOf(h: ActorNodeHealth): Processed & { errors: string[] } {
  const pg = (h['telemetry-pg'] as { consumer?: ConsumerView } | undefined)?.consumer;
  const ch = (h['telemetry-ch'] as { consumer?: ConsumerView } | undefined)?.consumer;
  const parts = h.equipment?.partitions ?? [];
  const errors: string[] = [];
  for (const [name, c] of [
    ['telemetry_pg', pg],
    ['telemetry_ch', ch],
    ...parts.map((p) => [`equipment_p${p.partition}`, p.consumer] as const),
  ] as const) {
    if (c?.lastError) errors.push(`${name}: ${c.lastError}`);
    if (c?.rejected) errors.push(`${name}: ${c.rejected} dead-lettered`);
  }
  return {
    pg: pg?.processed ?? 0,
    ch: ch?.processed ?? 0,
    equipment: parts.reduce((a, p) => a + (p.consumer?.processed ?? 0), 0),
    errors,
  };
}

/** Consumer counters of the whole run (warm-up and probes included): retries explain slow runs. */
function consumerTable(h: ActorNodeHealth): string[][] {
  const rows: string[][] = [['consumer (whole run)', 'processed', 'retried', 'dead-lettered', 'last error']];
  const add = (name: string, c: ConsumerView | null | undefined): void => {
    rows.push([
      name,
      String(c?.processed ?? 0),
      String(c?.retried ?? 0),
      String(c?.rejected ?? 0),
      (c?.lastError ?? '-').slice(0, 80),
    ]);
  };
  add('telemetry_pg', (h['telemetry-pg'] as { consumer?: ConsumerView } | undefined)?.consumer);
  add('telemetry_ch', (h['telemetry-ch'] as { consumer?: ConsumerView } | undefined)?.consumer);
  add('alerts_pg', (h.alerts as { consumer?: ConsumerView } | undefined)?.consumer);
  for (const p of h.equipment?.partitions ?? []) add(`equipment_p${p.partition}`, p.consumer);
  return rows;
}

/** The actor node child processes: one with every service, or two with `--split-sinks`. */
class ActorNodes {
  readonly all: ReadonlyArray<ChildNode<unknown>>;

  constructor(all: ReadonlyArray<ChildNode<unknown>>) {
    this.all = all;
  }

  /** Their health merged: each service runs on exactly one of them. */
  async health(): Promise<ActorNodeHealth> {
    const parts = await Promise.all(this.all.map((n) => n.call<ActorNodeHealth>('health')));
    return Object.assign({}, ...parts) as ActorNodeHealth;
  }

  logFiles(): string {
    return this.all.map((n) => n.logFile).join(', ');
  }
}

interface Completion {
  publishMs: number;
  pgMs: number;
  chMs: number;
  equipmentMs: number;
}

/**
 * Wait until both stores hold every load reading (and the equipment actors have applied them),
 * watching the actor node's consumer counters (cheap, every 100 ms) and confirming with a real
 * count in each store. Fails when nothing moves for `stallS` seconds, saying where it stopped.
 */
async function waitForStores(args: {
  nodes: ActorNodes;
  admin: Pool;
  ch: ClickHouseClient;
  tenant: BenchTenant;
  base: Processed;
  /** Rows of load units expected in each store at the end. */
  expectedRows: number;
  /** Load readings the actors must process (on top of `base`), without probes. */
  load: number;
  probesSent: () => number;
  t0: number;
  publishDone: Promise<number>;
  stallS: number;
}): Promise<Completion> {
  const { nodes, admin, ch, tenant, base, expectedRows, load, t0, stallS } = args;
  let publishMs: number | null = null;
  let publishError: unknown = null;
  args.publishDone.then(
    (t) => (publishMs = t - t0),
    (err: unknown) => (publishError = err ?? new Error('publishing failed')),
  );
  let pgMs: number | null = null;
  let chMs: number | null = null;
  let equipmentMs: number | null = null;
  let last = '';
  let lastChange = performance.now();
  let lastReport = performance.now();
  for (;;) {
    if (publishError !== null) throw publishError;
    checkInterrupted();
    const now = performance.now();
    const h = processedOf(await nodes.health());
    const target = load + args.probesSent();
    if (equipmentMs === null && h.equipment - base.equipment >= target) equipmentMs = now - t0;
    // The stores are done when the load units' rows are in: the probes go on while a sink
    // lingers over its batch, so a sink is always a few probes behind the count of those sent.
    if (pgMs === null && h.pg - base.pg >= load && (await pgCount(admin, tenant)) >= expectedRows)
      pgMs = now - t0;
    if (chMs === null && h.ch - base.ch >= load && (await chCount(ch, tenant)) >= expectedRows)
      chMs = now - t0;
    if (publishMs !== null && pgMs !== null && chMs !== null && equipmentMs !== null) {
      return { publishMs, pgMs, chMs, equipmentMs };
    }
    const state = `pg ${h.pg - base.pg} ch ${h.ch - base.ch} equipment ${h.equipment - base.equipment}`;
    if (state !== last) {
      last = state;
      lastChange = now;
    } else if (now - lastChange > stallS * 1000) {
      const [pgRows, chRows] = await Promise.all([pgCount(admin, tenant), chCount(ch, tenant)]);
      throw new Error(
        `no progress for ${stallS} s. Processed since the load started (target ${target}): ${state}; ` +
          `rows of load units: PostgreSQL ${pgRows}, ClickHouse ${chRows} (expected ${expectedRows}); ` +
          `publishing ${publishMs === null ? 'not finished' : 'finished'}. ` +
          `Consumer errors: ${h.errors.join('; ') || 'none'}. Actor node logs: ${nodes.logFiles()}`,
      );
    }
    if (now - lastReport > 5000) {
      lastReport = now;
      progress(`${((now - t0) / 1000).toFixed(1)} s: processed ${state} of ${target}`);
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------- report

interface Figures {
  raw: RawResult | null;
  completion: Completion;
  idle: Summary & { sent: number; lost: number };
  load: Summary & { sent: number; lost: number };
  cpuMs: Record<string, number | null>;
  /** Event-loop delay of the child processes during the load. */
  loopDelay: Record<string, LoopDelay>;
  wallMs: number;
  /** Per consumer of the actor node: processed, retried, dead-lettered, last error. */
  consumers: string[][];
  paced: (PacedFigures & { latency: Summary & { sent: number; lost: number } }) | null;
  heap: HeapPoint[];
  /** `--fleet`: alerts the load units raised, by rule key (none expected). */
  alertsOfLoadUnits: Record<string, number> | null;
}

/** The paced load after the unpaced one. */
interface PacedFigures {
  readings: number;
  completion: Completion;
  cpuMs: Record<string, number | null>;
  wallMs: number;
  loopDelay: Record<string, LoopDelay>;
}

/** The actor node's heap at one point of the run (after a full GC). */
interface HeapPoint extends ActorNodeHeap {
  label: string;
}

const HALF_WARM = 'after half the warm-up';
const WARM = 'after the warm-up';
/** Probes sent and not recorded before the idle ones (see where they are sent). */
const SETTLE_PROBES = 10;

interface HeapRow extends HeapPoint {
  /** Growth since the first point (only the probe's actor) over the actors added: an upper bound. */
  sinceStart: number | null;
  /** Bytes per idle actor: the marginal cost of a loaded actor plus its growth since (below). */
  perActor: number | null;
}

/**
 * Bytes per actor from the heap points. The growth over the second half of the warm-up divided
 * by its actors is what one more loaded, idle actor costs — everything the node keeps per unit
 * (decider state, the kernel's entry, unit info, timers), free of what it grows once (pools,
 * optimised code), which the first half absorbed. At each point from the end of the warm-up on,
 * that marginal cost plus the heap's growth since then spread over every actor (their state
 * grows with readings: rate samples, alert state).
 */
function heapRows(points: readonly HeapPoint[]): HeapRow[] {
  const first = points[0];
  const half = points.find((p) => p.label === HALF_WARM);
  const full = points.find((p) => p.label === WARM);
  const marginal =
    half && full && full.actors > half.actors
      ? (full.heapUsed - half.heapUsed) / (full.actors - half.actors)
      : null;
  const fullAt = full ? points.indexOf(full) : -1;
  return points.map((p, i) => ({
    ...p,
    sinceStart:
      first && i > 0 && p.actors > first.actors
        ? (p.heapUsed - first.heapUsed) / (p.actors - first.actors)
        : null,
    perActor:
      marginal !== null && full && first && i >= fullAt
        ? marginal + Math.max(0, p.heapUsed - full.heapUsed) / (full.actors - first.actors)
        : null,
  }));
}

const f0 = (n: number | null): string => (n === null || Number.isNaN(n) ? 'n/a' : n.toFixed(0));
const f1 = (n: number | null): string => (n === null || Number.isNaN(n) ? 'n/a' : n.toFixed(1));

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
    .join('\n');
}

function report(opts: Options, config: Config, f: Figures): Record<string, unknown> {
  const n = opts.readings;
  const c = f.completion;
  const bothMs = Math.max(c.pgMs, c.chMs);
  const rawRate = f.raw ? rate(f.raw.messages, f.raw.totalMs) : null;
  const e2e = rate(n, bothMs);
  const ratio = rawRate ? e2e / rawRate : null;
  const durability = resolveDurability(process.env);
  const heap = heapRows(f.heap);
  const lines: string[] = [];
  lines.push('');
  lines.push(
    `Vigil ingest bench: ${n} readings over ${opts.units} units, ${config.VIGIL_PARTITIONS} partitions, ` +
      `JetStream ${durability === 'always' ? 'VIGIL_DURABLE=always (on disk before the ack)' : 'default durability'}, ` +
      `${opts.batch} publishes in flight, ${opts.rate === null ? 'unpaced' : `paced at ${opts.rate}/s`}, ` +
      `${opts.splitSinks ? 'sinks in their own node, ' : ''}` +
      `namespace ${opts.namespace}`,
  );
  lines.push('');
  lines.push(
    table([
      ['throughput', 'readings/s', 'seconds'],
      ['raw JetStream publish+consume', f0(rawRate), f.raw ? (f.raw.totalMs / 1000).toFixed(2) : 'skipped'],
      ['end to end: publish (PubAcks)', f0(rate(n, c.publishMs)), (c.publishMs / 1000).toFixed(2)],
      ['end to end: PostgreSQL rows', f0(rate(n, c.pgMs)), (c.pgMs / 1000).toFixed(2)],
      ['end to end: ClickHouse rows', f0(rate(n, c.chMs)), (c.chMs / 1000).toFixed(2)],
      ['end to end: both stores', f0(e2e), (bothMs / 1000).toFixed(2)],
      ['equipment actors (alert path)', f0(rate(n, c.equipmentMs)), (c.equipmentMs / 1000).toFixed(2)],
      ['end to end / raw', ratio === null ? 'n/a' : ratio.toFixed(2), ''],
    ]),
  );
  lines.push('');
  lines.push(
    table([
      ['publish -> SSE alert (ms)', 'samples', 'lost', 'p50', 'p90', 'p99', 'max'],
      ...[
        ['idle', f.idle] as const,
        // Unpaced, the publisher outruns the pipeline: these samples include the backlog.
        [opts.rate === null ? 'under load (unpaced)' : `under load (${opts.rate}/s)`, f.load] as const,
      ].map(([label, s]) => latencyRow(label, s)),
    ]),
  );
  lines.push('');
  lines.push(cpuTable('CPU during the end-to-end run', f.cpuMs, f.wallMs, n));
  lines.push('');
  lines.push(loopTable('event-loop delay during the load (ms)', f.loopDelay));
  lines.push('');
  lines.push(table(f.consumers));
  if (f.paced) lines.push('', ...pacedReport(f.paced, opts));
  if (heap.length) {
    lines.push('');
    lines.push(
      table([
        ['actor node heap (after a full GC)', 'actors', 'MiB', 'since start/actor', 'bytes/idle actor'],
        ...heap.map((p) => [
          p.label,
          String(p.actors),
          (p.heapUsed / 2 ** 20).toFixed(1),
          f0(p.sinceStart),
          f0(p.perActor),
        ]),
      ]),
    );
  }
  if (opts.fleet) lines.push('', ...fleetFigures(f, { ratio, e2e, rawRate, heap }, opts));
  console.log(lines.join('\n'));
  return {
    readings: n,
    units: opts.units,
    partitions: config.VIGIL_PARTITIONS,
    inFlight: opts.batch,
    pacedRatePerS: opts.rate,
    splitSinks: opts.splitSinks,
    namespace: opts.namespace,
    durability,
    rawReadingsPerS: rawRate,
    publishReadingsPerS: rate(n, c.publishMs),
    pgReadingsPerS: rate(n, c.pgMs),
    chReadingsPerS: rate(n, c.chMs),
    endToEndReadingsPerS: e2e,
    equipmentReadingsPerS: rate(n, c.equipmentMs),
    ratioToRaw: ratio,
    latencyIdleMs: f.idle,
    latencyLoadMs: f.load,
    cpuMs: f.cpuMs,
    loopDelayMs: f.loopDelay,
    wallMs: f.wallMs,
    ...(f.paced
      ? {
          paced: {
            readings: f.paced.readings,
            ratePerS: opts.pacedRate,
            endToEndReadingsPerS: rate(f.paced.readings, bothStoresMs(f.paced.completion)),
            latencyMs: f.paced.latency,
            cpuMs: f.paced.cpuMs,
            loopDelayMs: f.paced.loopDelay,
            wallMs: f.paced.wallMs,
          },
        }
      : {}),
    ...(heap.length ? { heap } : {}),
    ...(f.alertsOfLoadUnits ? { alertsOfLoadUnits: f.alertsOfLoadUnits } : {}),
  };
}

const bothStoresMs = (c: Completion): number => Math.max(c.pgMs, c.chMs);

/** CPU seconds, cores and µs per reading of each process tree over `wallMs`. */
function cpuTable(title: string, cpuMs: Record<string, number | null>, wallMs: number, n: number): string {
  const cpuRows: string[][] = [[title, 'cpu s', 'cores', 'µs/reading']];
  const named = Object.entries(cpuMs).filter(([k]) => k !== 'machine');
  const machine = cpuMs['machine'] ?? null;
  const others =
    machine === null || named.some(([, v]) => v === null)
      ? null
      : machine - named.reduce((a, [, v]) => a + (v ?? 0), 0);
  for (const [name, ms] of [
    ...named,
    ['other processes', others] as const,
    ['whole machine', machine] as const,
  ]) {
    cpuRows.push([
      name,
      ms === null ? 'n/a' : (ms / 1000).toFixed(2),
      ms === null ? 'n/a' : (ms / wallMs).toFixed(2),
      ms === null ? 'n/a' : ((ms * 1000) / n).toFixed(0),
    ]);
  }
  return table(cpuRows);
}

function loopTable(title: string, loopDelay: Record<string, LoopDelay>): string {
  return table([
    [title, 'p50', 'p99', 'max'],
    ...Object.entries(loopDelay).map(([name, d]) => [name, f1(d.p50), f1(d.p99), f1(d.max)]),
  ]);
}

const latencyRow = (label: string, s: Summary & { sent: number; lost: number }): string[] => [
  label,
  String(s.count),
  String(s.lost),
  f1(s.p50),
  f1(s.p90),
  f1(s.p99),
  f1(s.max),
];

/**
 * The paced load: whether the pipeline kept up (the stores hold the last reading shortly after
 * its publish) and the publish → SSE latency at that rate.
 */
function pacedReport(p: NonNullable<Figures['paced']>, opts: Options): string[] {
  const c = p.completion;
  return [
    `Paced load: ${p.readings} readings at ${opts.pacedRate}/s (${opts.pacedS} s) after the unpaced load, probes every ${opts.probeMs} ms`,
    '',
    table([
      ['paced load', 'readings/s', 'seconds'],
      ['publish (PubAcks)', f0(rate(p.readings, c.publishMs)), (c.publishMs / 1000).toFixed(2)],
      ['both stores', f0(rate(p.readings, bothStoresMs(c))), (bothStoresMs(c) / 1000).toFixed(2)],
      ['equipment actors', f0(rate(p.readings, c.equipmentMs)), (c.equipmentMs / 1000).toFixed(2)],
      ['stores behind the last publish', '', ((bothStoresMs(c) - c.publishMs) / 1000).toFixed(2)],
    ]),
    '',
    table([
      ['publish -> SSE alert (ms)', 'samples', 'lost', 'p50', 'p90', 'p99', 'max'],
      latencyRow(`under the paced load (${opts.pacedRate}/s)`, p.latency),
    ]),
    '',
    cpuTable('CPU during the paced load', p.cpuMs, p.wallMs, p.readings),
    '',
    loopTable('event-loop delay during the paced load (ms)', p.loopDelay),
  ];
}

/** The fleet run's three figures against issue 7's aims, last, where a reader looks. */
function fleetFigures(
  f: Figures,
  r: { ratio: number | null; e2e: number; rawRate: number | null; heap: HeapRow[] },
  opts: Options,
): string[] {
  const idle = r.heap.at(-1);
  const loaded = r.heap.find((p) => p.label === WARM);
  const added = idle ? idle.actors - r.heap[0]!.actors : 0;
  const p99 = f.paced?.latency;
  const alerts = Object.entries(f.alertsOfLoadUnits ?? {});
  return [
    `FLEET FIGURES (${opts.units} units × 5 rules, one of every kind)`,
    `  end to end, both stores:   ${f0(r.e2e)} readings/s; bare JetStream ${f0(r.rawRate)}/s; ratio ${
      r.ratio === null ? 'n/a' : r.ratio.toFixed(2)
    } (aim ≥ 0.43)`,
    `  memory per idle actor:     ${f0(loaded?.perActor ?? null)} bytes loaded (${added} actors, marginal over the warm-up's second half); ` +
      `${f0(idle?.perActor ?? null)} ${idle?.label ?? ''} counting all growth since per actor, ` +
      `${f0(idle?.sinceStart ?? null)} all since the node served (aim ≤ 2048)`,
    `  p99 publish → SSE alert:   ${f1(p99?.p99 ?? null)} ms at ${opts.pacedRate ?? 'n/a'} readings/s (${
      p99?.count ?? 0
    } samples, ${p99?.lost ?? 0} lost; aim ≤ 100)`,
    alerts.length
      ? `  WARNING: the load units raised alerts (${alerts.map(([k, n]) => `${k} ${n}`).join(', ')}): the rules were not quiet`
      : '  load units raised no alert: only the probe unit alerted, as intended',
  ];
}

// ---------------------------------------------------------------- main

function* only<T>(items: Iterable<T>, keep: (item: T) => boolean): Generator<T> {
  for (const item of items) if (keep(item)) yield item;
}

/**
 * The readings of a run: the default's one load (warmed by one reading per unit, older than
 * it), or, with the fleet's warm-up or a paced load, a chain of loads each following the one
 * before (`loadChain`), the raw phase publishing the same bytes as the timed load.
 */
function loadsOf(opts: Options, t: BenchTenant): { warm: Load | null; load: Load; paced: Load | null } {
  const pacedTotal = opts.pacedRate === null ? 0 : opts.pacedRate * opts.pacedS;
  if (!opts.fleet && pacedTotal === 0)
    return { warm: null, load: new Load(t.tenantId, t.unitIds, opts.readings, Date.now()), paced: null };
  const totals = [
    ...(opts.fleet ? [opts.units * FLEET.warmRounds] : []),
    opts.readings,
    ...(pacedTotal ? [pacedTotal] : []),
  ];
  const chain = loadChain(t.tenantId, t.unitIds, totals, Date.now(), opts.fleet ? FLEET.stepMs : 1000);
  const warm = opts.fleet ? chain.shift()! : null;
  return { warm, load: chain[0]!, paced: chain[1] ?? null };
}

async function run(opts: Options): Promise<void> {
  const ns = opts.namespace;
  const config = loadConfig(process.env, { VIGIL_NS: ns });
  progress(`namespace ${ns}; migrating ${new URL(config.DATABASE_URL).pathname.slice(1)}`);
  await migrate(config);
  const names = namesFor(ns);
  // The publisher plays the devices: a lean client. Async stack traces cost two Error
  // objects per request in nats.js, a third of the publisher's CPU.
  const nc = await connect({ servers: config.NATS_URL, name: 'vigil-bench', noAsyncTraces: true });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const admin = createPool(config, 'admin', 2);
  const ch = createClickHouse(config);
  const logDir = join(tmpdir(), `vigil-bench-${ns}`);
  mkdirSync(logDir, { recursive: true });
  const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
  let failed = false;
  try {
    const tenant = await seedTenant(
      admin,
      ns,
      opts.units,
      opts.fleet ? { rules: fleetRules(Date.now(), FLEET.timeZone), timeZone: FLEET.timeZone } : {},
    );
    if (!opts.keep)
      cleanups.push({ what: 'delete the bench tenant', run: () => dropTenant(admin, ch, tenant.tenantId) });
    const { warm, load, paced } = loadsOf(opts, tenant);
    progress(`tenant ${tenant.tenantId}: ${opts.units} units + 1 probe unit; logs in ${logDir}`);

    // ------------------------------------------------------------ phase 1
    let raw: RawResult | null = null;
    if (!opts.skipRaw) {
      progress(`phase 1: ${opts.readings} readings through bare JetStream`);
      raw = await measureRawJetStream(js, jsm, ns, load, {
        window: opts.batch,
        fetch: opts.fetch,
        stallMs: opts.stallS * 1000,
        interrupted: () => interrupted,
      });
      progress(`phase 1: ${rate(raw.messages, raw.totalMs).toFixed(0)} msgs/s`);
    }

    // ------------------------------------------------------------ phase 2
    if (!opts.keep)
      cleanups.push({ what: 'delete the namespace streams', run: () => deleteNamespace(jsm, names) });
    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      VIGIL_NS: ns,
      LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'warn',
      BENCH_TENANT_ID: tenant.tenantId,
    };
    const profileDir = opts.profile ? join(logDir, 'profiles') : undefined;
    progress(`phase 2: starting the actor node${opts.splitSinks ? 's' : ''}`);
    const actor = await ChildNode.start<{ nodeID: string }>({
      name: 'actor node',
      script: 'bench/lib/actor-node.ts',
      env: opts.splitSinks ? { ...childEnv, BENCH_SERVICES: 'equipment,alerts' } : childEnv,
      logFile: join(logDir, 'actor-node.log'),
      ...(profileDir ? { cpuProfileDir: profileDir } : {}),
      ...(opts.heap ? { nodeFlags: ['--expose-gc'] } : {}),
    });
    cleanups.push({ what: 'stop the actor node', run: () => actor.stop() });
    let sinkNode: ChildNode<{ nodeID: string }> | null = null;
    if (opts.splitSinks) {
      const node = await ChildNode.start<{ nodeID: string }>({
        name: 'sink node',
        script: 'bench/lib/actor-node.ts',
        env: { ...childEnv, BENCH_SERVICES: 'telemetry-pg,telemetry-ch' },
        logFile: join(logDir, 'sink-node.log'),
        ...(profileDir ? { cpuProfileDir: profileDir } : {}),
      });
      cleanups.push({ what: 'stop the sink node', run: () => node.stop() });
      sinkNode = node;
    }
    const nodes = new ActorNodes(sinkNode ? [actor, sinkNode] : [actor]);
    const gateway = await ChildNode.start<{ url: string; token: string }>({
      name: 'gateway',
      script: 'bench/lib/gateway-node.ts',
      env: childEnv,
      logFile: join(logDir, 'gateway.log'),
      ...(profileDir ? { cpuProfileDir: profileDir } : {}),
    });
    cleanups.push({ what: 'stop the gateway', run: () => gateway.stop() });

    const prober = new Prober(js, names, tenant, { breach: PROBE_BREACH_C, clear: PROBE_CLEAR_C });
    cleanups.push({ what: 'stop probing', run: async () => prober.stopFiring() });
    const sse = await SseClient.open(`${gateway.ready.url}/v1/stream?kind=alert`, {
      token: gateway.ready.token,
      onFrame: (f) => prober.onFrame(f),
      requireOk: true,
    });
    cleanups.push({ what: 'close the SSE stream', run: () => sse.close() });
    for (let i = 0; i < 2; i++) {
      if (!(await prober.roundTrip(30_000))) {
        throw new Error(
          `a probe reading produced no alert on SSE within 30 s (stream ${sse.ended ? 'ended' : 'open'}` +
            `${sse.error ? `: ${String(sse.error)}` : ''}); see ${nodes.logFiles()} and ${gateway.logFile}`,
        );
      }
    }

    /** Past the partitions' commit interval: no snapshot is being taken or written. */
    const pastCommits = (): Promise<void> => sleep(DEFAULT_COMMIT_INTERVAL_MS + 2500);
    /** `count` probes of `phase`, one every `probeMs`, and their answers. */
    const probeRound = async (phase: string, count: number): Promise<void> => {
      prober.start(phase, opts.probeMs);
      await sleep(count * opts.probeMs);
      prober.stopFiring();
      await prober.settle(5000);
    };
    const heap: HeapPoint[] = [];
    const measureHeap = async (label: string): Promise<void> => {
      if (!opts.heap) return;
      await pastCommits();
      heap.push({ label, ...(await actor.call<ActorNodeHeap>('heap', 60_000)) });
      progress(`heap ${label}: ${(heap.at(-1)!.heapUsed / 2 ** 20).toFixed(1)} MiB`);
    };
    await measureHeap('before the warm-up');

    const warmRows = warm ? warm.total : opts.units;
    progress(
      warm
        ? `warm-up: ${warm.total} readings (${FLEET.warmRounds} per unit), so every actor is loaded and its rate window full before timing`
        : `warm-up: one reading per unit (${opts.units}), so every actor is loaded before timing`,
    );
    const window = new InFlightWindow(opts.batch);
    const warmReadings = (): Iterable<BenchReading> => (warm ? warm.readings() : load.warmup());
    /** Publishes the warm-up readings `pick` keeps and waits until both stores hold them. */
    const warmUp = async (pick: (r: BenchReading) => boolean): Promise<void> => {
      let rows = 0;
      for (const r of warmReadings()) if (pick(r)) rows++;
      const warmBase = processedOf(await nodes.health());
      const warmT0 = performance.now();
      const storedBefore = await pgCount(admin, tenant);
      await waitForStores({
        nodes,
        admin,
        ch,
        tenant,
        base: warmBase,
        expectedRows: storedBefore + rows,
        load: rows,
        probesSent: () => 0,
        t0: warmT0,
        publishDone: publishAll(js, names, only(warmReadings(), pick), window).then(() => performance.now()),
        stallS: opts.stallS,
      });
    };
    if (opts.heap) {
      // In two halves, the heap measured between them: the second half's growth over its actors
      // is the marginal cost of a loaded actor, free of what the node grows once (pools, code).
      const firstHalf = new Set(tenant.unitIds.slice(0, Math.ceil(opts.units / 2)));
      await warmUp((r) => firstHalf.has(r.equipmentId));
      await measureHeap(HALF_WARM);
      await warmUp((r) => !firstHalf.has(r.equipmentId));
    } else {
      await warmUp(() => true);
    }
    await measureHeap(WARM);

    // Idle means idle. The stores can hold the warm-up's last rows while the partitions still
    // commit the snapshots of every actor it touched (10-30 ms of the loop each, 8 at once); and
    // the first probes after the heap's forced full GCs were slow as well, with no stall of any
    // loop to show for it. Either way the idle phase's first two or three probes took 50-180 ms,
    // and the idle p99 was theirs. So: past a commit interval (measureHeap waits one), then
    // unrecorded probes.
    if (!opts.heap) await pastCommits();
    await probeRound('settle', SETTLE_PROBES);

    progress(`idle latency: ${opts.idleProbes} probes, one every ${opts.probeMs} ms`);
    await probeRound('idle', opts.idleProbes);
    checkInterrupted();

    progress(`load: ${opts.readings} readings`);
    const pids = {
      bench: process.pid,
      'actor node': actor.pid,
      ...(sinkNode ? { 'sink node': sinkNode.pid } : {}),
      gateway: gateway.pid,
      nats: null as number | null,
      postgres: null as number | null,
      clickhouse: null as number | null,
    };
    const stack = await stackStatus().catch(() => null);
    if (stack) {
      pids.nats = stack.nats.pid ?? null;
      pids.postgres = stack.postgres.pid ?? null;
      pids.clickhouse = stack.clickhouse.pid ?? null;
    }
    const base = processedOf(await nodes.health());
    // Starts the event-loop delay windows of the children.
    const children = [...nodes.all, gateway];
    await Promise.all(children.map((c) => c.call('loopDelay')));
    const cpu0 = cpuSnapshot(pids);
    const t0 = performance.now();
    prober.start('load', opts.probeMs);
    const probesAtStart = prober.stats('load').sent;
    const publishDone = publishAll(js, names, load.readings(), window, opts.rate).then(() =>
      performance.now(),
    );
    const completion = await waitForStores({
      nodes,
      admin,
      ch,
      tenant,
      base,
      expectedRows: warmRows + opts.readings,
      load: opts.readings,
      probesSent: () => prober.stats('load').sent - probesAtStart,
      t0,
      publishDone,
      stallS: opts.stallS,
    });
    const wallMs = performance.now() - t0;
    const cpuMs = cpuDelta(cpu0, cpuSnapshot(pids));
    const loops = await Promise.all(children.map((c) => c.call<LoopDelay>('loopDelay')));
    const loopDelay = Object.fromEntries(children.map((c, i) => [c.name, loops[i]!]));
    let consumers = consumerTable(await nodes.health());
    prober.stopFiring();
    await prober.settle(5000);
    await measureHeap('after the load');

    let pacedFigures: PacedFigures | null = null;
    if (paced && opts.pacedRate !== null) {
      progress(`paced load: ${paced.total} readings at ${opts.pacedRate}/s (${opts.pacedS} s)`);
      const pBase = processedOf(await nodes.health());
      await Promise.all(children.map((c) => c.call('loopDelay')));
      const pCpu0 = cpuSnapshot(pids);
      const pT0 = performance.now();
      prober.start('paced', opts.probeMs);
      const pCompletion = await waitForStores({
        nodes,
        admin,
        ch,
        tenant,
        base: pBase,
        expectedRows: warmRows + opts.readings + paced.total,
        load: paced.total,
        probesSent: () => prober.stats('paced').sent,
        t0: pT0,
        publishDone: publishAll(js, names, paced.readings(), window, opts.pacedRate).then(() =>
          performance.now(),
        ),
        stallS: opts.stallS,
      });
      const pWallMs = performance.now() - pT0;
      const pCpuMs = cpuDelta(pCpu0, cpuSnapshot(pids));
      const pLoops = await Promise.all(children.map((c) => c.call<LoopDelay>('loopDelay')));
      prober.stopFiring();
      await prober.settle(5000);
      pacedFigures = {
        readings: paced.total,
        completion: pCompletion,
        cpuMs: pCpuMs,
        wallMs: pWallMs,
        loopDelay: Object.fromEntries(children.map((c, i) => [c.name, pLoops[i]!])),
      };
      await measureHeap('after the paced load');
      consumers = consumerTable(await nodes.health());
    }
    const alertsOfLoadUnits = opts.fleet ? await loadUnitAlerts(admin, tenant) : null;

    const stats = (phase: string): Figures['idle'] => {
      const s = prober.stats(phase);
      return { ...summarize(s.latencies), sent: s.sent, lost: s.sent - s.received };
    };
    if (sse.ended)
      progress(`the SSE stream ended during the run${sse.error ? `: ${String(sse.error)}` : ''}`);
    const result = report(opts, config, {
      raw,
      completion,
      idle: stats('idle'),
      load: stats('load'),
      cpuMs,
      loopDelay,
      wallMs,
      consumers,
      paced: pacedFigures ? { ...pacedFigures, latency: stats('paced') } : null,
      heap,
      alertsOfLoadUnits,
    });
    console.log(`BENCH_RESULT ${JSON.stringify(result)}`);
    if (opts.keep) progress(`kept: namespace ${ns}, tenant ${tenant.tenantId}`);
    if (profileDir) progress(`CPU profiles of the child processes are written to ${profileDir} as they exit`);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c.run();
      } catch (err) {
        progress(`cleanup: could not ${c.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    await Promise.allSettled([admin.end(), ch.close(), nc.drain()]);
    if (failed || opts.keep || opts.profile) progress(`logs kept in ${logDir}`);
    else rmSync(logDir, { recursive: true, force: true });
  }
}

try {
  await run(parseOptions(process.argv.slice(2), process.env));
} catch (err) {
  if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
  } else {
    console.error('bench failed:', err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
