import {
  ConsumerRunner,
  isRevisionConflict,
  sleepFor,
  type CasPosition,
  type ConsumerStats,
  type Delivery,
  type Rejected,
  type Subscription,
} from '../../streams/mod.ts';
import {
  ActorStateRequest,
  assertValid,
  isVigilError,
  VigilError,
  type ActorStateReply,
} from '../../schemas/mod.ts';
import type { ActorKind, ActorView } from './kind.ts';
import { Mutex } from './mutex.ts';
import type { KernelContext } from './kernel.ts';

export interface PartitionHealth {
  partition: number;
  phase: 'acquiring' | 'serving' | 'stopped';
  actors: number;
  consumer: ConsumerStats | null;
  /**
   * How the last take-over went (epoch ms): when the worker began, when it held the lease,
   * when it began consuming (after restoring the actors that have timers), and how many
   * actors that restored. Null until it first served.
   */
  startup: PartitionStartup | null;
}

export interface PartitionStartup {
  startedAt: number;
  leaseAt: number;
  servingAt: number;
  restoredActors: number;
}

/** A live actor: the view hooks see, plus the kernel's bookkeeping. */
export interface LiveActor<Ref, State, Ctx> extends ActorView<Ref, State, Ctx> {
  state: State;
  seq: number;
  /** KV revision of the actor's snapshot as this owner last read or wrote it; 0 = none. */
  snapshotRevision: number;
  /** Snapshot bodies written with no reply (see CasPosition); absent on nearly every actor. */
  snapshotUnsure?: string[] | undefined;
  contextLoadedAt: number;
}

/** Longest `setTimeout` Node accepts; a later wake re-arms when this fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One owned partition: acquires its lease, runs its ordered consumer, and holds its actors.
 * Everything that touches an actor — a message, a commit's snapshot taking, a timer, a control
 * function — runs under the partition's lock, one at a time.
 */
export class PartitionWorker<Ref, Msg, State, Command, Event, Ctx> {
  readonly p: number;
  readonly actors = new Map<string, LiveActor<Ref, State, Ctx>>();
  readonly lock = new Mutex();
  readonly #k: KernelContext<Ref, Msg, State, Command, Event, Ctx>;
  readonly #kind: ActorKind<Ref, Msg, State, Command, Event, Ctx>;
  readonly #abort = new AbortController();
  #phase: PartitionHealth['phase'] = 'acquiring';
  #runner: ConsumerRunner<Msg> | null = null;
  /** Actors changed since the last commit: only these are snapshotted. */
  readonly #dirty = new Set<LiveActor<Ref, State, Ctx>>();
  /** The snapshot and checkpoint writes of the commit under way (never rejects). */
  #writing: Promise<void> = Promise.resolve();
  /** The partition checkpoint's KV revision as this owner last read or wrote it (0 = none). */
  #checkpoint: CasPosition = { revision: 0 };
  /** Set when ownership was lost: nothing may be written for this partition any more. */
  #fenced = false;
  /** Ends the current serving session at once (fenced by a failed compare-and-set). */
  #session: AbortController | null = null;
  /** Pending wakes of live actors (epoch ms). */
  readonly #wakes = new Map<string, number>();
  /** Keys the KV wake index holds for this partition, as this owner last read or wrote it. */
  readonly #indexed = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Number.POSITIVE_INFINITY;
  /**
   * Since when (epoch ms) the partition has been behind its stream: the server counted
   * messages after the last one handled when it delivered it. Null: caught up. See #fireAt.
   */
  #behindSince: number | null = null;
  /** A wake was held back for that: catching up re-arms the timer (only then: it scans them all). */
  #deferred = false;
  #startup: PartitionStartup | null = null;
  /** Log every applied message (level trace): who applied which message when, for audits and tests. */
  readonly #traceApplied: boolean;
  readonly done: Promise<void>;

