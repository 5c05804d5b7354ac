import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerConfig,
  type ConsumerInfo,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { setTimeout as sleep } from 'node:timers/promises';
import { isVigilError, VigilError, type ErrorCode, type Logger } from '../schemas/mod.ts';
import { consumerMetrics } from './metrics.ts';
import { handlingTurns } from './turns.ts';
import { publishDeadLetter, type Rejection } from './publish.ts';
import type { Names } from './subjects.ts';

/**
 * The one consumer loop every Vigil consumer runs (equipment partitions, storage sinks,
 * event sinks). Error policy after Moleculer channels:
 *
 * - a message that can never succeed (fails validation, or the handler rejects it with a
 *   non-retryable error) is dead-lettered with its reason and original bytes, then acked;
 * - a retryable handler failure is retried with backoff up to `maxDeliver` attempts, then
 *   dead-lettered with "max deliveries exceeded";
 * - a dependency outage (`DEPENDENCY_UNAVAILABLE`) is retried without limit: the message is
 *   not at fault, and dead-lettering a whole outage would lose data.
 *
 * Two modes:
 * - `batch` (sinks): the handler receives batches; acks are explicit; failed messages are
 *   nak'd with a delay. Order is not kept across retries; sinks write idempotently.
 * - `ordered` (actors): messages are handled one at a time in stream order, as they arrive; a
 *   failing message is retried in place (a nak would let later messages overtake it). Progress
 *   is committed by count and time, not per message: `commit(lastSeq)` once `batchSize`
 *   messages are uncommitted or `commitIntervalMs` after the previous commit, then one ack-all.
 *   Handling goes on while a commit is written (one at a time), so a commit never pauses the
 *   partition. The durable is memory-stored: what survives is the owner's checkpoint, and a
 *   runner (re)creates the durable right after it whenever it is elsewhere or gone (a NATS
 *   restart drops memory-stored consumers).
 */

export type Decoded<T> = { ok: true; value: T } | ({ ok: false } & Rejection);

export interface Delivery<T> {
  msg: JsMsg;
  value: T;
}

export interface Rejected<T> extends Rejection {
  delivery: Delivery<T>;
}

/**
 * A message its handler cannot apply yet — it waits for another message that has not arrived
 * (the alerts sink: a unit's next alert before the older one's resolution). Batch mode: nak'd
 * with `deferMs`, so the server hands it back then, to this node or another, and other
 * messages go on meanwhile. Ordered mode: waited for in place, as a retry is. Each deferral is
 * a delivery: a handler bounds how long it defers by `msg.info.deliveryCount`.
 */
export interface Deferred<T> {
  delivery: Delivery<T>;
  deferMs: number;
}

/** What a handler says about a message it does not apply now. */
export type Settlement<T> = Rejected<T> | Deferred<T>;

function isDeferred<T>(s: Settlement<T>): s is Deferred<T> {
  return 'deferMs' in s;
}

