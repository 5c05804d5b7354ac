import { JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';

/**
 * Partition leases in the snapshot bucket (`lease.<group>.<p>`), taken and renewed with
 * compare-and-set on the entry revision. Rendezvous hashing says who *should* own a partition;
 * the lease makes sure the previous owner has finished (committed and let go) before the next
 * one starts, so two nodes never consume the same partition at once.
 */
interface LeaseValue {
  node: string;
  /** Epoch ms of the last renewal; '' node = released. */
  at: number;
}

export interface LeaseOptions {
  /** A lease not renewed for this long may be taken over even if its holder looks alive. */
  staleAfterMs?: number;
  /** Clock, injectable for tests. */
  now?: () => number;
}

function isCasConflict(err: unknown): boolean {
  return err instanceof JetStreamApiError;
}

export class PartitionLeases {
  readonly #kv: KV;
  readonly #group: string;
  readonly #node: string;
  readonly #staleAfterMs: number;
  readonly #now: () => number;
  readonly #revisions = new Map<number, number>();

  constructor(kv: KV, group: string, nodeId: string, opts: LeaseOptions = {}) {
    this.#kv = kv;
    this.#group = group;
    this.#node = nodeId;
    this.#staleAfterMs = opts.staleAfterMs ?? 15_000;
    this.#now = opts.now ?? Date.now;
  }

  key(p: number): string {
    return `lease.${this.#group}.${p}`;
  }

  #encode(node: string): string {
    return JSON.stringify({ node, at: this.#now() } satisfies LeaseValue);
  }

  /**
   * Take partition `p` if it is free, released, ours, held by a node known to be gone, or
   * stale. A holder merely absent from our membership view is not enough: a node that has just
   * started has not discovered the others yet, and must not take a partition from a live owner.
   * Returns whether we hold it now.
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
        this.#now() - holder.at > this.#staleAfterMs;
      if (!free) return false;
      this.#revisions.set(p, await this.#kv.update(key, this.#encode(this.#node), entry.revision));
      return true;
    } catch (err) {
      if (isCasConflict(err)) return false;
      throw err;
    }
  }

  /** Refresh a held lease; false means another node took it and we must stop at once. */
  async renew(p: number): Promise<boolean> {
    const rev = this.#revisions.get(p);
    if (rev === undefined) return false;
    try {
      this.#revisions.set(p, await this.#kv.update(this.key(p), this.#encode(this.#node), rev));
      return true;
    } catch (err) {
      if (isCasConflict(err)) {
        this.#revisions.delete(p);
        return false;
      }
      throw err;
    }
  }

  /** Let go, so the next owner need not wait for staleness. Only if we still hold it. */
  async release(p: number): Promise<void> {
    const rev = this.#revisions.get(p);
    this.#revisions.delete(p);
    if (rev === undefined) return;
    try {
      await this.#kv.update(
        this.key(p),
        JSON.stringify({ node: '', at: this.#now() } satisfies LeaseValue),
        rev,
      );
    } catch (err) {
      if (!isCasConflict(err)) throw err;
    }
  }
}
