import {
  answerLiveness,
  LivenessProbe,
  PartitionLeases,
  partitionsOf,
  type Subscription,
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  type Names,
  type NatsConnection,
} from '../../streams/mod.ts';
import type { Logger } from '../../schemas/mod.ts';
import type { ActorKind, ActorSnapshotView, ActorView } from './kind.ts';
import { PartitionWorker, type PartitionHealth } from './partition.ts';
import { KernelStore } from './store.ts';

/**
 * The actor kernel: hosts the actors of one kind in the partitions this node owns.
 *
 * Ownership: who *should* own partition `p` is rendezvous hashing over the live nodes; a KV
 * lease (compare-and-set) makes the handover safe — the next owner starts once the previous one
 * has committed and released, once the lease is stale, or at once when its holder is gone: it
 * left the membership, or a liveness probe finds its NATS connection closed (a crash, even
 * before the membership notices; streams/liveness.ts). A node that restarts with the same node
 * id takes its own leases back at once. A holder that was taken over while it lived (cut off
 * from NATS for a while) learns it at its next commit: every commit first renews the lease
 * (compare-and-set), and a failed renewal stops the partition before anything is written.
 *
 * Commit protocol (per partition, every `commitEvery` messages or `commitIntervalMs`): under the
 * partition lock, the dirty actors' snapshots are taken as of the last handled message S; then,
 * outside the lock while later messages are handled: wake-index entries for actors that now
 * want waking, the snapshots (CAS), the checkpoint S (CAS), one ack-all up to S, and removal of
 * index entries of actors that no longer do. A new owner resumes after the checkpoint and skips
 * any message at or below its actor's snapshot sequence, so nothing is lost or applied twice;
 * events a replay re-emits must carry the same ids (the kind's job) so duplicates are dropped.
 * A CAS conflict means another owner moved on: the worker stops serving at once (fenced).
 *
 * Timers: a kind's `wakeAt(state)` is derived from the snapshotted state, so it survives
 * restarts. Each partition keeps one timer for its earliest wake, held back while the
 * partition is behind its stream (a replay: no actor is woken between its own messages, which
 * run its due timers themselves) for at most `wakeDeferMaxMs`; a due actor gets
 * `onWake(actor, now)`'s command under the lock, and its snapshot is stored before anything
 * else touches it, so a wake fires once. On acquiring a partition the kernel restores every
 * actor the wake index names before consuming, so an actor whose messages stopped while no
 * node owned it still wakes; one already due fires at once.
 *
 * Queries: while it serves partition `p`, a node answers NATS requests on
 * `names.actors.stateQuery(kind, p)` (`ActorStateRequest` → `ActorStateReply`, schemas/control.ts)
 * with one live actor's state, so a caller that knows an actor's partition reaches its owner
 * without knowing which node that is.
 */
export interface KernelDeps {
  /**
   * The connection `kv` writes leases on. When given, the node answers live-state queries of
   * the partitions it serves, answers liveness probes while it holds leases, and takes the
   * leases of crashed holders without waiting for them to go stale.
   */
  nc?: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  kv: KV;
  names: Names;
  log: Logger;
  /** Number of partitions of the kind's stream. */
  partitions: number;
}

/** How long after a commit a partition commits again at most (`KernelOptions.commitIntervalMs`). */
export const DEFAULT_COMMIT_INTERVAL_MS = 5000;

export interface KernelOptions {
  nodeId: string;
  /** Ids of the live nodes that host this kind (this one included). */
  liveNodes(): string[];
  /** Ids of nodes known to have left (their leases may be taken at once, without waiting for staleness). */
  goneNodes(): string[];
  leaseRenewMs?: number;
  leaseStaleMs?: number;
  acquireRetryMs?: number;
  rebalanceEveryMs?: number;
  /** Commit once this many messages of a partition are uncommitted (default 16 384). */
  commitEvery?: number;
  /** ... or this long after the previous commit (default 5 s). */
  commitIntervalMs?: number;
  /**
   * Longest a due wake waits for its partition to catch up with the stream (default 5 s): a
   * node that never catches up still fires its timers, this late at most.
   */
  wakeDeferMaxMs?: number;
}

export interface KernelHealth {
  nodeId: string;
  partitions: PartitionHealth[];
  /** Snapshots that could not be read since start: those actors began from a blank state. */
  unreadableSnapshots: number;
}

