import {
  ConsumerRunner,
  PartitionLeases,
  TelemetryDecoder,
  isRevisionConflict,
  partitionsOf,
  publishEvent,
  putAtRevision,
  sleepFor,
  type ConsumerStats,
  type Delivery,
  type KV,
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
  type MaintenanceWindow,
  type RuleState,
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
 * Recovery contract: a commit (every 1 024 readings or every second) takes the dirty actors'
 * snapshots (state + last applied stream sequence) as of its last reading S, writes them, then
 * the partition checkpoint S, then one ack-all up to S. Readings after S are handled while
 * those writes are under way; they belong to the next commit. A restarted
 * or new owner resumes the consumer right after the checkpoint and skips any message whose
 * sequence is at or below the snapshot of its actor, so nothing is applied twice; events a
 * replay re-emits carry the same ids and are dropped as duplicates. Snapshots and checkpoints
 * are written compare-and-set on the revision this owner last read or wrote: an owner that
 * lost its lease without noticing yet (a long pause) fails its next write and stops, instead
 * of moving the new owner's checkpoint.
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
  /** KV revision of the actor's snapshot as this owner last read or wrote it; 0 = none. */
  snapshotRevision: number;
  maintenance: MaintenanceWindow[];
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
  /** Snapshots that could not be read since start: those actors began from a blank state. */
  unreadableSnapshots: number;
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

const snapshotKey = (equipmentId: string): string => `eq.${equipmentId}`;
const checkpointKey = (p: number): string => `cp.equipment.${p}`;

/** Fields a snapshot written by an older version may lack, filled with what they meant then. */
function upgradeRuleState(rs: RuleState): RuleState {
  if (rs.phase === 'pending') return rs;
  // Typed as present, but absent (undefined) in snapshots older than the fields.
  const { suppressed, acknowledged } = rs.alert;
  return {
    ...rs,
    alert: { ...rs.alert, suppressed: suppressed === true, acknowledged: acknowledged === true },
  };
}

/** The snapshot, or why it cannot be used. */
function parseSnapshot(raw: unknown, equipmentId: string): Snapshot | string {
  const s = raw as Partial<Snapshot> | null;
  if (!s || typeof s !== 'object') return 'not a JSON object';
  if (s.v !== 1) return `unknown snapshot version ${String(s.v)}`;
  if (typeof s.seq !== 'number' || !s.state || typeof s.state !== 'object') return 'no seq or state';
  if (s.unit?.equipmentId !== equipmentId) return 'snapshot of another unit';
  if (!s.state.rules || typeof s.state.rules !== 'object') return 'no rule states';
  const rules: EquipmentState['rules'] = {};
  for (const [key, rs] of Object.entries(s.state.rules)) {
    if (!rs || typeof rs !== 'object') return `rule state ${key} is not an object`;
    rules[key] = upgradeRuleState(rs);
  }
  return { ...(s as Snapshot), state: { ...s.state, rules } };
}

/** Open alerts of a state, by rule key. */
function openAlerts(
  state: EquipmentState,
): Array<{ ruleKey: string; alertId: string; acknowledged: boolean }> {
  return Object.entries(state.rules).flatMap(([ruleKey, rs]) =>
    rs.phase === 'pending' ? [] : [{ ruleKey, alertId: rs.alert.id, acknowledged: rs.alert.acknowledged }],
  );
}

class PartitionWorker {
  readonly p: number;
  readonly actors = new Map<string, Actor>();
  readonly lock = new Mutex();
  readonly #host: EquipmentHost;
  readonly #abort = new AbortController();
  #phase: PartitionHealth['phase'] = 'acquiring';
  #runner: ConsumerRunner<StoredReading> | null = null;
  /** Actors changed since the last commit: only these are snapshotted. */
  readonly #dirty = new Set<Actor>();
  /** The snapshot and checkpoint writes of the commit under way (never rejects). */
  #writing: Promise<void> = Promise.resolve();
  /** KV revision of the partition checkpoint as this owner last read or wrote it; 0 = none. */
  #checkpointRevision = 0;
  /** Set when ownership was lost: nothing may be written for this partition any more. */
  #fenced = false;
  /** Ends the current serving session at once (fenced by a failed compare-and-set). */
  #session: AbortController | null = null;
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
    const session = new AbortController();
    const onStop = (): void => session.abort();
    signal.addEventListener('abort', onStop, { once: true });
    this.#session = session;
    const checkpoint = await host.readCheckpoint(this.p);
    this.#checkpointRevision = checkpoint.revision;
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
      decode: (msg) => host.telemetry.decode(msg),
      handle: (batch) => this.lock.run(() => this.#handleReading(batch[0]!)),
      commit: (seq) => this.#commit(seq),
      resumeAfter: checkpoint.seq,
      // One snapshot per dirty actor per commit: with ~125 units a partition, committing every
      // 1 024 readings or every second writes a few snapshots per hundred readings, not one each.
      batchSize: 1024,
      commitIntervalMs: 1000,
    });
    this.#runner = runner;
    let lost = false;
    try {
      await runner.start();
      this.#phase = 'serving';
      log.info({ partition: this.p, resumeAfter: checkpoint.seq }, 'serving partition');
      while (await sleepFor(host.leaseRenewMs, session.signal)) {
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
      // Fenced by a failed write: the lease may still be ours, and the next round takes it again.
      if (!lost && !this.#fenced) await host.leases.release(this.p);
      log.info({ partition: this.p, fenced: this.#fenced }, 'released partition');
    } finally {
      signal.removeEventListener('abort', onStop);
      await runner.stop();
      this.#runner = null;
      this.#session = null;
      this.actors.clear();
      this.#dirty.clear();
      this.#phase = 'acquiring';
    }
  }

  #ensureUnfenced(): void {
    // An outage-class error: retried in place until the runner stops, never dead-lettered.
    if (this.#fenced) throw new VigilError('DEPENDENCY_UNAVAILABLE', `lease of partition ${this.p} lost`);
  }

  /** Another owner wrote what we were about to overwrite: stop serving now. */
  #fence(what: string, err: unknown): never {
    this.#fenced = true;
    this.#session?.abort();
    this.#host.log.warn({ err, partition: this.p, what }, 'another owner moved the partition on; stopping');
    throw new VigilError(
      'DEPENDENCY_UNAVAILABLE',
      `partition ${this.p} fenced: ${what} changed by another owner`,
      {
        cause: err,
      },
    );
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
        if (actor) this.#dirty.delete(actor);
        this.actors.delete(reading.equipmentId);
        return [{ delivery: d, code: 'UNKNOWN_EQUIPMENT', reason: found.reason }];
      }
      if (actor) {
        actor.unit = found.unit;
        actor.maintenance = found.maintenance;
        actor.unitCheckedAt = now;
        await this.#syncAlerts(actor, now);
      } else {
        actor = await this.#restore(found.unit, found.maintenance, now);
      }
    }
    // Applied before the last restart (its snapshot is newer than the partition checkpoint).
    if (d.msg.seq <= actor.seq) return [];
    const rules = await host.rulesFor(actor.unit);
    const next = await host.apply(
      actor.state,
      { type: 'RecordReading', data: { reading, unit: actor.unit, rules, maintenance: actor.maintenance } },
      now,
    );
    actor.state = next;
    actor.seq = d.msg.seq;
    this.#dirty.add(actor);
    return [];
  }

  async #restore(unit: UnitInfo, maintenance: MaintenanceWindow[], now: number): Promise<Actor> {
    const host = this.#host;
    const { snapshot, revision } = await host.readSnapshot(unit.equipmentId);
    const actor: Actor = {
      unit,
      state: snapshot?.state ?? initialState(),
      seq: snapshot?.seq ?? 0,
      snapshotRevision: revision,
      maintenance,
      unitCheckedAt: now,
    };
    await this.#syncAlerts(actor, now);
    this.actors.set(unit.equipmentId, actor);
    if (snapshot)
      host.log.debug({ equipmentId: unit.equipmentId, seq: snapshot.seq }, 'actor restored from snapshot');
    return actor;
  }

  /**
   * Catch up with what people did to the actor's open alerts while no actor watched or while a
   * control message was lost (NATS core is not stored): resolved ones are forgotten,
   * acknowledged ones recorded (a cleared latched alert then resolves).
   */
  async #syncAlerts(actor: Actor, now: number): Promise<void> {
    const open = openAlerts(actor.state);
    if (open.length === 0) return;
    const statuses = await this.#host.units.alertStatuses(open.map((o) => o.alertId));
    for (const o of open) {
      const status = statuses.get(o.alertId);
      let command: EquipmentCommand | null = null;
      if (status === 'resolved') command = { type: 'CloseAlert', data: o };
      else if (status === 'acknowledged' && !o.acknowledged)
        command = { type: 'AcknowledgeAlert', data: { ...o, unit: actor.unit } };
      if (!command) continue;
      const before = actor.state;
      actor.state = await this.#host.apply(actor.state, command, now);
      if (actor.state !== before) this.#dirty.add(actor);
    }
  }

  /**
   * Commit up to `seq`. The runner calls this right after handling `seq`, before the next
   * reading: queued first on the partition lock, the dirty actors' snapshots are taken exactly
   * as of `seq`. The writes then run outside the lock, while later readings are handled.
   */
  async #commit(seq: number): Promise<void> {
    const { writing } = await this.lock.run(async () => {
      this.#ensureUnfenced();
      const taken = [...this.#dirty].map((actor) => ({ actor, body: this.#host.snapshotBody(actor) }));
      this.#dirty.clear();
      const w = this.#persist(taken, seq);
      // Set under the lock, so a control command queued after this commit waits for it.
      this.#writing = w.catch(() => undefined);
      return { writing: w };
    });
    await writing;
  }

  /** Snapshots, then (only if every one landed) the checkpoint. */
  async #persist(taken: Array<{ actor: Actor; body: string }>, seq: number): Promise<void> {
    const results = await Promise.allSettled(taken.map((t) => this.#putSnapshot(t.actor, t.body)));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      // Written again by the next commit (with whatever state they have by then).
      results.forEach((r, i) => {
        if (r.status === 'rejected') this.#dirty.add(taken[i]!.actor);
      });
      throw (results[failed] as PromiseRejectedResult).reason;
    }
    try {
      this.#checkpointRevision = await this.#host.writeCheckpoint(this.p, seq, this.#checkpointRevision);
    } catch (err) {
      if (isRevisionConflict(err)) this.#fence('checkpoint', err);
      throw err;
    }
  }

  async #putSnapshot(actor: Actor, body: string): Promise<void> {
    try {
      actor.snapshotRevision = await this.#host.putSnapshot(actor, body);
    } catch (err) {
      if (isRevisionConflict(err)) this.#fence(`snapshot of ${actor.unit.equipmentId}`, err);
      throw err;
    }
  }

  /** Apply a control command to the live actors it concerns (runs under the partition lock). */
  async control(select: (a: Actor) => Promise<EquipmentCommand | null>): Promise<void> {
    if (this.#phase !== 'serving') return;
    this.#ensureUnfenced();
    // A commit may be writing these actors' snapshots: two writes at one revision would conflict.
    await this.#writing;
    for (const actor of this.actors.values()) {
      const command = await select(actor);
      if (!command) continue;
      const before = actor.state;
      actor.state = await this.#host.apply(actor.state, command, Date.now());
      if (actor.state !== before) {
        await this.#putSnapshot(actor, this.#host.snapshotBody(actor));
        this.#dirty.delete(actor);
      }
    }
  }

  /** Reload one unit's maintenance windows (runs under the partition lock). */
  async reloadMaintenance(equipmentId: string): Promise<void> {
    const actor = this.actors.get(equipmentId);
    if (!actor || this.#phase !== 'serving') return;
    actor.maintenance = await this.#host.units.maintenance(equipmentId);
  }
}

export class EquipmentHost {
  readonly deps: EquipmentDeps;
  readonly log: Logger;
  readonly leases: PartitionLeases;
  readonly units: UnitDirectory;
  readonly rules: RuleBook;
  readonly telemetry: TelemetryDecoder;
  readonly leaseRenewMs: number;
  readonly acquireRetryMs: number;
  readonly unitRefreshMs: number;
  readonly #opts: EquipmentHostOptions;
  readonly #workers = new Map<number, PartitionWorker>();
  readonly #retiring = new Map<number, Promise<void>>();
  readonly #warned = new Set<string>();
  #unreadableSnapshots = 0;
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
    this.units = new UnitDirectory(deps.pool, { horizonMs: deps.config.VIGIL_MAX_READING_AGE_S * 1000 });
    this.rules = new RuleBook(deps.pool);
    this.telemetry = deps.telemetry ?? new TelemetryDecoder(deps.names.ns, deps.config);
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
          void this.#onAlertControl(msg.data, 'closed');
        },
      }),
      nc.subscribe(names.ctl.alertAcknowledged, {
        callback: (err, msg) => {
          if (err) return;
          void this.#onAlertControl(msg.data, 'acknowledged');
        },
      }),
      nc.subscribe(names.ctl.maintenanceChanged, {
        callback: (err, msg) => {
          if (err) return;
          void this.#onMaintenanceChanged(msg.data);
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
      unreadableSnapshots: this.#unreadableSnapshots,
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

  /** Last committed stream sequence of partition `p`, and the checkpoint's KV revision (0 = none). */
  async readCheckpoint(p: number): Promise<{ seq: number; revision: number }> {
    try {
      const entry = await this.deps.kv.get(checkpointKey(p));
      // None, or deleted: `create` (revision 0) writes over a delete marker.
      if (!entry || entry.operation !== 'PUT') return { seq: 0, revision: 0 };
      let seq: unknown;
      try {
        seq = entry.json<{ seq?: unknown }>().seq;
      } catch {
        seq = undefined;
      }
      if (typeof seq === 'number' && Number.isInteger(seq) && seq >= 0)
        return { seq, revision: entry.revision };
      this.log.error(
        { partition: p },
        'unreadable partition checkpoint: replaying the partition from the start',
      );
      return { seq: 0, revision: entry.revision };
    } catch (err) {
      throw fromNatsError(err, 'reading partition checkpoint');
    }
  }

  /** Compare-and-set on `revision`; returns the new one. A conflict is thrown as is (see isRevisionConflict). */
  async writeCheckpoint(p: number, seq: number, revision: number): Promise<number> {
    try {
      return await putAtRevision(
        this.deps.kv,
        checkpointKey(p),
        JSON.stringify({ seq, at: Date.now() }),
        revision,
      );
    } catch (err) {
      if (isRevisionConflict(err)) throw err;
      throw fromNatsError(err, 'writing partition checkpoint');
    }
  }

  /**
   * The actor's snapshot (null: none, or unreadable — logged as an error, since the actor then
   * starts blank and forgets its open alerts) and the entry's KV revision (0 = none).
   */
  async readSnapshot(equipmentId: string): Promise<{ snapshot: Snapshot | null; revision: number }> {
    let entry: Awaited<ReturnType<KV['get']>>;
    try {
      entry = await this.deps.kv.get(snapshotKey(equipmentId));
    } catch (err) {
      throw fromNatsError(err, 'reading actor snapshot');
    }
    if (!entry || entry.operation !== 'PUT') return { snapshot: null, revision: 0 };
    const revision = entry.revision;
    let raw: unknown;
    let problem: string | null = null;
    try {
      raw = entry.json();
    } catch (err) {
      problem = `not JSON: ${(err as Error).message}`;
    }
    const parsed = problem === null ? parseSnapshot(raw, equipmentId) : problem;
    if (typeof parsed !== 'string') return { snapshot: parsed, revision };
    this.#unreadableSnapshots++;
    this.log.error(
      { equipmentId, key: snapshotKey(equipmentId), revision, reason: parsed },
      'UNREADABLE ACTOR SNAPSHOT: the actor starts from a blank state and has forgotten its open ' +
        'alerts; they stay open in PostgreSQL until the next alert of the same rule supersedes them',
    );
    return { snapshot: null, revision };
  }

  /** The actor's snapshot as it is now, serialised (what `putSnapshot` writes). */
  snapshotBody(actor: Actor): string {
    const snap: Snapshot = { v: 1, seq: actor.seq, unit: actor.unit, state: actor.state, at: Date.now() };
    return JSON.stringify(snap);
  }

  /** Compare-and-set on the actor's snapshot revision; returns the new one. */
  async putSnapshot(actor: Actor, body: string): Promise<number> {
    try {
      return await putAtRevision(
        this.deps.kv,
        snapshotKey(actor.unit.equipmentId),
        body,
        actor.snapshotRevision,
      );
    } catch (err) {
      if (isRevisionConflict(err)) throw err;
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

  /** A person closed or acknowledged an alert: tell its actor, if this node hosts it. */
  async #onAlertControl(data: Uint8Array, what: 'closed' | 'acknowledged'): Promise<void> {
    let body: { tenantId?: unknown; equipmentId?: unknown; alertId?: unknown; ruleKey?: unknown };
    try {
      body = JSON.parse(Buffer.from(data).toString('utf8')) as typeof body;
    } catch (err) {
      this.log.warn({ err, what }, 'ignoring malformed alert control message');
      return;
    }
    const { equipmentId, alertId, ruleKey } = body;
    if (typeof equipmentId !== 'string' || typeof alertId !== 'string' || typeof ruleKey !== 'string') return;
    for (const w of [...this.#workers.values()]) {
      if (!w.actors.has(equipmentId)) continue;
      try {
        await w.lock.run(() =>
          w.control(async (a): Promise<EquipmentCommand | null> => {
            if (a.unit.equipmentId !== equipmentId) return null;
            return what === 'closed'
              ? { type: 'CloseAlert', data: { ruleKey, alertId } }
              : { type: 'AcknowledgeAlert', data: { unit: a.unit, ruleKey, alertId } };
          }),
        );
      } catch (err) {
        // The actor reads the alert's status from PostgreSQL at its next unit refresh.
        this.log.warn({ err, equipmentId, alertId, what }, 'applying alert control message failed');
      }
    }
  }

  /** Maintenance records of a unit changed: reload its windows, if this node hosts it. */
  async #onMaintenanceChanged(data: Uint8Array): Promise<void> {
    let equipmentId: unknown;
    try {
      equipmentId = (JSON.parse(Buffer.from(data).toString('utf8')) as { equipmentId?: unknown }).equipmentId;
    } catch (err) {
      this.log.warn({ err }, 'ignoring malformed maintenance-changed message');
      return;
    }
    if (typeof equipmentId !== 'string') return;
    for (const w of [...this.#workers.values()]) {
      if (!w.actors.has(equipmentId)) continue;
      try {
        await w.lock.run(() => w.reloadMaintenance(equipmentId));
        this.log.debug({ equipmentId }, 'maintenance windows reloaded');
      } catch (err) {
        // The windows are reloaded with the unit at its next refresh anyway.
        this.log.warn({ err, equipmentId }, 'reloading maintenance windows failed');
      }
    }
  }
}
