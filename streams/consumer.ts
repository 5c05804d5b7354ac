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
import { isVigilError, VigilError, type ErrorCode, type Logger } from '../schemas/mod.ts';
import { consumerMetrics } from './metrics.ts';
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
 * - `ordered` (actors): messages are handled one at a time in stream order; a failing
 *   message is retried in place (a nak would let later messages overtake it); after each batch
 *   `commit(lastSeq)` persists progress and one ack-all acknowledges the whole batch.
 */

export type Decoded<T> = { ok: true; value: T } | ({ ok: false } & Rejection);

export interface Delivery<T> {
  msg: JsMsg;
  value: T;
}

export interface Rejected<T> extends Rejection {
  delivery: Delivery<T>;
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
  filterSubject: string;
  /** Rejected messages go to `[ns.]dlq.<dlqSource>`. */
  dlqSource: string;
  mode: 'batch' | 'ordered';
  decode(msg: JsMsg): Decoded<T>;
  /** Handle valid messages; return the ones to dead-letter, throw to retry them all. */
  handle(batch: Delivery<T>[]): Promise<Rejected<T>[] | void>;
  /**
   * Ordered mode: persist progress up to `lastSeq` (e.g. snapshots + checkpoint) before the ack.
   * After an interruption delivery resumes after the last commit, so an ordered handler must
   * skip sequences it already applied (the equipment actors compare with their snapshot).
   */
  commit?(lastSeq: number): Promise<void>;
  /**
   * Ordered mode: the last stream sequence already committed. A consumer whose ack floor is
   * elsewhere, or that holds unacknowledged messages (a previous owner died mid-batch), is
   * recreated to start right after it, so processing resumes exactly in order.
   */
  resumeAfter?: number;
  batchSize?: number;
  /** Flush a partial batch after this long without a new message. */
  lingerMs?: number;
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
  lastError: string | null;
  lastCommittedSeq: number | null;
}

export const DEFAULT_BACKOFF_MS: readonly number[] = [1000, 2000, 5000, 10_000, 30_000];

const LINGER = Symbol('linger');

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

export class ConsumerRunner<T> {
  readonly #o: Required<
    Pick<ConsumerOptions<T>, 'batchSize' | 'lingerMs' | 'maxDeliver' | 'backoffMs' | 'ackWaitMs'>
  > &
    ConsumerOptions<T>;
  #messages: ConsumerMessages | null = null;
  #loop: Promise<void> | null = null;
  #stopping = false;
  readonly #abort = new AbortController();
  #stats: ConsumerStats;