/** What a partition worker uses of its kernel. */
export interface KernelContext<Ref, Msg, State, Command, Event, Ctx> {
  kind: ActorKind<Ref, Msg, State, Command, Event, Ctx>;
  store: KernelStore<Ref, State, Ctx>;
  leases: PartitionLeases;
  log: Logger;
  logKey: string;
  nc: NatsConnection | null;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: Names;
  goneNodes(): string[];
  acquireRetryMs: number;
  leaseRenewMs: number;
  commitEvery: number;
  commitIntervalMs: number;
  wakeDeferMaxMs: number;
}

/** Whether a lease holder is gone for sure: only a liveness probe's "no responders" says so. */
function probeGone(deps: KernelDeps): ((node: string) => Promise<boolean>) | undefined {
  if (!deps.nc) return undefined;
  const probe = new LivenessProbe(deps.nc, deps.names);
  return async (node) => {
    const answer = await probe.probe(node);
    if (answer === 'gone') deps.log.info({ holder: node }, 'lease holder is gone (no liveness responder)');
    return answer === 'gone';
  };
}

/** The kernel type of a kind: `KernelOf<typeof myKind>`. */
export type KernelOf<K> =
  K extends ActorKind<infer R, infer M, infer S, infer C, infer E, infer X>
    ? ActorKernel<R, M, S, C, E, X>
    : never;

export class ActorKernel<Ref, Msg, State, Command, Event, Ctx> {
  readonly #deps: KernelDeps;
  readonly #opts: KernelOptions;
  readonly #ctx: KernelContext<Ref, Msg, State, Command, Event, Ctx>;
  readonly #workers = new Map<number, PartitionWorker<Ref, Msg, State, Command, Event, Ctx>>();
  readonly #retiring = new Map<number, Promise<void>>();
  #timer: NodeJS.Timeout | null = null;
  #debounce: NodeJS.Timeout | null = null;
  #stopping = false;
  /** Answers liveness probes while this node may hold leases (see streams/liveness.ts). */
  #liveness: Subscription | null = null;