export interface ConsumerOptions<T> {
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: Names;
  log: Logger;
  /** Label in logs, metrics and the `Vigil-Consumer` DLQ header. */
  name: string;
  stream: string;
  durable: string;
  /**
   * Subjects of `stream` to consume; omit to consume all of it. A consumer that takes the whole
   * stream must omit it rather than repeat the stream's subject: on nats-server 2.9.10 (Debian
   * bookworm's; fixed in 2.9.15) every consumer info — a reattach makes two — recounts a
   * filtered consumer's pending messages by scanning its stream block message by message
   * against each subject the filter matches, and when the consumer lags in the first half of
   * the stream's last block the count comes back without a last sequence, so the server
   * recounts it for every message it delivers: a sink restarted behind a backlog was then served
   * a hundred readings a second while nats-server ran at a full core (issue 12, finding 3). An
   * unfiltered consumer's count is arithmetic.
   */
  filterSubject?: string;
  /**
   * Batch mode: which messages of the stream this consumer handles; the others are acked as
   * they arrive, unread. How a consumer that wants part of a stream takes all of it, unfiltered
   * (see `filterSubject`). A durable that still has a filter loses it in place: what it skips
   * now is what its filter left out, so position and acks stay.
   */
  select?: (subject: string) => boolean;
  /** Rejected messages go to `[ns.]dlq.<dlqSource>`. */
  dlqSource: string;
  mode: 'batch' | 'ordered';
  decode(msg: JsMsg): Decoded<T>;
  /**
   * Handle valid messages; return the ones to dead-letter or to defer (the rest are acked),
   * throw to retry them all.
   */
  handle(batch: Delivery<T>[]): Promise<Settlement<T>[] | void>;
  /**
   * Ordered mode: persist progress up to `lastSeq` (e.g. snapshots + checkpoint); everything up
   * to `lastSeq` is acked once it resolves. It is called after `lastSeq` was handled and before
   * the next message is, but the runner does not wait for it: later messages are handled while
   * it writes. So it must take what it persists before then — synchronously, or queued on the
   * same lock as `handle` (calls queued in order run in order). Never two at once. After an
   * interruption delivery resumes after the last commit, so an ordered handler must skip
   * sequences it already applied (the equipment actors compare with their snapshot).
   */
  commit?(lastSeq: number): Promise<void>;
  /**
   * Ordered mode: the last stream sequence already committed. A consumer whose ack floor is
   * elsewhere, or that holds unacknowledged messages (a previous owner died mid-batch), is
   * recreated to start right after it, so processing resumes exactly in order.
   */
  resumeAfter?: number;
  /**
   * Batch mode: most messages per `handle` call (twice as many are fetched ahead). Ordered
   * mode: commit once this many messages are uncommitted.
   */
  batchSize?: number;
  /** Batch mode: hand a partial batch over this long after its first message arrived. */
  lingerMs?: number;
  /**
   * Ordered mode: commit what is uncommitted this long after the previous commit (sooner when
   * `batchSize` messages are). It bounds how much a restart replays; the ack wait must be
   * comfortably longer.
   */
  commitIntervalMs?: number;
  maxDeliver?: number;
  /** Delay before attempt n+1 is `backoffMs[n-1]` (last value repeats). */
  backoffMs?: readonly number[];
  ackWaitMs?: number;
}

export interface ConsumerStats {
  name: string;
  running: boolean;
  processed: number;
  rejected: number;
  retried: number;
  /** Deferrals (see `Deferred`): a message deferred three times counts three. */
  deferred: number;
  /** Messages acked unread: `select` left them out. */
  skipped: number;
  /** Deliveries that were redeliveries (a crashed holder's, a nak's, an expired ack wait's). */
  redelivered: number;
  /**
   * Batch mode: redeliveries of a message this runner still held — its ack wait ran out here,
   * in a live runner, so it is handled twice. Should stay 0 (see `#keepHeldAlive`).
   */
  expiredWhileHeld: number;
  lastError: string | null;
  lastCommittedSeq: number | null;
}

export const DEFAULT_BACKOFF_MS: readonly number[] = [1000, 2000, 5000, 10_000, 30_000];

const LINGER = Symbol('linger');

/** A keep-alive tick later than this past its interval means the event loop stalled. */
const STALL_SLACK_MS = 250;

/** Most messages an ordered runner has delivered ahead of the one it handles. */
const ORDERED_PULL = 2048;

