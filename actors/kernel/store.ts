import { isRevisionConflict, putAtPosition, type CasPosition, type KV } from '../../streams/mod.ts';
import type { Logger } from '../../schemas/mod.ts';
import { fromNatsError } from '../errors.ts';
import type { ActorView, SnapshotCodec, SnapshotEnvelope } from './kind.ts';

/**
 * The kernel's KV layout for one actor kind, all in the snapshot bucket:
 *
 *   <snapshotKey(key)>          an actor's snapshot `{ v, seq, at, ...codec }` (CAS on revision)
 *   cp.<kind>.<p>               partition checkpoint `{ seq, at }` (CAS on revision)
 *   lease.<kind>.<p>            partition lease (streams/leases.ts)
 *   wake.<kind>.<p>.<key>       index of actors with a pending timer: written before the first
 *                               snapshot that has one, deleted after the first that has none,
 *                               so it always names at least every actor whose stored snapshot
 *                               wants waking. A new owner restores those at once.
 */
export interface Decoded<Ref, State> {
  ref: Ref;
  state: State;
  seq: number;
}

export class KernelStore<Ref, State, Ctx> {
  readonly #kv: KV;
  readonly #kind: string;
  readonly #codec: SnapshotCodec<Ref, State, Ctx>;
  readonly #snapshotKey: (key: string) => string;
  readonly #log: Logger;
  readonly #logKey: string;
  unreadableSnapshots = 0;

  constructor(
    kv: KV,
    kind: string,
    codec: SnapshotCodec<Ref, State, Ctx>,
    snapshotKey: (key: string) => string,
    log: Logger,
    logKey: string,
  ) {
    this.#kv = kv;
    this.#kind = kind;
    this.#codec = codec;
    this.#snapshotKey = snapshotKey;
    this.#log = log;
    this.#logKey = logKey;
  }

  checkpointKey(p: number): string {
    return `cp.${this.#kind}.${p}`;
  }

  wakePrefix(p: number): string {
    return `wake.${this.#kind}.${p}`;
  }

  /** Last committed stream sequence of partition `p`, and the checkpoint's KV revision (0 = none). */
  async readCheckpoint(p: number): Promise<{ seq: number; revision: number }> {
    try {
      const entry = await this.#kv.get(this.checkpointKey(p));
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
      this.#log.error(
        { partition: p, kind: this.#kind },
        'unreadable partition checkpoint: replaying the partition from the start',
      );
      return { seq: 0, revision: entry.revision };
    } catch (err) {
      throw fromNatsError(err, 'reading partition checkpoint');
    }
  }

  /** Compare-and-set at `at`, which it moves on. A conflict is thrown as is (see isRevisionConflict). */
  async writeCheckpoint(p: number, seq: number, at: CasPosition): Promise<void> {
    try {
      await putAtPosition(this.#kv, this.checkpointKey(p), JSON.stringify({ seq, at: Date.now() }), at);
    } catch (err) {
      if (isRevisionConflict(err)) throw err;
      throw fromNatsError(err, 'writing partition checkpoint');
    }
  }

  /**
   * An actor's snapshot (null: none, or unreadable — logged as an error, since the actor then
   * starts blank) and the entry's KV revision (0 = none).
   */
  async readSnapshot(key: string): Promise<{ snapshot: Decoded<Ref, State> | null; revision: number }> {
    const kvKey = this.#snapshotKey(key);
    let entry: Awaited<ReturnType<KV['get']>>;
    try {
      entry = await this.#kv.get(kvKey);
    } catch (err) {
      throw fromNatsError(err, 'reading actor snapshot');
    }
    if (!entry || entry.operation !== 'PUT') return { snapshot: null, revision: 0 };
    const revision = entry.revision;
    let parsed: Decoded<Ref, State> | string;
    try {
      parsed = this.#parse(entry.json(), key);
    } catch (err) {
      parsed = `not JSON: ${(err as Error).message}`;
    }
    if (typeof parsed !== 'string') return { snapshot: parsed, revision };
    this.unreadableSnapshots++;
    this.#log.error(
      { [this.#logKey]: key, kind: this.#kind, key: kvKey, revision, reason: parsed },
      'UNREADABLE ACTOR SNAPSHOT: the actor starts from a blank state and has forgotten what it ' +
        'held (open alerts stay open in PostgreSQL until the next alert of the same rule supersedes them)',
    );
    return { snapshot: null, revision };
  }

  #parse(raw: unknown, key: string): Decoded<Ref, State> | string {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return 'not a JSON object';
    const body = raw as SnapshotEnvelope;
    if (typeof body.seq !== 'number') return 'no seq or state';
    const out = this.#codec.decode(body, key);
    return typeof out === 'string' ? out : { ...out, seq: body.seq };
  }

  /** The actor's snapshot as it is now, serialised (what `putSnapshot` writes). */
  snapshotBody(actor: ActorView<Ref, State, Ctx>): string {
    return JSON.stringify({
      ...this.#codec.encode(actor),
      v: this.#codec.version,
      seq: actor.seq,
      at: Date.now(),
    });
  }

  /** Compare-and-set at `at`, which it moves on. A conflict is thrown as is. */
  async putSnapshot(key: string, body: string, at: CasPosition): Promise<void> {
    try {
      await putAtPosition(this.#kv, this.#snapshotKey(key), body, at);
    } catch (err) {
      if (isRevisionConflict(err)) throw err;
      throw fromNatsError(err, 'writing actor snapshot');
    }
  }

  /** Keys of the actors of partition `p` that the wake index names. */
  async wakeIndex(p: number): Promise<string[]> {
    const prefix = `${this.wakePrefix(p)}.`;
    try {
      const out: string[] = [];
      for await (const k of await this.#kv.keys(`${prefix}>`)) out.push(k.slice(prefix.length));
      return out;
    } catch (err) {
      throw fromNatsError(err, 'listing the wake index');
    }
  }

  async indexWake(p: number, key: string, at: number): Promise<void> {
    try {
      await this.#kv.put(`${this.wakePrefix(p)}.${key}`, JSON.stringify({ at }));
    } catch (err) {
      throw fromNatsError(err, 'writing the wake index');
    }
  }

  async unindexWake(p: number, key: string): Promise<void> {
    try {
      await this.#kv.delete(`${this.wakePrefix(p)}.${key}`);
    } catch (err) {
      throw fromNatsError(err, 'writing the wake index');
    }
  }
}