  constructor(kind: ActorKind<Ref, Msg, State, Command, Event, Ctx>, deps: KernelDeps, opts: KernelOptions) {
    this.#deps = deps;
    this.#opts = opts;
    const logKey = kind.logKey ?? 'actorKey';
    const snapshotKey = kind.snapshotKey?.bind(kind) ?? ((key: string) => `${kind.name}.${key}`);
    this.#ctx = {
      kind,
      store: new KernelStore(deps.kv, kind.name, kind.codec, snapshotKey, deps.log, logKey),
      leases: new PartitionLeases(deps.kv, kind.name, opts.nodeId, {
        staleAfterMs: opts.leaseStaleMs ?? 15_000,
        answersProbes: deps.nc !== undefined,
        holderGone: probeGone(deps),
      }),
      log: deps.log,
      logKey,
      nc: deps.nc ?? null,
      js: deps.js,
      jsm: deps.jsm,
      names: deps.names,
      goneNodes: () => opts.goneNodes().filter((n) => n !== opts.nodeId),
      acquireRetryMs: opts.acquireRetryMs ?? 250,
      leaseRenewMs: opts.leaseRenewMs ?? 3000,
      // One snapshot per dirty actor per commit, each a JetStream write as costly as the reading
      // itself. A partition of a 10 000-unit fleet holds ~1 250 actors that hear from their
      // device every second or so: committing every second snapshotted ~0.7 actors per reading
      // (bench:ingest --fleet), every 5 s ~0.25. The price is replay: a new owner re-applies
      // up to 5 s of the partition's messages (their events carry the same ids).
      commitEvery: opts.commitEvery ?? 16_384,
      commitIntervalMs: opts.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS,
      wakeDeferMaxMs: opts.wakeDeferMaxMs ?? 5000,
    };
  }

  get nodeId(): string {
    return this.#opts.nodeId;
  }

  #liveNodes(): string[] {
    const nodes = this.#opts.liveNodes();
    return nodes.includes(this.#opts.nodeId) ? nodes : [...nodes, this.#opts.nodeId];
  }

  /**
   * Answer liveness probes from before the first lease is taken: the subscription goes out on
   * the connection ahead of any lease write, so no holder is ever seen without it.
   */
  #answerProbes(): void {
    const nc = this.#deps.nc;
    if (nc && !this.#liveness && !this.#stopping)
      this.#liveness = answerLiveness(nc, this.#deps.names, this.#opts.nodeId);
  }

  /** Take the partitions this node should own, and re-check every `rebalanceEveryMs`. */
  start(): void {
    this.#answerProbes();
    this.rebalance();
    this.#timer = setInterval(() => this.rebalance(), this.#opts.rebalanceEveryMs ?? 5000);
    this.#timer.unref();
  }

  /**
   * Take back at once the partitions whose lease still names this node: a node restarted under
   * the id it had, before it knows the membership (Moleculer spends a good half second
   * discovering other nodes before its services start). These are the partitions it held when
   * it died, so the assignment is what it was; the first rebalance keeps or hands them over
   * like any other.
   */
  async reclaim(): Promise<void> {
    this.#answerProbes();
    const count = this.#deps.partitions;
    const holders = await Promise.all(Array.from({ length: count }, (_, p) => this.#ctx.leases.holder(p)));
    holders.forEach((holder, p) => {
      if (holder !== this.#opts.nodeId || this.#stopping || this.#workers.has(p)) return;
      this.#workers.set(p, new PartitionWorker(this.#ctx, p, this.#retiring.get(p)));
    });
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
    const count = this.#deps.partitions;
    const desired = new Set(partitionsOf(this.#opts.nodeId, this.#liveNodes(), count));
    for (let p = 0; p < count; p++) {
      const worker = this.#workers.get(p);
      if (desired.has(p) && !worker) {
        this.#workers.set(p, new PartitionWorker(this.#ctx, p, this.#retiring.get(p)));
      } else if (!desired.has(p) && worker) {
        this.#workers.delete(p);
        const done: Promise<void> = worker.stop().finally(() => {
          if (this.#retiring.get(p) === done) this.#retiring.delete(p);
        });
        this.#retiring.set(p, done);
      }
    }
  }

  /** Commit and release every partition. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#debounce) clearTimeout(this.#debounce);
    const workers = [...this.#workers.values()];
    this.#workers.clear();
    await Promise.all([...workers.map((w) => w.stop()), ...this.#retiring.values()]);
    // Every lease is released (or, fenced, no longer ours): silence now means what it says.
    this.#liveness?.unsubscribe();
    this.#liveness = null;
  }

  health(): KernelHealth {
    return {
      nodeId: this.#opts.nodeId,
      partitions: [...this.#workers.values()].sort((a, b) => a.p - b.p).map((w) => w.health()),
      unreadableSnapshots: this.#ctx.store.unreadableSnapshots,
    };
  }

  #holding(key: string): PartitionWorker<Ref, Msg, State, Command, Event, Ctx> | undefined {
    for (const w of this.#workers.values()) if (w.actors.has(key)) return w;
    return undefined;
  }

  /**
   * Route a control function to one live actor, under its partition's lock: `fn` may replace
   * the actor's context and return a command, which is applied (events emitted) and the
   * snapshot stored before the next message of the partition is handled. Resolves false when
   * the actor is not live on this node (its owner restores it from its snapshot and context
   * later, so control messages must also be reflected where `loadContext`/`reconcile` read).
   */
  async control(
    key: string,
    fn: (actor: ActorView<Ref, State, Ctx>) => Command | null | Promise<Command | null>,
  ): Promise<boolean> {
    const w = this.#holding(key);
    return w ? w.control(key, fn) : false;
  }

  /** `control` for every live actor that `select` picks (one at a time, each under its lock). */
  async controlEach(
    select: (actor: ActorView<Ref, State, Ctx>) => boolean,
    fn: (actor: ActorView<Ref, State, Ctx>) => Command | null | Promise<Command | null>,
  ): Promise<void> {
    for (const w of [...this.#workers.values()]) {
      for (const key of w.keys()) {
        await w.control(key, (a) => (select(a) ? fn(a) : null));
      }
    }
  }

  /** One live actor's state as it is now, or null when it is not live on this node. */
  query(key: string): ActorSnapshotView<State> | null {
    const w = this.#holding(key);
    const a = w?.actors.get(key);
    if (!w || !a || !w.serving) return null;
    return {
      key,
      partition: w.p,
      seq: a.seq,
      state: a.state,
      wakeAt: this.#ctx.kind.wakeAt?.(a.state) ?? null,
    };
  }
}