function errorCode(err: unknown): ErrorCode {
  return isVigilError(err) ? err.code : 'INTERNAL';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Unknown errors are assumed transient: a bug then costs retries, never a lost message. */
export function isRetryable(err: unknown): boolean {
  return isVigilError(err) ? err.retryable : true;
}

export function isOutage(err: unknown): boolean {
  return isVigilError(err) && err.code === 'DEPENDENCY_UNAVAILABLE';
}

/** What to do with a message after a handling attempt. */
export type Disposition =
  | { action: 'ack' }
  | { action: 'retry'; delayMs: number }
  | { action: 'dead-letter'; code: ErrorCode; reason: string };

export interface RetryPolicy {
  /** Attempts before a retryable (non-outage) failure is dead-lettered. */
  maxDeliver: number;
  /** Delay before attempt n+1 is `backoffMs[n-1]` (last value repeats). */
  backoffMs: readonly number[];
}

export function backoffDelay(backoffMs: readonly number[], attempt: number): number {
  return backoffMs[Math.min(Math.max(attempt, 1), backoffMs.length) - 1] ?? 1000;
}

/**
 * The one error policy of every consumer, batch or ordered: `error` is what handling attempt
 * number `attempt` (1-based) threw, null when it succeeded. Pure.
 */
export function disposition(error: unknown, attempt: number, policy: RetryPolicy): Disposition {
  if (error === null) return { action: 'ack' };
  if (!isRetryable(error))
    return { action: 'dead-letter', code: errorCode(error), reason: errorMessage(error) };
  if (!isOutage(error) && attempt >= policy.maxDeliver) {
    return {
      action: 'dead-letter',
      code: errorCode(error),
      reason: `max deliveries exceeded (${attempt}): ${errorMessage(error)}`,
    };
  }
  return { action: 'retry', delayMs: backoffDelay(policy.backoffMs, attempt) };
}

export class ConsumerRunner<T> {
  readonly #o: Required<
    Pick<
      ConsumerOptions<T>,
      'batchSize' | 'lingerMs' | 'commitIntervalMs' | 'maxDeliver' | 'backoffMs' | 'ackWaitMs'
    >
  > &
    ConsumerOptions<T>;
  #messages: ConsumerMessages | null = null;
  #loop: Promise<void> | null = null;
  #stopping = false;
  readonly #abort = new AbortController();
  #stats: ConsumerStats;
  /** Batch mode: the batch being written while the next one is gathered. */
  #flushing: Promise<void> | null = null;
  /**
   * Batch mode: every message delivered and not yet settled (acked, nak'd or dead-lettered),
   * with when the server last heard it is being worked on. See #keepHeldAlive.
   */
  readonly #held = new Map<JsMsg, number>();
  /** Batch mode: held messages are told in progress once held this long (#keepHeldAlive)... */
  readonly #thirdOfAckWait: number;
  /** ... checked this often. */
  readonly #tickMs: number;
  /** Batch mode: when the keep-alive last ticked, and until when it counts as just stalled. */
  #lastTick = 0;
  #lateUntil = 0;
  /** Batch mode: how many deliveries of each stream sequence `#held` holds. */
  readonly #heldSeqs = new Map<number, number>();
  /** Ordered mode: the last handled message not yet covered by a commit. */
  #uncommitted: JsMsg | null = null;
  #sinceCommit = 0;
  #lastCommitAt = 0;
  /** Ordered mode: the commit being written. */
  #committing: Promise<void> | null = null;
  #commitFailures = 0;
  #commitRetryAt = 0;
  /** Bound once: labelling on every message costs a label hash each time. */
  readonly #processedTotal: ReturnType<typeof consumerMetrics.processed.labels>;

  constructor(opts: ConsumerOptions<T>) {
    this.#o = {
      batchSize: 256,
      lingerMs: 100,
      commitIntervalMs: 1000,
      maxDeliver: 5,
      backoffMs: DEFAULT_BACKOFF_MS,
      ackWaitMs: 60_000,
      ...opts,
    };
    if (this.#o.mode === 'ordered' && !this.#o.commit) {
      // Misconfiguration, not input: fail loudly at construction.
      throw new VigilError('INTERNAL', `ordered consumer ${opts.name} needs a commit function`);
    }
    if (this.#o.mode === 'ordered' && this.#o.select) {
      // Skipped messages are acked one by one, which an ack-all consumer cannot do.
      throw new VigilError('INTERNAL', `ordered consumer ${opts.name} cannot select`);
    }
    if (this.#o.mode === 'ordered' && this.#o.ackWaitMs < 10 * this.#o.commitIntervalMs) {
      // Uncommitted messages are unacked: a short ack wait would redeliver them mid-interval.
      throw new VigilError('INTERNAL', `ordered consumer ${opts.name}: ack wait under 10 commit intervals`);
    }
    this.#thirdOfAckWait = Math.max(250, Math.floor(this.#o.ackWaitMs / 3));
    this.#tickMs = Math.max(100, Math.floor(this.#thirdOfAckWait / 2));
    this.#processedTotal = consumerMetrics.processed.labels({ consumer: opts.name });
    this.#stats = {
      name: opts.name,
      running: false,
      processed: 0,
      rejected: 0,
      retried: 0,
      deferred: 0,
      skipped: 0,
      redelivered: 0,
      expiredWhileHeld: 0,
      lastError: null,
      lastCommittedSeq: opts.resumeAfter ?? null,
    };
  }

  stats(): ConsumerStats {
    return { ...this.#stats };
  }

  /** Create or reconcile the durable consumer, then consume in the background. */
  async start(): Promise<void> {
    await this.#ensureConsumer();
    this.#stats.running = true;
    this.#loop = this.#run();
  }

  /** Stop fetching, finish (and commit) what was already delivered, then return. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#abort.abort();
    this.#messages?.stop();
    await this.#loop;
    this.#stats.running = false;
  }

  #backoff(attempt: number): number {
    return backoffDelay(this.#o.backoffMs, attempt);
  }

  /** Sleep unless stopping; resolves false when interrupted by stop(). */
  #pause(ms: number): Promise<boolean> {
    return sleepFor(ms, this.#abort.signal);
  }

  #consumerConfig(): Partial<ConsumerConfig> {
    const o = this.#o;
    return {
      durable_name: o.durable,
      ...(o.filterSubject === undefined ? {} : { filter_subject: o.filterSubject }),
      ack_policy: o.mode === 'ordered' ? AckPolicy.All : AckPolicy.Explicit,
      // An ordered runner's durable holds up to a commit's worth of unacknowledged messages,
      // and nats-server (2.9) re-encodes a file-stored consumer's whole pending set up to ten
      // times a second: at 10,000 units over 8 partitions that was a seventh of the server's CPU.
      // Its position need not survive the server: the checkpoint is the position (above).
      ...(o.mode === 'ordered' ? { mem_storage: true } : {}),
      ack_wait: o.ackWaitMs * 1_000_000,
      // The server's own limit would drop a message silently; ours dead-letters it.
      max_deliver: -1,
      max_ack_pending: o.batchSize * 4,
      deliver_policy: DeliverPolicy.All,
    };
  }

  async #info(): Promise<ConsumerInfo | null> {
    try {
      return await this.#o.jsm.consumers.info(this.#o.stream, this.#o.durable);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return null;
      throw err;
    }
  }

  async #ensureConsumer(): Promise<void> {
    const o = this.#o;
    const config = this.#consumerConfig();
    let info = await this.#info();
    if (o.mode === 'ordered') {
      const resumeAfter = this.#stats.lastCommittedSeq ?? 0;
      const clean =
        info !== null &&
        info.num_ack_pending === 0 &&
        info.ack_floor.stream_seq === resumeAfter &&
        (info.config.filter_subject || undefined) === o.filterSubject &&
        info.config.ack_policy === AckPolicy.All &&
        info.config.mem_storage === true;
      if (info && !clean) {
        o.log.info(
          {
            consumer: o.name,
            resumeAfter,
            ackFloor: info.ack_floor.stream_seq,
            ackPending: info.num_ack_pending,
          },
          'recreating consumer at the last checkpoint',
        );
        await o.jsm.consumers.delete(o.stream, o.durable);
        info = null;
      }
      if (!info) {
        await o.jsm.consumers.add(
          o.stream,
          resumeAfter > 0
            ? { ...config, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: resumeAfter + 1 }
            : config,
        );
      }
      return;
    }
    if (!info) {
      try {
        await o.jsm.consumers.add(o.stream, config);
        return;
      } catch (err) {
        // Another node created the same durable first; reconcile below.
        if (!(err instanceof JetStreamApiError)) throw err;
        info = await this.#info();
        if (!info) throw err;
      }
    }
    // The server omits an empty filter.
    const filter = info.config.filter_subject || undefined;
    const dropsFilterInPlace =
      filter !== undefined &&
      o.filterSubject === undefined &&
      (o.select !== undefined || (await this.#isWholeStream(filter)));
    if ((filter !== o.filterSubject && !dropsFilterInPlace) || info.config.ack_policy !== config.ack_policy) {
      o.log.warn(
        { consumer: o.name },
        'durable consumer has a different filter or ack policy; recreating it',
      );
      await o.jsm.consumers.delete(o.stream, o.durable);
      await o.jsm.consumers.add(o.stream, config);
    } else if (
      // A durable made with the stream's own subject as its filter (before issue 12), or one
      // that now selects its messages itself (`select`), loses the filter in place: it takes the
      // messages it took before, and what was delivered and acked stays.
      dropsFilterInPlace ||
      info.config.ack_wait !== config.ack_wait ||
      info.config.max_ack_pending !== config.max_ack_pending
    ) {
      await o.jsm.consumers.update(o.stream, o.durable, {
        filter_subject: o.filterSubject,
        ack_wait: config.ack_wait,
        max_ack_pending: config.max_ack_pending,
      });
    }
  }

  /** Whether `filter` is the only subject of the stream, i.e. selects all of it. */
  async #isWholeStream(filter: string): Promise<boolean> {
    const { config } = await this.#o.jsm.streams.info(this.#o.stream);
    return config.subjects?.length === 1 && config.subjects[0] === filter;
  }

  async #run(): Promise<void> {
    const o = this.#o;
    while (!this.#stopping) {
      try {
        const consumer = await o.js.consumers.get(o.stream, o.durable);
        const messages = await consumer.consume({
          // Two batches' worth: the next batch arrives while one is handled, rather than
          // the pull being refilled only once the handler is done. An ordered runner handles
          // messages one by one (its batch is a commit's worth): it pulls at most 2 048 ahead.
          max_messages: o.mode === 'ordered' ? Math.min(o.batchSize * 2, ORDERED_PULL) : o.batchSize * 2,
          abort_on_missing_resource: true,
        });
        this.#messages = messages;
        if (this.#stopping) messages.stop();
        await this.#drain(messages);
        // The iterator ended without stop(): the connection closed under it. Do not spin.
        if (!this.#stopping) await this.#pause(1000);
      } catch (err) {
        if (this.#stopping) break;
        this.#stats.lastError = errorMessage(err);
        o.log.warn({ err, consumer: o.name }, 'consumer interrupted; reattaching');
        if (!(await this.#pause(1000))) break;
        try {
          await this.#ensureConsumer();
        } catch (ensureErr) {
          o.log.warn({ err: ensureErr, consumer: o.name }, 'cannot reattach consumer yet');
        }
      } finally {
        this.#messages?.stop();
        this.#messages = null;
      }
    }
  }

  #drain(messages: ConsumerMessages): Promise<void> {
    return this.#o.mode === 'ordered' ? this.#drainOrdered(messages) : this.#drainBatch(messages);
  }

  /**
   * Gather batches of up to `batchSize`, each handed over when full or `lingerMs` after its
   * first message; one batch is written while the next is gathered.
   */
  async #drainBatch(messages: ConsumerMessages): Promise<void> {
    const o = this.#o;
    // Taken off the client's buffer as soon as they arrive, so that every delivered message is
    // held — and kept alive — here, not only those already in a batch.
    const it = new Prefetch(messages, (msg) => this.#arrived(msg));
    const stopKeepAlive = this.#keepHeldAlive();
    let next = it.next();
    let batch: JsMsg[] = [];
    let deadline = 0;
    try {
      for (;;) {
        // A message already buffered needs no timer: it is yielded at once.
        const r =
          batch.length === 0 || it.buffered > 0
            ? await next
            : await raceLinger(next, deadline - performance.now());
        if (r === LINGER) {
          await this.#startFlush(batch);
          batch = [];
          continue;
        }
        if (r.done) break;
        next = it.next();
        if (batch.length === 0) deadline = performance.now() + o.lingerMs;
        batch.push(r.value);
        if (batch.length >= o.batchSize || performance.now() >= deadline) {
          await this.#startFlush(batch);
          batch = [];
        }
      }
      // Stopped: what was already delivered is handled before returning.
      if (batch.length) await this.#startFlush(batch);
    } finally {
      next.catch(() => undefined);
      const writing = this.#flushing;
      this.#flushing = null;
      await writing;
      stopKeepAlive();
      // Left unsettled (interrupted): the server redelivers them after the ack wait.
      this.#held.clear();
      this.#heldSeqs.clear();
    }
  }

  /** A message delivered in batch mode: held, or acked at once when not `select`ed. */
  #arrived(msg: JsMsg): boolean {
    if (this.#o.select && !this.#o.select(msg.subject)) {
      msg.ack();
      this.#stats.skipped++;
      return false;
    }
    const copies = this.#heldSeqs.get(msg.seq) ?? 0;
    if (msg.info.deliveryCount > 1) {
      this.#stats.redelivered++;
      if (copies > 0) this.#stats.expiredWhileHeld++;
    }
    this.#heldSeqs.set(msg.seq, copies + 1);
    const now = performance.now();
    if (this.#stalled(now)) this.#working(msg, now);
    else this.#held.set(msg, now);
    return true;
  }

  #release(msg: JsMsg): void {
    if (!this.#held.delete(msg)) return;
    const copies = (this.#heldSeqs.get(msg.seq) ?? 1) - 1;
    if (copies > 0) this.#heldSeqs.set(msg.seq, copies);
    else this.#heldSeqs.delete(msg.seq);
  }

  /**
   * Wait for the batch being written (at most one; its failure is rethrown here), then start
   * writing `batch`.
   */
  async #startFlush(batch: JsMsg[]): Promise<void> {
    await this.#flushing;
    this.#countRedeliveries(batch);
    const writing = this.#flushBatch(batch).finally(() => {
      // Settled, each of them (or, if the writing was interrupted, left to the ack wait).
      for (const msg of batch) this.#release(msg);
    });
    // Handled where it is awaited: by the next flush or at the end of the drain.
    writing.catch(() => undefined);
    this.#flushing = writing;
  }

  /** Handle each message as it arrives, in order; commit by count and time. */
  async #drainOrdered(messages: ConsumerMessages): Promise<void> {
    const o = this.#o;
    const it = messages[Symbol.asyncIterator]();
    let next = it.next();
    try {
      for (;;) {
        let r: IteratorResult<JsMsg> | typeof LINGER;
        if ((this.#uncommitted === null && !this.#committing) || buffered(messages) > 0) {
          r = await next;
        } else if (this.#committing) {
          // A commit under way, nothing buffered: look again once it is done — if it fails, what
          // it covered is uncommitted again and needs a retry even when no message comes.
          r = await Promise.race([next, this.#committing.then((): typeof LINGER => LINGER)]);
        } else {
          // ... or when the next commit is due.
          const due = Math.max(this.#lastCommitAt + o.commitIntervalMs, this.#commitRetryAt);
          r = await raceLinger(next, due - performance.now());
        }
        if (r === LINGER) {
          this.#maybeCommit();
          continue;
        }
        if (r.done) break;
        next = it.next();
        this.#countRedeliveries([r.value], true);
        // Interrupted by stop(): this message and everything after it stay unprocessed.
        if (!(await this.#processOrdered(r.value))) break;
        this.#uncommitted = r.value;
        this.#sinceCommit++;
        this.#maybeCommit();
        // A backlog is handled in slices: sockets, acks and timers run between them.
        const turn = handlingTurns.due();
        if (turn) await turn;
      }
    } finally {
      next.catch(() => undefined);
      // What was handled is committed before returning (stopped, or the iterator ended).
      await this.#settleCommits();
    }
  }

  /**
   * Start a commit when one is due — `batchSize` messages uncommitted, or `commitIntervalMs`
   * since the last one (`force`: now) — and none is being written.
   */
  #maybeCommit(force = false): void {
    const o = this.#o;
    const last = this.#uncommitted;
    if (!last || this.#committing) return;
    const now = performance.now();
    if (!force) {
      if (now < this.#commitRetryAt) return;
      if (this.#sinceCommit < o.batchSize && now - this.#lastCommitAt < o.commitIntervalMs) return;
    }
    this.#uncommitted = null;
    this.#sinceCommit = 0;
    this.#lastCommitAt = now;
    // Called before the next message is handled: commit() takes the state as of `last`.
    this.#committing = this.#commitThrough(last).finally(() => {
      this.#committing = null;
    });
  }

  /**
   * commit(), then one ack-all. Never rejects: a failure leaves the messages uncommitted for
   * the next try.
   */
  async #commitThrough(last: JsMsg): Promise<void> {
    const o = this.#o;
    try {
      await o.commit!(last.seq);
    } catch (err) {
      this.#stats.lastError = errorMessage(err);
      this.#commitFailures++;
      o.log.warn({ err, consumer: o.name, seq: last.seq }, 'commit failed; retrying');
      // Not committing is safe: a next owner resumes from the previous checkpoint. The next
      // commit covers `last` too (it is taken later, so it holds at least as much).
      this.#uncommitted ??= last;
      this.#commitRetryAt = performance.now() + this.#backoff(this.#commitFailures);
      return;
    }
    this.#commitFailures = 0;
    this.#commitRetryAt = 0;
    this.#stats.lastCommittedSeq = last.seq;
    try {
      last.ack();
    } catch (err) {
      // Committed, not acked (the connection is going): reattaching resumes after the checkpoint.
      this.#stats.lastError = errorMessage(err);
      o.log.warn({ err, consumer: o.name, seq: last.seq }, 'ack after commit failed');
    }
  }

  /** Wait for the commit being written, then commit the rest; retries until stop(). */
  async #settleCommits(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await this.#committing;
      if (!this.#uncommitted) return;
      this.#maybeCommit(true);
      await this.#committing;
      if (!this.#uncommitted) return;
      if (!(await this.#pause(this.#backoff(attempt)))) return;
    }
  }

  /** A decoder that throws is a bug; the message is rejected rather than redelivered forever. */
  #decode(msg: JsMsg): Decoded<T> {
    try {
      return this.#o.decode(msg);
    } catch (err) {
      return { ok: false, code: 'INTERNAL', reason: `decoder failed: ${errorMessage(err)}` };
    }
  }

  #countRedeliveries(batch: JsMsg[], ordered = false): void {
    for (const msg of batch) {
      if (msg.info.deliveryCount <= 1) continue;
      consumerMetrics.redelivered.inc({ consumer: this.#o.name });
      // Batch mode counts them on arrival (#arrived).
      if (ordered) this.#stats.redelivered++;
    }
  }

  async #deadLetter(msg: JsMsg, rejection: Rejection): Promise<void> {
    const o = this.#o;
    // Dead-lettering must not fail silently: retry while NATS is unreachable.
    for (let attempt = 1; ; attempt++) {
      try {
        await publishDeadLetter(o.js, o.names, o.dlqSource, msg, o.name, rejection);
        break;
      } catch (err) {
        o.log.warn({ err, consumer: o.name, seq: msg.seq }, 'cannot publish to the DLQ yet');
        if (!(await this.#pause(this.#backoff(attempt)))) throw err;
      }
    }
    this.#stats.rejected++;
    consumerMetrics.rejected.inc({ consumer: o.name, code: rejection.code });
    o.log.warn(
      {
        consumer: o.name,
        subject: msg.subject,
        seq: msg.seq,
        code: rejection.code,
        reason: rejection.reason,
      },
      'message dead-lettered',
    );
  }

  #processed(n: number): void {
    this.#stats.processed += n;
    this.#processedTotal.inc(n);
  }

  async #flushBatch(batch: JsMsg[]): Promise<void> {
    const valid: Delivery<T>[] = [];
    for (const msg of batch) {
      const d = this.#decode(msg);
      if (d.ok) valid.push({ msg, value: d.value });
      else {
        await this.#deadLetter(msg, { code: d.code, reason: d.reason });
        msg.ack();
      }
    }
    if (valid.length) await this.#handleBatch(valid);
  }

  /**
   * Batch mode: tell the server that every held message that has waited a third of the ack
   * wait is still being worked on. The ack wait is how long a crashed node's messages stay
   * held before another node (or its restart) gets them, so sinks keep it short (seconds); a
   * message waiting longer than that in a live runner — behind a slow write, or fetched ahead —
   * would be redelivered while it waits, written twice, and slow the runner further: on a
   * loaded node that loop only grows (issue 12, finding 3). Messages handled within a third
   * of the ack wait cost nothing.
   */
  #keepHeldAlive(): () => void {
    const third = this.#thirdOfAckWait;
    const tickMs = this.#tickMs;
    this.#lastTick = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      // A tick this late means the event loop stalled, and messages the server sent meanwhile
      // are still to be read: see #stalled.
      if (now - this.#lastTick > tickMs + STALL_SLACK_MS) this.#lateUntil = now + tickMs;
      this.#lastTick = now;
      for (const [msg, at] of this.#held) {
        if (now - at < third) continue;
        this.#working(msg, now);
      }
    }, tickMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /**
   * Whether the event loop has just stalled (the keep-alive tick is overdue, or ran late a
   * moment ago). A message's ack wait runs from when the server sent it, but the runner can only
   * stamp it when it reads it: one sent while the loop stood still — a node restoring its actors
   * at start-up stalls for seconds — has used up most of its ack wait unseen, and would be
   * redelivered, to this same live runner, before its first in-progress ack: thousands of
   * readings written twice after each restart on a loaded machine (issue 12). Such messages are
   * told in progress as they are read.
   */
  #stalled(now: number): boolean {
    return now < this.#lateUntil || now - this.#lastTick > this.#tickMs + STALL_SLACK_MS;
  }

  #working(msg: JsMsg, now: number): void {
    try {
      msg.working();
      this.#held.set(msg, now);
    } catch {
      // The connection is going: the messages come back after the ack wait anyway.
    }
  }

  async #handleBatch(valid: Delivery<T>[]): Promise<void> {
    const o = this.#o;
    try {
      const settled = (await o.handle(valid)) ?? [];
      const out = new Set<Delivery<T>>();
      let deferred = 0;
      for (const r of settled) {
        out.add(r.delivery);
        if (isDeferred(r)) {
          r.delivery.msg.nak(r.deferMs);
          deferred++;
          continue;
        }
        await this.#deadLetter(r.delivery.msg, { code: r.code, reason: r.reason });
        r.delivery.msg.ack();
      }
      for (const d of valid) if (!out.has(d)) d.msg.ack();
      this.#processed(valid.length - out.size);
      this.#stats.deferred += deferred;
    } catch (err) {
      // A failed batch says nothing about which message caused it: retry them one by one so
      // only the culprit is dead-lettered or retried. An outage fails them all alike.
      if (!isOutage(err) && valid.length > 1) {
        for (const d of valid) await this.#handleBatch([d]);
        return;
      }
      await this.#failBatch(valid, err);
    }
  }

  async #failBatch(valid: Delivery<T>[], err: unknown): Promise<void> {
    const o = this.#o;
    this.#stats.lastError = errorMessage(err);
    let minDelay = Number.POSITIVE_INFINITY;
    for (const d of valid) {
      const next = disposition(err ?? 'handler threw nothing', d.msg.info.deliveryCount, o);
      if (next.action === 'retry') {
        minDelay = Math.min(minDelay, next.delayMs);
        d.msg.nak(next.delayMs);
        this.#countRetry();
      } else if (next.action === 'dead-letter') {
        await this.#deadLetter(d.msg, next);
        d.msg.ack();
      }
    }
    if (Number.isFinite(minDelay)) {
      o.log.warn(
        { err, consumer: o.name, messages: valid.length, retryInMs: minDelay },
        'batch failed; will retry',
      );
      // Back off fetching too: the next batch would most likely hit the same outage.
      await this.#pause(minDelay);
    }
  }

  #countRetry(): void {
    this.#stats.retried++;
    consumerMetrics.retried.inc({ consumer: this.#o.name });
  }

  /** Returns false when stop() interrupted the retries (the message stays unprocessed). */
  async #processOrdered(msg: JsMsg): Promise<boolean> {
    const o = this.#o;
    const d = this.#decode(msg);
    if (!d.ok) {
      await this.#deadLetter(msg, { code: d.code, reason: d.reason });
      return true;
    }
    const delivery: Delivery<T> = { msg, value: d.value };
    // Failed attempts, for the retry policy; a deferral is not one.
    let failures = 0;
    for (;;) {
      let wait: number;
      try {
        const r = ((await o.handle([delivery])) ?? [])[0];
        if (!r) {
          this.#processed(1);
          return true;
        }
        if (!isDeferred(r)) {
          await this.#deadLetter(msg, { code: r.code, reason: r.reason });
          return true;
        }
        this.#stats.deferred++;
        wait = r.deferMs;
      } catch (err) {
        failures++;
        this.#stats.lastError = errorMessage(err);
        const next = disposition(err ?? 'handler threw nothing', failures, o);
        if (next.action !== 'retry') {
          if (next.action === 'dead-letter') await this.#deadLetter(msg, next);
          return true;
        }
        this.#countRetry();
        o.log.warn(
          { err, consumer: o.name, seq: msg.seq, attempt: failures },
          'handler failed; retrying in order',
        );
        wait = next.delayMs;
      }
      // Retried or deferred in place: a nak would let later messages overtake it.
      msg.working();
      if (!(await this.#pause(wait))) return false;
    }
  }
}

/** Sleep `ms`: true after the full sleep, false as soon as `signal` aborts (at once if it has). */
export async function sleepFor(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    // The only rejection is the abort.
    return false;
  }
}

/**
 * Messages received from the server but not yet yielded by the iterator. (`getPending()` also
 * counts the pull requests the iterator has queued, so it stays above zero when idle.)
 */
function buffered(messages: ConsumerMessages): number {
  return messages.getReceived() - messages.getProcessed();
}

/**
 * A consume() iterator read as fast as messages arrive, each handed to `onMessage` on arrival,
 * then yielded in order by `next()`. The end of the iterator, or its error, is yielded after
 * the messages before it.
 */
class Prefetch {
  readonly #queue: JsMsg[] = [];
  #end: { error: unknown } | null = null;
  #wake: (() => void) | null = null;

  /** `onMessage` says whether to yield the message (false: it was dealt with). */
  constructor(messages: ConsumerMessages, onMessage: (msg: JsMsg) => boolean) {
    void (async () => {
      try {
        for await (const msg of messages) {
          if (!onMessage(msg)) continue;
          this.#queue.push(msg);
          this.#wake?.();
        }
        this.#end = { error: null };
      } catch (error) {
        this.#end = { error: error ?? new Error('consumer iterator failed') };
      }
      this.#wake?.();
    })();
  }

  /** Messages arrived and not yet taken. */
  get buffered(): number {
    return this.#queue.length;
  }

  async next(): Promise<IteratorResult<JsMsg>> {
    for (;;) {
      const msg = this.#queue.shift();
      if (msg) return { done: false, value: msg };
      if (this.#end) {
        if (this.#end.error !== null) throw this.#end.error;
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = null;
    }
  }
}

async function raceLinger<R>(p: Promise<R>, ms: number): Promise<R | typeof LINGER> {
  let timer: NodeJS.Timeout | undefined;
  const linger = new Promise<typeof LINGER>((resolve) => {
    timer = setTimeout(() => resolve(LINGER), Math.max(0, ms));
  });
  try {
    return await Promise.race([p, linger]);
  } finally {
    clearTimeout(timer);
  }
}