  constructor(
    k: KernelContext<Ref, Msg, State, Command, Event, Ctx>,
    p: number,
    after: Promise<void> | undefined,
  ) {
    this.#k = k;
    this.#kind = k.kind;
    this.p = p;
    this.#traceApplied = k.log.isLevelEnabled('trace');
    this.done = this.#run(after);
  }

  get serving(): boolean {
    return this.#phase === 'serving';
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
      startup: this.#startup,
    };
  }

  async #run(after: Promise<void> | undefined): Promise<void> {
    // A previous worker of this partition on this node must have committed and let go first.
    await after;
    const k = this.#k;
    const signal = this.#abort.signal;
    let startedAt = Date.now();
    while (!signal.aborted) {
      let held = false;
      try {
        held = await k.leases.acquire(this.p, new Set(k.goneNodes()));
      } catch (err) {
        k.log.warn({ err, partition: this.p }, 'cannot read partition lease');
      }
      if (!held) {
        await sleepFor(k.acquireRetryMs, signal);
        continue;
      }
      try {
        await this.#serve(signal, startedAt);
      } catch (err) {
        k.log.error({ err, partition: this.p }, 'partition worker failed; retrying');
        await k.leases.release(this.p).catch(() => undefined);
        await sleepFor(1000, signal);
      }
      startedAt = Date.now();
    }
    this.#phase = 'stopped';
  }

  async #serve(signal: AbortSignal, startedAt: number): Promise<void> {
    const leaseAt = Date.now();
    const k = this.#k;
    const { log } = k;
    this.#fenced = false;
    const session = new AbortController();
    const onStop = (): void => session.abort();
    signal.addEventListener('abort', onStop, { once: true });
    this.#session = session;
    let runner: ConsumerRunner<Msg> | null = null;
    let queries: Subscription | null = null;
    let lost = false;
    try {
      const checkpoint = await k.store.readCheckpoint(this.p);
      this.#checkpoint = { revision: checkpoint.revision };
      // Actors with a pending timer wake even if no message of theirs ever comes again.
      const restoredActors = await this.#restoreWaking();
      runner = new ConsumerRunner<Msg>({
        js: k.js,
        jsm: k.jsm,
        names: k.names,
        log,
        name: this.#kind.name,
        stream: this.#kind.source.stream,
        durable: k.names.consumer(`${this.#kind.name}_p${this.p}`),
        filterSubject: this.#kind.source.partition(this.p),
        dlqSource: this.#kind.source.dlqSource,
        mode: 'ordered',
        decode: (msg) => this.#kind.decode(msg),
        handle: (batch) => this.lock.run(() => this.#handle(batch[0]!)),
        commit: (seq) => this.#commit(seq),
        resumeAfter: checkpoint.seq,
        batchSize: k.commitEvery,
        commitIntervalMs: k.commitIntervalMs,
      });
      this.#runner = runner;
      await runner.start();
      this.#phase = 'serving';
      this.#startup = { startedAt, leaseAt, servingAt: Date.now(), restoredActors };
      this.#arm();
      queries = this.#serveQueries();
      log.info(
        {
          partition: this.p,
          resumeAfter: checkpoint.seq,
          leaseMs: leaseAt - startedAt,
          restoreMs: this.#startup.servingAt - leaseAt,
          restoredActors,
        },
        'serving partition',
      );
      while (await sleepFor(k.leaseRenewMs, session.signal)) {
        try {
          if (!(await k.leases.renew(this.p))) {
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
      this.#disarm();
      await runner.stop();
      // Wakes under way finish before the lease goes: the next owner must see their snapshots.
      await this.lock.run(async () => undefined);
      // Fenced by a failed write: the lease may still be ours, and the next round takes it again.
      if (!lost && !this.#fenced) await k.leases.release(this.p);
      log.info({ partition: this.p, fenced: this.#fenced }, 'released partition');
    } finally {
      signal.removeEventListener('abort', onStop);
      queries?.unsubscribe();
      this.#disarm();
      await runner?.stop();
      await this.lock.run(async () => undefined);
      this.#runner = null;
      this.#session = null;
      this.actors.clear();
      this.#dirty.clear();
      this.#wakes.clear();
      this.#indexed.clear();
      this.#behindSince = null;
      this.#deferred = false;
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
    this.#k.log.warn({ err, partition: this.p, what }, 'another owner moved the partition on; stopping');
    throw new VigilError(
      'DEPENDENCY_UNAVAILABLE',
      `partition ${this.p} fenced: ${what} changed by another owner`,
      { cause: err },
    );
  }

  async #handle(d: Delivery<Msg>): Promise<Rejected<Msg>[]> {
    this.#ensureUnfenced();
    const kind = this.#kind;
    const ref = kind.refOf(d.value);
    const key = kind.keyOf(ref);
    const now = Date.now();
    this.#followStream(d.msg.info.pending, now);
    let actor = this.actors.get(key);
    const ttl = kind.contextTtlMs;
    if (!actor || (ttl !== undefined && now - actor.contextLoadedAt > ttl)) {
      const loaded = await kind.loadContext(ref, now, actor?.context ?? null);
      if (!loaded.ok) {
        if (actor) this.#forget(actor);
        return [{ delivery: d, code: loaded.code, reason: loaded.reason }];
      }
      if (actor) {
        actor.context = loaded.context;
        actor.contextLoadedAt = now;
        await this.#reconcile(actor, now);
      } else {
        actor = await this.#restore(key, ref, loaded.context, now);
      }
    }
    // Applied before the last restart (its snapshot is newer than the partition checkpoint).
    if (d.msg.seq <= actor.seq) return [];
    const command = await kind.toCommand(d.value, actor, now);
    await this.#apply(actor, command, now);
    actor.seq = d.msg.seq;
    this.#dirty.add(actor);
    if (this.#traceApplied)
      this.#k.log.trace({ partition: this.p, [this.#k.logKey]: key, seq: d.msg.seq }, 'message applied');
    return [];
  }

  #forget(actor: LiveActor<Ref, State, Ctx>): void {
    this.#dirty.delete(actor);
    this.#wakes.delete(actor.key);
    this.actors.delete(actor.key);
  }

  /** Decide, emit what leaves the actor, and only then move its state. True when it changed. */
  async #apply(actor: LiveActor<Ref, State, Ctx>, command: Command, now: number): Promise<boolean> {
    const result = this.#kind.handle(actor.state, command, now);
    await this.#kind.emit(result.events, actor);
    if (result.state === actor.state) return false;
    actor.state = result.state;
    this.#track(actor);
    return true;
  }

  async #restore(key: string, ref: Ref, context: Ctx, now: number): Promise<LiveActor<Ref, State, Ctx>> {
    const k = this.#k;
    const { snapshot, revision } = await k.store.readSnapshot(key);
    const actor: LiveActor<Ref, State, Ctx> = {
      key,
      ref,
      partition: this.p,
      state: snapshot?.state ?? this.#kind.initialState(ref),
      seq: snapshot?.seq ?? 0,
      snapshotRevision: revision,
      context,
      contextLoadedAt: now,
    };
    this.#track(actor);
    await this.#reconcile(actor, now);
    this.actors.set(key, actor);
    if (snapshot) k.log.debug({ [k.logKey]: key, seq: snapshot.seq }, 'actor restored from snapshot');
    return actor;
  }

  async #reconcile(actor: LiveActor<Ref, State, Ctx>, now: number): Promise<void> {
    if (!this.#kind.reconcile) return;
    for (const command of await this.#kind.reconcile(actor, now)) {
      if (await this.#apply(actor, command, now)) this.#dirty.add(actor);
    }
  }

  /** Restore, before consuming, every actor the wake index names; returns how many it named. */
  async #restoreWaking(): Promise<number> {
    if (!this.#kind.wakeAt) return 0;
    const k = this.#k;
    const keys = await k.store.wakeIndex(this.p);
    for (const key of keys) this.#indexed.add(key);
    const now = Date.now();
    for (const key of keys) {
      const { snapshot } = await k.store.readSnapshot(key);
      const loaded = snapshot ? await this.#kind.loadContext(snapshot.ref, now, null) : null;
      if (!snapshot || !loaded?.ok) {
        k.log.warn(
          {
            [k.logKey]: key,
            partition: this.p,
            reason: loaded && !loaded.ok ? loaded.reason : 'no snapshot',
          },
          'wake index names an actor that cannot be restored; dropping it',
        );
        await k.store.unindexWake(this.p, key);
        this.#indexed.delete(key);
        continue;
      }
      const actor = await this.#restore(key, snapshot.ref, loaded.context, now);
      // Reconciled at restore: what changed is written now, so the index agrees with it.
      if (this.#dirty.has(actor)) await this.#persistNow(actor);
    }
    return keys.length;
  }

  /**
   * Commit up to `seq`. The runner calls this right after handling `seq`, before the next
   * message: queued first on the partition lock, the dirty actors' snapshots are taken exactly
   * as of `seq`. The writes then run outside the lock, while later messages are handled.
   */
  async #commit(seq: number): Promise<void> {
    const { writing } = await this.lock.run(async () => {
      this.#ensureUnfenced();
      const taken = [...this.#dirty].map((actor) => this.#take(actor));
      this.#dirty.clear();
      const w = this.#persist(taken, seq);
      // Set under the lock, so a control command queued after this commit waits for it.
      this.#writing = w.catch(() => undefined);
      return { writing: w };
    });
    await writing;
  }

  #take(actor: LiveActor<Ref, State, Ctx>): Taken<Ref, State, Ctx> {
    return {
      actor,
      body: this.#k.store.snapshotBody(actor),
      wake: this.#kind.wakeAt?.(actor.state) ?? null,
    };
  }

  /**
   * Renew the lease before a write. An owner taken over while it lived (cut off from NATS
   * long enough for a probe to find it gone, or paused past staleness) fails here and stops
   * before it writes a thing, even where the new owner has written nothing yet that a
   * compare-and-set of its own would trip on.
   */
  async #confirmLease(): Promise<void> {
    if (!(await this.#k.leases.renew(this.p))) this.#fence('lease', null);
  }

  /** Lease, index, snapshots, then (only if every one landed) the checkpoint, then the index again. */
  async #persist(taken: Taken<Ref, State, Ctx>[], seq: number): Promise<void> {
    try {
      await this.#confirmLease();
      await this.#indexBefore(taken);
    } catch (err) {
      // Nothing stored yet: the next commit writes them, or a later checkpoint would pass them by.
      for (const t of taken) this.#dirty.add(t.actor);
      throw err;
    }
    const results = await Promise.allSettled(taken.map((t) => this.#putSnapshot(t)));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      // Written again by the next commit (with whatever state they have by then).
      results.forEach((r, i) => {
        if (r.status === 'rejected') this.#dirty.add(taken[i]!.actor);
      });
      throw (results[failed] as PromiseRejectedResult).reason;
    }
    try {
      await this.#k.store.writeCheckpoint(this.p, seq, this.#checkpoint);
    } catch (err) {
      if (isRevisionConflict(err)) this.#fence('checkpoint', err);
      throw err;
    }
    await this.#indexAfter(taken);
  }

  /** An actor whose snapshot is about to want waking is indexed first. */
  async #indexBefore(taken: Taken<Ref, State, Ctx>[]): Promise<void> {
    const store = this.#k.store;
    await Promise.all(
      taken.map(async (t) => {
        if (t.wake === null || this.#indexed.has(t.actor.key)) return;
        await store.indexWake(this.p, t.actor.key, t.wake);
        this.#indexed.add(t.actor.key);
      }),
    );
  }

  /** ... and unindexed only once a snapshot that wants none is stored. */
  async #indexAfter(taken: Taken<Ref, State, Ctx>[]): Promise<void> {
    const store = this.#k.store;
    await Promise.all(
      taken.map(async (t) => {
        if (t.wake !== null || !this.#indexed.has(t.actor.key)) return;
        await store.unindexWake(this.p, t.actor.key);
        this.#indexed.delete(t.actor.key);
      }),
    );
  }

  async #putSnapshot(t: Taken<Ref, State, Ctx>): Promise<void> {
    const at: CasPosition = { revision: t.actor.snapshotRevision, unsure: t.actor.snapshotUnsure };
    try {
      await this.#k.store.putSnapshot(t.actor.key, t.body, at);
    } catch (err) {
      if (isRevisionConflict(err)) this.#fence(`snapshot of ${t.actor.key}`, err);
      throw err;
    } finally {
      t.actor.snapshotRevision = at.revision;
      if (at.unsure || t.actor.snapshotUnsure) t.actor.snapshotUnsure = at.unsure;
    }
  }

  /** Write one actor's snapshot now, outside a commit (under the lock: control, timers). */
  async #persistNow(actor: LiveActor<Ref, State, Ctx>): Promise<void> {
    // A commit may be writing this actor's snapshot: two writes at one revision would conflict.
    await this.#writing;
    const t = this.#take(actor);
    await this.#confirmLease();
    await this.#indexBefore([t]);
    await this.#putSnapshot(t);
    this.#dirty.delete(actor);
    await this.#indexAfter([t]);
  }

  /**
   * Run `fn` on one live actor under the partition lock; the command it returns (if any) is
   * applied and the snapshot written before the lock is released. False: not live here.
   */
  control(
    key: string,
    fn: (actor: ActorView<Ref, State, Ctx>) => Command | null | Promise<Command | null>,
  ): Promise<boolean> {
    return this.lock.run(async () => {
      const actor = this.actors.get(key);
      if (!actor || !this.serving) return false;
      this.#ensureUnfenced();
      const command = await fn(actor);
      if (command !== null && (await this.#apply(actor, command, Date.now()))) await this.#persistNow(actor);
      return true;
    });
  }

  /** Keys of the live actors (a snapshot of the moment: control each by key). */
  keys(): string[] {
    return this.serving ? [...this.actors.keys()] : [];
  }

  /** Answer live-state queries of this partition's actors (see ActorKernel). */
  #serveQueries(): Subscription | null {
    const { nc, names, log } = this.#k;
    if (!nc) return null;
    const kind = this.#kind.name;
    return nc.subscribe(names.actors.stateQuery(kind, this.p), {
      callback: (err, msg) => {
        if (err) return;
        let reply: ActorStateReply;
        try {
          const { key } = assertValid(ActorStateRequest, msg.json());
          const a = this.actors.get(key);
          reply = a
            ? {
                found: true,
                kind,
                key,
                partition: this.p,
                seq: a.seq,
                wakeAt: this.#kind.wakeAt?.(a.state) ?? null,
                state: a.state,
              }
            : { found: false, kind, key, partition: this.p };
        } catch (e) {
          const code = isVigilError(e) ? e.code : 'VALIDATION_FAILED';
          reply = { error: { code, message: e instanceof Error ? e.message : String(e) } };
        }
        try {
          msg.respond(JSON.stringify(reply));
        } catch (e) {
          log.warn({ err: e, partition: this.p }, 'actor state reply failed');
        }
      },
    });
  }

  /**
   * Note whether the partition is behind its stream: `pending` is the server's count, when it
   * delivered the message being handled, of the partition's messages after it. Catching up
   * fires the wakes that came due meanwhile (a message the runner dead-letters is not seen
   * here: a backlog ending in one is left by the bound).
   */
  #followStream(pending: number, now: number): void {
    if (pending > 0) {
      this.#behindSince ??= now;
      return;
    }
    if (this.#behindSince === null) return;
    this.#behindSince = null;
    if (!this.#deferred) return;
    this.#deferred = false;
    if (this.serving) this.#arm();
  }

  #track(actor: LiveActor<Ref, State, Ctx>): void {
    const at = this.#kind.wakeAt?.(actor.state) ?? null;
    if (at === null) {
      this.#wakes.delete(actor.key);
      return;
    }
    this.#wakes.set(actor.key, at);
    if (this.serving && this.#fireAt(at) < this.#timerAt) this.#arm(at);
  }

  /**
   * When a wake due at `at` may fire. While the partition is behind its stream (a replay, a
   * backlog after an outage), not before it has caught up, or `wakeDeferMaxMs` after it fell
   * behind: a replayed actor's own messages run its due timers (the kind's decider sees each
   * message's time), so waking it between them only costs the kind a look at the stream per
   * message (equipment: a JetStream request each) to find out that it must wait. A node that
   * never catches up still fires its timers, that much late at most.
   */
  #fireAt(at: number): number {
    if (this.#behindSince === null) return at;
    const bound = this.#behindSince + this.#k.wakeDeferMaxMs;
    if (at >= bound) return at;
    this.#deferred = true;
    return bound;
  }

  /** (Re)arm the partition's one timer for `at`, or the earliest wake (as #fireAt allows). */
  #arm(at?: number): void {
    let next = at ?? Number.POSITIVE_INFINITY;
    if (at === undefined) for (const w of this.#wakes.values()) if (w < next) next = w;
    this.#disarm();
    if (!Number.isFinite(next)) return;
    next = this.#fireAt(next);
    this.#timerAt = next;
    const delay = Math.min(Math.max(0, next - Date.now()), MAX_TIMER_MS);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAt = Number.POSITIVE_INFINITY;
      this.lock
        .run(() => this.#fireDue())
        .catch((err: unknown) => {
          this.#k.log.warn({ err, partition: this.p }, 'actor timers failed; retrying');
          if (this.serving && !this.#timer) this.#timer = setTimeout(() => this.#arm(), 1000);
        });
    }, delay);
  }

  #disarm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  /** Wake every due actor once: apply its wake command and store the result before the next. */
  async #fireDue(): Promise<void> {
    if (!this.serving || !this.#kind.onWake) return;
    this.#ensureUnfenced();
    const now = Date.now();
    if (this.#behindSince !== null) {
      // Fell behind after the timer was set: wait for the catch-up (or the bound).
      if (now < this.#behindSince + this.#k.wakeDeferMaxMs) {
        this.#arm();
        return;
      }
      // Past the bound: fire now, and give the backlog another full bound before the next round.
      this.#behindSince = now;
    }
    for (const [key, at] of [...this.#wakes]) {
      if (at > now) continue;
      const actor = this.actors.get(key);
      if (!actor) {
        this.#wakes.delete(key);
        continue;
      }
      const command = await this.#kind.onWake(actor, now);
      const changed = command !== null && (await this.#apply(actor, command, now));
      if (changed) await this.#persistNow(actor);
      const again = this.#wakes.get(key);
      if (again !== undefined && again <= now) {
        // A decider that does not move its wake past a wake-up would spin: hold it until its state changes.
        this.#wakes.delete(key);
        // A kind that declined the wake (null: e.g. its readings are still in the stream, during
        // a replay of old data) is waiting by design, once per message: not worth a warning.
        if (command !== null)
          this.#k.log.warn({ [this.#k.logKey]: key, wakeAt: again }, 'actor woke but still wants waking now');
      }
    }
    this.#arm();
  }
}

interface Taken<Ref, State, Ctx> {
  actor: LiveActor<Ref, State, Ctx>;
  body: string;
  wake: number | null;
}