  constructor(opts: ConsumerOptions<T>) {
    this.#o = {
      batchSize: 256,
      lingerMs: 100,
      maxDeliver: 5,
      backoffMs: DEFAULT_BACKOFF_MS,
      ackWaitMs: 60_000,
      ...opts,
    };
    if (this.#o.mode === 'ordered' && !this.#o.commit) {
      // Misconfiguration, not input: fail loudly at construction.
      throw new VigilError('INTERNAL', `ordered consumer ${opts.name} needs a commit function`);
    }
    this.#stats = {
      name: opts.name,
      running: false,
      processed: 0,
      rejected: 0,
      retried: 0,
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
    const steps = this.#o.backoffMs;
    return steps[Math.min(Math.max(attempt, 1), steps.length) - 1] ?? 1000;
  }

  /** Sleep unless stopping; resolves false when interrupted by stop(). */
  async #pause(ms: number): Promise<boolean> {
    if (this.#stopping) return false;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#abort.signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve(false);
      };
      this.#abort.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #consumerConfig(): Partial<ConsumerConfig> {
    const o = this.#o;
    return {
      durable_name: o.durable,
      filter_subject: o.filterSubject,
      ack_policy: o.mode === 'ordered' ? AckPolicy.All : AckPolicy.Explicit,
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
        info.config.filter_subject === o.filterSubject &&
        info.config.ack_policy === AckPolicy.All;
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
    if (info.config.filter_subject !== o.filterSubject || info.config.ack_policy !== config.ack_policy) {
      o.log.warn(
        { consumer: o.name },
        'durable consumer has a different filter or ack policy; recreating it',
      );
      await o.jsm.consumers.delete(o.stream, o.durable);
      await o.jsm.consumers.add(o.stream, config);
    } else if (
      info.config.ack_wait !== config.ack_wait ||
      info.config.max_ack_pending !== config.max_ack_pending
    ) {
      await o.jsm.consumers.update(o.stream, o.durable, {
        ack_wait: config.ack_wait,
        max_ack_pending: config.max_ack_pending,
      });
    }
  }

  async #run(): Promise<void> {
    const o = this.#o;
    while (!this.#stopping) {
      try {
        const consumer = await o.js.consumers.get(o.stream, o.durable);
        const messages = await consumer.consume({
          max_messages: o.batchSize,
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

  async #drain(messages: ConsumerMessages): Promise<void> {
    const it = messages[Symbol.asyncIterator]();
    let next = it.next();
    let batch: JsMsg[] = [];
    try {
      for (;;) {
        const r = batch.length === 0 ? await next : await raceLinger(next, this.#o.lingerMs);
        if (r === LINGER) {
          const partial = batch;
          batch = [];
          await this.#flush(partial);
          continue;
        }
        if (r.done) break;
        next = it.next();
        batch.push(r.value);
        // `pending` counts messages still waiting in the stream: 0 means this burst is over. It
        // says nothing about redeliveries: a failed batch comes back together after its common
        // nak delay, and linger gathers it again rather than retrying it one message at a time.
        const burstOver = r.value.info.pending === 0 && r.value.info.deliveryCount === 1;
        if (batch.length >= this.#o.batchSize || burstOver) {
          const full = batch;
          batch = [];
          await this.#flush(full);
        }
      }
      // Stopped: what was already delivered is handled (and committed) before returning.
      if (batch.length) await this.#flush(batch);
    } finally {
      next.catch(() => undefined);
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

  async #flush(batch: JsMsg[]): Promise<void> {
    for (const msg of batch) {
      if (msg.info.deliveryCount > 1) consumerMetrics.redelivered.inc({ consumer: this.#o.name });
    }
    if (this.#o.mode === 'ordered') await this.#flushOrdered(batch);
    else await this.#flushBatch(batch);
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
    consumerMetrics.processed.inc({ consumer: this.#o.name }, n);
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

  async #handleBatch(valid: Delivery<T>[]): Promise<void> {
    const o = this.#o;
    try {
      const rejected = (await o.handle(valid)) ?? [];
      const out = new Set<Delivery<T>>();
      for (const r of rejected) {
        out.add(r.delivery);
        await this.#deadLetter(r.delivery.msg, { code: r.code, reason: r.reason });
        r.delivery.msg.ack();
      }
      for (const d of valid) if (!out.has(d)) d.msg.ack();
      this.#processed(valid.length - out.size);
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
      const deliveries = d.msg.info.deliveryCount;
      if (!isRetryable(err)) {
        await this.#deadLetter(d.msg, { code: errorCode(err), reason: errorMessage(err) });
        d.msg.ack();
      } else if (!isOutage(err) && deliveries >= o.maxDeliver) {
        await this.#deadLetter(d.msg, {
          code: errorCode(err),
          reason: `max deliveries exceeded (${deliveries}): ${errorMessage(err)}`,
        });
        d.msg.ack();
      } else {
        const delay = this.#backoff(deliveries);
        minDelay = Math.min(minDelay, delay);
        d.msg.nak(delay);
        this.#stats.retried++;
        consumerMetrics.retried.inc({ consumer: o.name });
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

  /** Ordered mode: each message in turn, retried in place; one commit and one ack-all per batch. */
  async #flushOrdered(batch: JsMsg[]): Promise<void> {
    let last: JsMsg | undefined;
    for (const msg of batch) {
      if (!(await this.#processOrdered(msg))) break;
      last = msg;
    }
    if (!last) return;
    const o = this.#o;
    for (let attempt = 1; ; attempt++) {
      try {
        await o.commit!(last.seq);
        break;
      } catch (err) {
        this.#stats.lastError = errorMessage(err);
        o.log.warn({ err, consumer: o.name, seq: last.seq }, 'commit failed; retrying');
        // Not committing is safe: the next owner resumes from the previous checkpoint.
        if (!(await this.#pause(this.#backoff(attempt)))) return;
      }
    }
    last.ack();
    this.#stats.lastCommittedSeq = last.seq;
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
    for (let attempt = 1; ; attempt++) {
      try {
        const rejected = (await o.handle([delivery])) ?? [];
        const r = rejected[0];
        if (r) await this.#deadLetter(msg, { code: r.code, reason: r.reason });
        else this.#processed(1);
        return true;
      } catch (err) {
        this.#stats.lastError = errorMessage(err);
        if (!isRetryable(err)) {
          await this.#deadLetter(msg, { code: errorCode(err), reason: errorMessage(err) });
          return true;
        }
        if (!isOutage(err) && attempt >= o.maxDeliver) {
          await this.#deadLetter(msg, {
            code: errorCode(err),
            reason: `max deliveries exceeded (${attempt}): ${errorMessage(err)}`,
          });
          return true;
        }
        this.#stats.retried++;
        consumerMetrics.retried.inc({ consumer: o.name });
        o.log.warn({ err, consumer: o.name, seq: msg.seq, attempt }, 'handler failed; retrying in order');
        msg.working();
        if (!(await this.#pause(this.#backoff(attempt)))) return false;
      }
    }
  }
}

async function raceLinger<R>(p: Promise<R>, ms: number): Promise<R | typeof LINGER> {
  let timer: NodeJS.Timeout | undefined;
  const linger = new Promise<typeof LINGER>((resolve) => {
    timer = setTimeout(() => resolve(LINGER), ms);
  });
  try {
    return await Promise.race([p, linger]);
  } finally {
    clearTimeout(timer);
  }
}
