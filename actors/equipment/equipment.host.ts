import {
  ConsumerRunner,
  PartitionLeases,
  decodeTelemetry,
  partitionsOf,
  publishEvent,
  type ConsumerStats,
  type Delivery,
  type Rejected,
  type StoredReading,
} from '../../streams/mod.ts';
import { VigilError, type Logger, type Pool } from '../../schemas/mod.ts';
import type { NodeDeps } from '../deps.ts';
import { fromNatsError } from '../errors.ts';
import {
  handle,
  initialState,
  isPublished,
  type DeciderRule,
  type EquipmentCommand,
  type EquipmentEvent,
  type EquipmentState,
  type UnitInfo,
} from './equipment.decider.ts';
import { RuleBook, UnitDirectory } from './equipment.repo.ts';
import { rulesForUnit } from './equipment.rules.ts';

/**
 * Hosts the equipment actors of the partitions this node owns. Around the pure decider it
 * does all the I/O: partition ownership (rendezvous hashing over the live nodes + a KV lease),
 * one ordered durable consumer per owned partition, unit and rule lookups, event publishing,
 * and snapshots.
 *
 * Recovery contract: after each batch the dirty actors' snapshots (state + last applied
 * stream sequence) are written, then the partition checkpoint, then one ack-all. A restarted
 * or new owner resumes the consumer right after the checkpoint and skips any message whose
 * sequence is at or below the snapshot of its actor, so nothing is applied twice; events a
 * replay re-emits carry the same ids and are dropped as duplicates.
 */

export interface EquipmentDeps extends NodeDeps {
  /** `vigil_worker` pool. */
  pool: Pool;
}

export interface EquipmentHostOptions {
  nodeId: string;
  /** Ids of the live nodes that run the equipment service (this one included). */
  liveNodes(): string[];
  /** Ids of nodes known to have left (their leases may be taken at once, without waiting for staleness). */
  goneNodes(): string[];
  leaseRenewMs?: number;
  leaseStaleMs?: number;
  acquireRetryMs?: number;
  rebalanceEveryMs?: number;
  /** Re-read a unit's site and setpoint this often. */
  unitRefreshMs?: number;
  /** Reload all rules this often, in case a `ctl.rules.changed` was missed (NATS core is not stored). */
  rulesRefreshMs?: number;
}

interface Actor {
  unit: UnitInfo;
  state: EquipmentState;
  /** Stream sequence of the last reading applied to `state`. */
  seq: number;
  dirty: boolean;
  unitCheckedAt: number;
}

interface Snapshot {
  v: 1;
  seq: number;
  unit: UnitInfo;
  state: EquipmentState;
  at: number;
}

export interface PartitionHealth {
  partition: number;
  phase: 'acquiring' | 'serving' | 'stopped';
  actors: number;
  consumer: ConsumerStats | null;
}

export interface EquipmentHealth {
  nodeId: string;
  partitions: PartitionHealth[];
  skippedRules: number;
}

/** One message at a time per partition: readings, commits and control commands never interleave. */
class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

