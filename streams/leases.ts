import { performance } from 'node:perf_hooks';
import { JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';

/**
 * Partition leases in the snapshot bucket (`lease.<group>.<p>`), taken and renewed with
 * compare-and-set on the entry revision. Rendezvous hashing says who *should* own a partition;
 * the lease makes sure the previous owner has finished (committed and let go) before the next
 * one starts, so two nodes never consume the same partition at once.
 *
 * Staleness never compares clocks of two machines: every renewal bumps the entry's revision,
 * so a lease is stale when we have watched the same revision for `staleAfterMs` on our own
 * monotonic clock. A holder whose wall clock is off by hours is judged exactly like any other.
 *
 * A crashed holder need not be waited out: a holder that answers liveness probes says so in
 * its lease (`probed`), and when the probe finds it gone (streams/liveness.ts: its NATS
 * connection is closed) its lease is free at once. A lease without the flag — written by a
 * node that does not answer, such as one of an older version — only ever goes by staleness:
 * its silence would prove nothing.
 */
interface LeaseValue {
  /** '' = released. */
  node: string;
  /** Holder's wall clock at the last renewal: for people reading the bucket, never compared. */
  at: number;
  /** The holder answers liveness probes on the connection that renews this lease. */
  probed?: true;
}

export interface LeaseOptions {
  /** A lease whose revision has not moved for this long may be taken over even if its holder looks alive. */
  staleAfterMs?: number;
  /** Monotonic clock in ms (default `performance.now`), injectable for tests. */
  clock?: () => number;
  /**
   * Leases this node takes say that it answers liveness probes (it must, from before it takes
   * the first one until after it let the last one go, on the connection that writes them).
   */
  answersProbes?: boolean;
  /**
   * Whether the holder of a lease that says `probed` is gone for sure (streams/liveness.ts:
   * "no responders"); anything short of that must answer false.
   */
  holderGone?: (node: string) => Promise<boolean>;
}

function isCasConflict(err: unknown): boolean {
  return err instanceof JetStreamApiError;
}

export class PartitionLeases {
  readonly #kv: KV;
  readonly #group: string;
  readonly #node: string;
  readonly #staleAfterMs: number;
  readonly #clock: () => number;
  readonly #answersProbes: boolean;
  readonly #holderGone: ((node: string) => Promise<boolean>) | null;
  readonly #revisions = new Map<number, number>();
  /** The renewal under way per partition: renewals of one lease run one after another. */
  readonly #renewing = new Map<number, Promise<boolean>>();
  /** Another node's lease as we last saw it: its revision, and since when (our clock) it has not moved. */
  readonly #watched = new Map<number, { revision: number; since: number }>();

  constructor(kv: KV, group: string, nodeId: string, opts: LeaseOptions = {}) {
    this.#kv = kv;
    this.#group = group;
    this.#node = nodeId;
    this.#staleAfterMs = opts.staleAfterMs ?? 15_000;
    this.#clock = opts.clock ?? (() => performance.now());
    this.#answersProbes = opts.answersProbes ?? false;
    this.#holderGone = opts.holderGone ?? null;
  }

  key(p: number): string {
    return `lease.${this.#group}.${p}`;
  }

  #encode(node: string): string {
    const value: LeaseValue = { node, at: Date.now() };
    if (node !== '' && this.#answersProbes) value.probed = true;
    return JSON.stringify(value);
  }

  /**
   * Take partition `p` if it is free, released, ours, held by a node known to be gone (left
   * the membership, or found gone by a liveness probe), or stale. A holder merely absent from
   * our membership view is not enough: a node that has just started has not discovered the
   * others yet, and must not take a partition from a live owner. Staleness is only ever
   * established by calling this repeatedly (the callers retry every few hundred ms): the first
   * call that sees a revision starts watching it. Returns whether we hold it now.
   */
  async acquire(p: number, goneNodes: ReadonlySet<string>): Promise<boolean> {
    const key = this.key(p);
    const entry = await this.#kv.get(key);
    try {
      if (!entry || entry.operation !== 'PUT') {
        this.#revisions.set(p, await this.#kv.create(key, this.#encode(this.#node)));
        return true;
      }
      let holder: LeaseValue;
      try {
        holder = entry.json<LeaseValue>();
      } catch {
        holder = { node: '', at: 0 };
      }
      const free =
        holder.node === '' ||
        holder.node === this.#node ||
        goneNodes.has(holder.node) ||
        this.#unchangedFor(p, entry.revision) > this.#staleAfterMs ||
        (holder.probed === true && this.#holderGone !== null && (await this.#holderGone(holder.node)));
      if (!free) return false;
      this.#revisions.set(p, await this.#kv.update(key, this.#encode(this.#node), entry.revision));
      this.#watched.delete(p);
      return true;
    } catch (err) {
      if (isCasConflict(err)) return false;
      throw err;
    }
  }

  /** How long (our clock) the lease of `p` has stayed at `revision`; 0 when it just moved. */
  #unchangedFor(p: number, revision: number): number {
    const now = this.#clock();
    const seen = this.#watched.get(p);
    if (!seen || seen.revision !== revision) {
      this.#watched.set(p, { revision, since: now });
      return 0;
    }
    return now - seen.since;
  }

  /**
   * Refresh a held lease; false means another node took it and we must stop at once. Calls
   * for one partition run one after another (the renewal timer and a commit may ask together,
   * and two writes at one revision would fail each other).
   */
  renew(p: number): Promise<boolean> {
    const next = (this.#renewing.get(p) ?? Promise.resolve(true))
      .catch(() => undefined)
      .then(() => this.#renewOnce(p));
    this.#renewing.set(p, next);
    const forget = (): void => {
      if (this.#renewing.get(p) === next) this.#renewing.delete(p);
    };
    next.then(forget, forget);
    return next;
  }

  async #renewOnce(p: number): Promise<boolean> {
    const rev = this.#revisions.get(p);
    if (rev === undefined) return false;
    try {
      this.#revisions.set(p, await this.#updateOwn(p, rev, this.#encode(this.#node)));
      return true;
    } catch (err) {
      if (isCasConflict(err)) {
        this.#revisions.delete(p);
        return false;
      }
      throw err;
    }
  }

  /** The node the lease of `p` names ('' when released), or null when there is none. */
  async holder(p: number): Promise<string | null> {
    const entry = await this.#kv.get(this.key(p));
    if (!entry || entry.operation !== 'PUT') return null;
    try {
      return entry.json<LeaseValue>().node;
    } catch {
      return null;
    }
  }

  /** Let go, so the next owner need not wait for staleness. Only if we still hold it. */
  async release(p: number): Promise<void> {
    const rev = this.#revisions.get(p);
    this.#revisions.delete(p);
    if (rev === undefined) return;
    try {
      await this.#updateOwn(p, rev, this.#encode(''));
    } catch (err) {
      if (!isCasConflict(err)) throw err;
    }
  }

  /**
   * Update the lease of `p` from revision `rev`. A conflict with an entry that still names this
   * node is a write of ours that landed while its reply was lost (a timeout under load: only
   * this node writes its own id), not another node's: written again at that entry's revision.
   * Without this, one lost reply made the next renewal report the lease as taken.
   */
  async #updateOwn(p: number, rev: number, value: string): Promise<number> {
    const key = this.key(p);
    try {
      return await this.#kv.update(key, value, rev);
    } catch (err) {
      if (!isCasConflict(err)) throw err;
      const entry = await this.#kv.get(key);
      if (!entry || entry.operation !== 'PUT' || entry.revision === rev) throw err;
      let holder: string;
      try {
        holder = entry.json<LeaseValue>().node;
      } catch {
        throw err;
      }
      if (holder !== this.#node) throw err;
      return this.#kv.update(key, value, entry.revision);
    }
  }
}