function sleepFor(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const snapshotKey = (equipmentId: string): string => `eq.${equipmentId}`;
const checkpointKey = (p: number): string => `cp.equipment.${p}`;

function parseSnapshot(raw: unknown, equipmentId: string): Snapshot | null {
  const s = raw as Partial<Snapshot> | null;
  if (!s || s.v !== 1 || typeof s.seq !== 'number' || !s.state || typeof s.state !== 'object') return null;
  if (s.unit?.equipmentId !== equipmentId || typeof s.state.rules !== 'object') return null;
  return s as Snapshot;
}

class PartitionWorker {
  readonly p: number;
  readonly actors = new Map<string, Actor>();
  readonly lock = new Mutex();
  readonly #host: EquipmentHost;
  readonly #abort = new AbortController();
  #phase: PartitionHealth['phase'] = 'acquiring';
  #runner: ConsumerRunner<StoredReading> | null = null;
  /** Set when the lease was lost: nothing may be written for this partition any more. */
  #fenced = false;
  readonly done: Promise<void>;

  constructor(host: EquipmentHost, p: number, after: Promise<void> | undefined) {
    this.#host = host;
    this.p = p;
    this.done = this.#run(after);
  }

  stop(): Promise<void> {
    this.#abort.abort();
    return this.done;
  }

  health(): PartitionHealth {
    return {
      partition: this.p,
      phase: this.#phase,
      actors: this.actors.size,
      consumer: this.#runner?.stats() ?? null,
    };
  }

  async #run(after: Promise<void> | undefined): Promise<void> {
    // A previous worker of this partition on this node must have committed and let go first.
    await after;
    const host = this.#host;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      let held = false;
      try {
        held = await host.leases.acquire(this.p, new Set(host.goneNodes()));
      } catch (err) {
        host.log.warn({ err, partition: this.p }, 'cannot read partition lease');
      }
      if (!held) {
        await sleepFor(host.acquireRetryMs, signal);
        continue;
      }
      try {
        await this.#serve(signal);
      } catch (err) {
        host.log.error({ err, partition: this.p }, 'partition worker failed; retrying');
        await host.leases.release(this.p).catch(() => undefined);
        await sleepFor(1000, signal);
      }
    }
    this.#phase = 'stopped';
  }

  async #serve(signal: AbortSignal): Promise<void> {
    const host = this.#host;
    const { names, log } = host.deps;
    this.#fenced = false;
    const checkpoint = await host.readCheckpoint(this.p);
    const runner = new ConsumerRunner<StoredReading>({
      js: host.deps.js,
      jsm: host.deps.jsm,
      names,
      log,
      name: 'equipment',
      stream: names.telemetry.stream,
      durable: names.consumer(`equipment_p${this.p}`),
      filterSubject: names.telemetry.partition(this.p),
      dlqSource: 'telemetry',
      mode: 'ordered',
      decode: (msg) => decodeTelemetry(msg, names.ns, host.deps.config),
      handle: (batch) => this.lock.run(() => this.#handleReading(batch[0]!)),
      commit: (seq) => this.lock.run(() => this.#commit(seq)),
      resumeAfter: checkpoint,
      batchSize: 128,
      lingerMs: 20,
    });
    this.#runner = runner;
    let lost = false;
    try {
      await runner.start();
      this.#phase = 'serving';
      log.info({ partition: this.p, resumeAfter: checkpoint }, 'serving partition');
      while (await sleepFor(host.leaseRenewMs, signal)) {
        try {
          if (!(await host.leases.renew(this.p))) {
            lost = true;
            break;
          }
        } catch (err) {
          // A NATS blip: keep serving; staleness gives the lease slack.
          log.warn({ err, partition: this.p }, 'cannot renew partition lease');
        }
      }
      if (lost) {
        this.#fenced = true;
        log.warn({ partition: this.p }, 'partition lease taken by another node; stopping');
      }
      await runner.stop();
      if (!lost) await host.leases.release(this.p);
      log.info({ partition: this.p }, 'released partition');
    } finally {
      await runner.stop();
      this.#runner = null;
      this.actors.clear();
      this.#phase = 'acquiring';
    }
  }

  #ensureUnfenced(): void {
    // An outage-class error: retried in place until the runner stops, never dead-lettered.
    if (this.#fenced) throw new VigilError('DEPENDENCY_UNAVAILABLE', `lease of partition ${this.p} lost`);
  }

  async #handleReading(d: Delivery<StoredReading>): Promise<Rejected<StoredReading>[]> {
    this.#ensureUnfenced();
    const host = this.#host;
    const { reading } = d.value;
    const now = Date.now();
    let actor = this.actors.get(reading.equipmentId);
    if (!actor || now - actor.unitCheckedAt > host.unitRefreshMs) {
      const found = await host.units.lookup(reading.tenantId, reading.equipmentId, now);
      if (!found.ok) {
        this.actors.delete(reading.equipmentId);
        return [{ delivery: d, code: 'UNKNOWN_EQUIPMENT', reason: found.reason }];
      }
      if (actor) {
        actor.unit = found.unit;
        actor.unitCheckedAt = now;
      } else {
        actor = await this.#restore(found.unit, now);
      }
    }
    // Applied before the last restart (its snapshot is newer than the partition checkpoint).
    if (d.msg.seq <= actor.seq) return [];
    const rules = await host.rulesFor(actor.unit);
    const next = await host.apply(
      actor.state,
      { type: 'RecordReading', data: { reading, unit: actor.unit, rules } },
      now,
    );
    actor.state = next;
    actor.seq = d.msg.seq;
    actor.dirty = true;
    return [];
  }

  async #restore(unit: UnitInfo, now: number): Promise<Actor> {
    const host = this.#host;
    const snap = await host.readSnapshot(unit.equipmentId);
    const actor: Actor = {
      unit,
      state: snap?.state ?? initialState(),
      seq: snap?.seq ?? 0,
      dirty: false,
      unitCheckedAt: now,
    };
    // An alert closed while no actor watched (a missed ctl.alert.closed) must not stay open here.
    const open = Object.entries(actor.state.rules).flatMap(([ruleKey, rs]) =>
      rs.phase === 'pending' ? [] : [{ ruleKey, alertId: rs.alert.id }],
    );
    if (open.length) {
      const resolved = await host.units.resolvedAlerts(open.map((o) => o.alertId));
      for (const o of open) {
        if (!resolved.has(o.alertId)) continue;
        actor.state = await host.apply(actor.state, { type: 'CloseAlert', data: o }, now);
        actor.dirty = true;
      }
    }
    this.actors.set(unit.equipmentId, actor);
    if (snap)
      host.log.debug({ equipmentId: unit.equipmentId, seq: snap.seq }, 'actor restored from snapshot');
    return actor;
  }

  async #commit(seq: number): Promise<void> {
    this.#ensureUnfenced();
    const dirty = [...this.actors.values()].filter((a) => a.dirty);
    await Promise.all(dirty.map((a) => this.#host.writeSnapshot(a)));
    for (const a of dirty) a.dirty = false;
    await this.#host.writeCheckpoint(this.p, seq);
  }

  /** Apply a control command to the live actors it concerns (runs under the partition lock). */
  async control(select: (a: Actor) => Promise<EquipmentCommand | null>): Promise<void> {
    if (this.#phase !== 'serving') return;
    this.#ensureUnfenced();
    for (const actor of this.actors.values()) {
      const command = await select(actor);
      if (!command) continue;
      const before = actor.state;
      actor.state = await this.#host.apply(actor.state, command, Date.now());
      if (actor.state !== before) {
        await this.#host.writeSnapshot(actor);
        actor.dirty = false;
      }
    }
  }
}

export class EquipmentHost {
  readonly deps: EquipmentDeps;
  readonly log: Logger;
  readonly leases: PartitionLeases;
  readonly units: UnitDirectory;
  readonly rules: RuleBook;
  readonly leaseRenewMs: number;
  readonly acquireRetryMs: number;
  readonly unitRefreshMs: number;
  readonly #opts: EquipmentHostOptions;
  readonly #workers = new Map<number, PartitionWorker>();
  readonly #retiring = new Map<number, Promise<void>>();
  readonly #warned = new Set<string>();
  readonly #resolved = new Map<string, { version: number; siteId: string; rules: DeciderRule[] }>();
  #rulesVersion = 0;
  #subs: Array<{ unsubscribe(): void }> = [];
  #timer: NodeJS.Timeout | null = null;
  #rulesTimer: NodeJS.Timeout | null = null;
  #debounce: NodeJS.Timeout | null = null;
  #stopping = false;

  constructor(deps: EquipmentDeps, opts: EquipmentHostOptions) {
    this.deps = deps;
    this.log = deps.log;
    this.#opts = opts;
    this.leases = new PartitionLeases(deps.kv, 'equipment', opts.nodeId, {
      staleAfterMs: opts.leaseStaleMs ?? 15_000,
    });
    this.units = new UnitDirectory(deps.pool);
    this.rules = new RuleBook(deps.pool);
    this.leaseRenewMs = opts.leaseRenewMs ?? 3000;
    this.acquireRetryMs = opts.acquireRetryMs ?? 250;
    this.unitRefreshMs = opts.unitRefreshMs ?? 60_000;
  }

  liveNodes(): string[] {
    const nodes = this.#opts.liveNodes();
    return nodes.includes(this.#opts.nodeId) ? nodes : [...nodes, this.#opts.nodeId];
  }

  goneNodes(): string[] {
    return this.#opts.goneNodes().filter((n) => n !== this.#opts.nodeId);
  }

  async start(): Promise<void> {
    const { nc, names } = this.deps;
    this.#subs.push(
      nc.subscribe(names.ctl.rulesChanged, {
        callback: (err, msg) => {
          if (err) return;
          void this.#onRulesChanged(msg.data);
        },
      }),
      nc.subscribe(names.ctl.alertClosed, {
        callback: (err, msg) => {
          if (err) return;
          void this.#onAlertClosed(msg.data);
        },
      }),
    );
    await nc.flush();
    this.rebalance();
    this.#timer = setInterval(() => this.rebalance(), this.#opts.rebalanceEveryMs ?? 5000);
    this.#timer.unref();
    this.#rulesTimer = setInterval(
      () => {
        this.rules.clear();
        this.#rulesVersion++;
      },
      this.#opts.rulesRefreshMs ?? 5 * 60_000,
    );
    this.#rulesTimer.unref();
  }

  /** Coalesce bursts of membership events into one rebalance. */
  scheduleRebalance(): void {
    if (this.#stopping || this.#debounce) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = null;
      this.rebalance();
    }, 100);
  }

  rebalance(): void {
    if (this.#stopping) return;
    const count = this.deps.config.VIGIL_PARTITIONS;
    const desired = new Set(partitionsOf(this.#opts.nodeId, this.liveNodes(), count));
    for (let p = 0; p < count; p++) {
      const worker = this.#workers.get(p);
      if (desired.has(p) && !worker) {
        this.#workers.set(p, new PartitionWorker(this, p, this.#retiring.get(p)));
      } else if (!desired.has(p) && worker) {
        this.#workers.delete(p);
        const done: Promise<void> = worker.stop().finally(() => {
          if (this.#retiring.get(p) === done) this.#retiring.delete(p);
        });
        this.#retiring.set(p, done);
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#rulesTimer) clearInterval(this.#rulesTimer);
    if (this.#debounce) clearTimeout(this.#debounce);
    for (const sub of this.#subs) sub.unsubscribe();
    this.#subs = [];
    const workers = [...this.#workers.values()];
    this.#workers.clear();
    await Promise.all([...workers.map((w) => w.stop()), ...this.#retiring.values()]);
  }

  health(): EquipmentHealth {
    return {
      nodeId: this.#opts.nodeId,
      partitions: [...this.#workers.values()].sort((a, b) => a.p - b.p).map((w) => w.health()),
      skippedRules: this.#warned.size,
    };
  }

  /** Enabled, supported rules of a unit; unsupported or invalid ones are reported once. */
  async rulesFor(unit: UnitInfo): Promise<DeciderRule[]> {
    const version = this.#rulesVersion;
    const cached = this.#resolved.get(unit.equipmentId);
    if (cached && cached.version === version && cached.siteId === unit.siteId) return cached.rules;
    const { rules, skipped } = rulesForUnit(await this.rules.rowsFor(unit.tenantId), unit);
    for (const s of skipped) {
      const key = `${s.ruleId}:${s.code}`;
      if (this.#warned.has(key)) continue;
      this.#warned.add(key);
      this.log.warn(
        { ruleId: s.ruleId, ruleKey: s.key, kind: s.kind, code: s.code, reason: s.reason },
        'alert rule skipped',
      );
    }
    if (version === this.#rulesVersion)
      this.#resolved.set(unit.equipmentId, { version, siteId: unit.siteId, rules });
    return rules;
  }

  /** Decide, publish what leaves the actor, and only then return the new state. */
  async apply(state: EquipmentState, command: EquipmentCommand, now: number): Promise<EquipmentState> {
    const result = handle(state, command, now);
    await this.#publish(result.events);
    return result.state;
  }

  async #publish(events: EquipmentEvent[]): Promise<void> {
    for (const e of events) {
      if (!isPublished(e)) continue;
      try {
        await publishEvent(this.deps.js, this.deps.names, e.data);
      } catch (err) {
        throw fromNatsError(err, 'publishing alert event');
      }
    }
  }

  async readCheckpoint(p: number): Promise<number> {
    try {
      const entry = await this.deps.kv.get(checkpointKey(p));
      if (!entry || entry.operation !== 'PUT') return 0;
      const seq = entry.json<{ seq?: unknown }>().seq;
      return typeof seq === 'number' && Number.isInteger(seq) && seq >= 0 ? seq : 0;
    } catch (err) {
      throw fromNatsError(err, 'reading partition checkpoint');
    }
  }

  async writeCheckpoint(p: number, seq: number): Promise<void> {
    try {
      await this.deps.kv.put(checkpointKey(p), JSON.stringify({ seq, at: Date.now() }));
    } catch (err) {
      throw fromNatsError(err, 'writing partition checkpoint');
    }
  }

  async readSnapshot(equipmentId: string): Promise<Snapshot | null> {
    let raw: unknown;
    try {
      const entry = await this.deps.kv.get(snapshotKey(equipmentId));
      if (!entry || entry.operation !== 'PUT') return null;
      raw = entry.json();
    } catch (err) {
      if (err instanceof SyntaxError) raw = null;
      else throw fromNatsError(err, 'reading actor snapshot');
    }
    const snap = parseSnapshot(raw, equipmentId);
    if (!snap && raw !== null) this.log.warn({ equipmentId }, 'ignoring unreadable actor snapshot');
    return snap;
  }

  async writeSnapshot(actor: Actor): Promise<void> {
    const snap: Snapshot = { v: 1, seq: actor.seq, unit: actor.unit, state: actor.state, at: Date.now() };
    try {
      await this.deps.kv.put(snapshotKey(actor.unit.equipmentId), JSON.stringify(snap));
    } catch (err) {
      throw fromNatsError(err, 'writing actor snapshot');
    }
  }

  async #onRulesChanged(data: Uint8Array): Promise<void> {
    let tenantId: string | null;
    try {
      const body = JSON.parse(Buffer.from(data).toString('utf8')) as { tenantId?: unknown };
      tenantId = typeof body.tenantId === 'string' ? body.tenantId : null;
    } catch (err) {
      this.log.warn({ err }, 'ignoring malformed rules-changed message');
      return;
    }
    try {
      await this.rules.reload(tenantId);
      this.#rulesVersion++;
      for (const w of [...this.#workers.values()]) {
        await w.lock.run(() =>
          w.control(async (a) =>
            tenantId !== null && a.unit.tenantId !== tenantId
              ? null
              : { type: 'ReconcileRules', data: { unit: a.unit, rules: await this.rulesFor(a.unit) } },
          ),
        );
      }
      this.log.info({ tenantId }, 'alert rules reloaded');
    } catch (err) {
      // The next reading evaluates with whatever rules load then; nothing is lost.
      this.log.warn({ err, tenantId }, 'applying changed rules failed');
    }
  }

  async #onAlertClosed(data: Uint8Array): Promise<void> {
    let body: { tenantId?: unknown; equipmentId?: unknown; alertId?: unknown; ruleKey?: unknown };
    try {
      body = JSON.parse(Buffer.from(data).toString('utf8')) as typeof body;
    } catch (err) {
      this.log.warn({ err }, 'ignoring malformed alert-closed message');
      return;
    }
    const { equipmentId, alertId, ruleKey } = body;
    if (typeof equipmentId !== 'string' || typeof alertId !== 'string' || typeof ruleKey !== 'string') return;
    for (const w of [...this.#workers.values()]) {
      if (!w.actors.has(equipmentId)) continue;
      try {
        await w.lock.run(() =>
          w.control(async (a) =>
            a.unit.equipmentId === equipmentId ? { type: 'CloseAlert', data: { ruleKey, alertId } } : null,
          ),
        );
      } catch (err) {
        this.log.warn({ err, equipmentId, alertId }, 'applying closed alert failed');
      }
    }
  }
}
