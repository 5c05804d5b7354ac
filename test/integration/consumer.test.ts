import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { fromClickHouseError, fromPgError } from '../../actors/mod.ts';
import { createLogger, loadConfig, VigilError } from '../../schemas/mod.ts';
import {
  ConsumerRunner,
  DLQ_HEADERS,
  PartitionLeases,
  connectNats,
  deleteNamespace,
  ensureSnapshotBucket,
  ensureStreams,
  jetstream,
  jetstreamManager,
  names as namesFor,
  type ConsumerOptions,
  type Decoded,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  type Names,
} from '../../streams/mod.ts';
import { waitFor } from '../helpers/wait.ts';

const ns = `t${randomBytes(4).toString('hex')}`;
const config = loadConfig(process.env, { VIGIL_NS: ns });
const log = createLogger({ LOG_LEVEL: 'silent' }, 'consumer-test');
const enc = new TextEncoder();

let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let names: Names;
const runners: ConsumerRunner<unknown>[] = [];

/** Every test publishes under its own tenant token, consumes with its own durable and DLQ source. */
function scope(name: string): {
  subject(e: string): string;
  filter: string;
  durable: string;
  source: string;
} {
  return {
    subject: (e) => names.telemetry.publish(name, e),
    filter: names.telemetry.tenant(name),
    durable: names.consumer(`test_${name}`),
    source: name,
  };
}

/** The options naming a test's own consumer on its `scope`. */
function scopedConsumer(
  name: string,
): Pick<ConsumerOptions<unknown>, 'name' | 'stream' | 'durable' | 'filterSubject' | 'dlqSource'> {
  const s = scope(name);
  return {
    name: `test_${name}`,
    stream: names.telemetry.stream,
    durable: s.durable,
    filterSubject: s.filter,
    dlqSource: s.source,
  };
}

const text = (msg: JsMsg): string => Buffer.from(msg.data).toString('utf8');
const decodeText = (msg: JsMsg): Decoded<string> =>
  text(msg).startsWith('bad')
    ? { ok: false, code: 'VALIDATION_FAILED', reason: `rejected ${text(msg)}` }
    : { ok: true, value: text(msg) };

async function runner<T>(
  opts: Omit<ConsumerOptions<T>, 'js' | 'jsm' | 'names' | 'log'>,
): Promise<ConsumerRunner<T>> {
  const r = new ConsumerRunner<T>({ js, jsm, names, log, backoffMs: [50, 100], lingerMs: 20, ...opts });
  runners.push(r as ConsumerRunner<unknown>);
  await r.start();
  return r;
}

async function dlq(source: string): Promise<Array<{ headers: Record<string, string>; body: string }>> {
  const info = await jsm.streams.info(names.dlq.stream, { subjects_filter: names.dlq.subject(source) });
  const out: Array<{ headers: Record<string, string>; body: string }> = [];
  if (!info.state.subjects?.[names.dlq.subject(source)]) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(names.dlq.stream, { seq }).catch(() => null);
    if (!m || m.subject !== names.dlq.subject(source)) continue;
    const headers: Record<string, string> = {};
    for (const [k] of m.header) headers[k] = m.header.get(k);
    out.push({ headers, body: Buffer.from(m.data).toString('utf8') });
  }
  return out;
}

async function idle(durable: string): Promise<boolean> {
  const info = await jsm.consumers.info(names.telemetry.stream, durable);
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

before(async () => {
  names = namesFor(ns);
  nc = await connectNats(config, 'consumer-test');
  jsm = await jetstreamManager(nc);
  js = jetstream(nc);
  await ensureStreams(jsm, names);
});

after(async () => {
  for (const r of runners) await r.stop();
  await deleteNamespace(jsm, names);
  await nc.drain();
});

describe('consumer runner (batch mode)', () => {
  test('invalid messages are dead-lettered with reason and original bytes, then acked; valid ones handled', async () => {
    const s = scope('a');
    const handled: string[] = [];
    await runner<string>({
      name: 'test_a',
      stream: names.telemetry.stream,
      durable: s.durable,
      filterSubject: s.filter,
      dlqSource: s.source,
      mode: 'batch',
      decode: decodeText,
      handle: async (batch) => {
        handled.push(...batch.map((d) => d.value));
      },
    });
    await js.publish(s.subject('e1'), enc.encode('ok-1'));
    const bad = await js.publish(s.subject('e1'), enc.encode('bad-2'));
    await js.publish(s.subject('e1'), enc.encode('ok-3'));
    await waitFor('all acked', () => handled.length === 2 && idle(s.durable));
    assert.deepEqual(handled, ['ok-1', 'ok-3']);
    const [entry, ...rest] = await waitFor('dlq entry', async () => {
      const d = await dlq(s.source);
      return d.length ? d : undefined;
    });
    assert.equal(rest.length, 0);
    assert.equal(entry!.body, 'bad-2');
    assert.equal(entry!.headers[DLQ_HEADERS.code], 'VALIDATION_FAILED');
    assert.equal(entry!.headers[DLQ_HEADERS.reason], 'rejected bad-2');
    assert.equal(entry!.headers[DLQ_HEADERS.stream], names.telemetry.stream);
    assert.equal(entry!.headers[DLQ_HEADERS.seq], String(bad.seq));
    assert.equal(entry!.headers[DLQ_HEADERS.consumer], 'test_a');
    assert.match(entry!.headers[DLQ_HEADERS.subject] ?? '', new RegExp(`^${ns}\\.tele\\.a\\.e1\\.\\d+$`));
  });

  // Issue 12, finding 3: messages fetched ahead of a slow writer outlived the sinks' short ack
  // wait and were redelivered while the runner was alive — written twice, slowing it further.
  test('writes slower than the ack wait: nothing delivered to a live runner is redelivered', async () => {
    const s = scope('slow');
    const total = 60;
    for (let i = 0; i < total; i++) await js.publish(s.subject('e1'), enc.encode(`m-${i}`));
    const handled: string[] = [];
    let redelivered = 0;
    await runner<string>({
      name: 'test_slow',
      stream: names.telemetry.stream,
      durable: s.durable,
      filterSubject: s.filter,
      dlqSource: s.source,
      mode: 'batch',
      decode: decodeText,
      batchSize: 10,
      // Each batch of 10 takes two thirds of the ack wait: the messages fetched behind it wait
      // several writes, longer than the ack wait.
      ackWaitMs: 3000,
      handle: async (batch) => {
        redelivered += batch.filter((d) => d.msg.info.deliveryCount > 1).length;
        await new Promise((r) => setTimeout(r, 2000));
        handled.push(...batch.map((d) => d.value));
      },
    });
    await waitFor('all handled and acked', () => handled.length >= total && idle(s.durable), 60_000);
    const info = await jsm.consumers.info(names.telemetry.stream, s.durable);
    assert.equal(redelivered, 0, 'redeliveries handled');
    assert.equal(info.delivered.consumer_seq, total, 'deliveries, redeliveries included');
    assert.deepEqual([...handled].sort(), Array.from({ length: total }, (_, i) => `m-${i}`).sort());
  });

  test('a stalled event loop: messages that arrived during the stall are not redelivered to the live runner', async () => {
    const total = 40;
    const s = scope('stall');
    for (let i = 0; i < total; i++) await js.publish(s.subject('e1'), enc.encode(`m-${i}`));
    const handled: string[] = [];
    let stalled = false;
    const r: ConsumerRunner<string> = await runner<string>({
      ...scopedConsumer('stall'),
      mode: 'batch',
      decode: decodeText,
      batchSize: 10,
      ackWaitMs: 3000,
      handle: async (batch) => {
        if (!stalled) {
          stalled = true;
          // What a node restoring actors at start-up does to its sinks: the event loop stops
          // for most of the ack wait while the next messages sit unread in the socket.
          const until = performance.now() + 2000;
          while (performance.now() < until);
        } else await new Promise((done) => setTimeout(done, 700));
        handled.push(...batch.map((d) => d.value));
      },
    });
    await waitFor('all handled and acked', () => handled.length >= total && idle(s.durable), 60_000);
    assert.deepEqual(
      { redelivered: r.stats().redelivered, expiredWhileHeld: r.stats().expiredWhileHeld },
      { redelivered: 0, expiredWhileHeld: 0 },
    );
    assert.equal(handled.length, total, 'each handled once');
  });

  test('two consumers rejecting the same message leave one DLQ entry', async () => {
    const s = scope('b');
    for (const which of ['x', 'y']) {
      await runner<string>({
        name: `test_b_${which}`,
        stream: names.telemetry.stream,
        durable: names.consumer(`test_b_${which}`),
        filterSubject: s.filter,
        dlqSource: s.source,
        mode: 'batch',
        decode: decodeText,
        handle: async () => undefined,
      });
    }
    await js.publish(s.subject('e1'), enc.encode('bad-once'));
    await waitFor(
      'both consumers done',
      async () => (await idle(names.consumer('test_b_x'))) && idle(names.consumer('test_b_y')),
    );
    const entries = await dlq(s.source);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.body, 'bad-once');
  });

  test('a transient failure is nak-ed with backoff and succeeds on redelivery', async () => {
    const s = scope('c');
    const attempts = new Map<string, number>();
    const done: Array<{ value: string; deliveries: number }> = [];
    await runner<string>({
      name: 'test_c',
      stream: names.telemetry.stream,
      durable: s.durable,
      filterSubject: s.filter,
      dlqSource: s.source,
      mode: 'batch',
      decode: decodeText,
      handle: async (batch) => {
        for (const d of batch) {
          const n = (attempts.get(d.value) ?? 0) + 1;
          attempts.set(d.value, n);
          if (d.value === 'flaky' && n === 1) throw new VigilError('INTERNAL', 'first attempt fails');
        }
        done.push(...batch.map((d) => ({ value: d.value, deliveries: d.msg.info.deliveryCount })));
      },
    });
    await js.publish(s.subject('e1'), enc.encode('flaky'));
    await waitFor('flaky handled', () => done.some((d) => d.value === 'flaky') && idle(s.durable));
    assert.deepEqual(done, [{ value: 'flaky', deliveries: 2 }]);
    assert.equal((await dlq(s.source)).length, 0);
  });

  test('a deferred message is handed back later while the others are acked, and never dead-lettered', async () => {
    const s = scope('defer');
    const done: string[] = [];
    let ready = false;
    const r: ConsumerRunner<string> = await runner<string>({
      ...scopedConsumer('defer'),
      mode: 'batch',
      maxDeliver: 2,
      decode: decodeText,
      handle: async (batch) => {
        // Past maxDeliver: deferrals are not failures.
        if (r.stats().deferred >= 3) ready = true;
        const later = batch.filter((d) => d.value === 'later' && !ready);
        done.push(...batch.filter((d) => !later.includes(d)).map((d) => d.value));
        return later.map((d) => ({ delivery: d, deferMs: 50 }));
      },
    });
    for (const v of ['later', 'now']) await js.publish(s.subject('e1'), enc.encode(v));
    await waitFor('both handled', () => done.length === 2 && idle(s.durable));
    assert.deepEqual(done, ['now', 'later']);
    assert.equal(r.stats().deferred, 3);
    assert.equal(r.stats().processed, 2);
    assert.equal((await dlq(s.source)).length, 0);
  });

  test('select: other messages are acked unread; a filtered durable loses its filter in place', async () => {
    const s = scope('sel');
    const other = scope('sel_other');
    await js.publish(s.subject('e1'), enc.encode('before'));
    // The durable as a filtered consumer made it, having taken and acked its one message.
    await jsm.consumers.add(names.telemetry.stream, {
      durable_name: s.durable,
      filter_subject: s.filter,
      ack_policy: AckPolicy.Explicit,
    });
    const old = await js.consumers.get(names.telemetry.stream, s.durable);
    const first = await old.next({ expires: 5000 });
    assert.equal(first && text(first), 'before');
    await first!.ackAck();
    const created = (await jsm.consumers.info(names.telemetry.stream, s.durable)).created;

    const seen: string[] = [];
    const { filterSubject: _, ...unfiltered } = scopedConsumer('sel');
    const r = await runner<string>({
      ...unfiltered,
      mode: 'batch',
      select: (subject) => subject.startsWith(s.filter.slice(0, -3)),
      decode: decodeText,
      handle: async (batch) => {
        seen.push(...batch.map((d) => d.value));
      },
    });
    await js.publish(other.subject('e1'), enc.encode('bad-not-mine'));
    await js.publish(s.subject('e1'), enc.encode('mine'));
    await waitFor('handled', async () => seen.length === 1 && (await idle(s.durable)));
    const info = await jsm.consumers.info(names.telemetry.stream, s.durable);
    assert.equal(info.config.filter_subject ?? '', '', 'filter dropped');
    assert.equal(info.created, created, 'the same durable');
    assert.deepEqual(seen, ['mine']);
    assert.ok(r.stats().skipped >= 1, `skipped ${r.stats().skipped}`);
    assert.equal((await dlq(other.source)).length, 0, 'a skipped message is never decoded');
  });

  test('a retryable failure past maxDeliver is dead-lettered as "max deliveries exceeded"', async () => {
    const s = scope('d');
    let calls = 0;
    await runner<string>({
      name: 'test_d',
      stream: names.telemetry.stream,
      durable: s.durable,
      filterSubject: s.filter,
      dlqSource: s.source,
      mode: 'batch',
      maxDeliver: 3,
      decode: decodeText,
      handle: async () => {
        calls++;
        throw new VigilError('INTERNAL', 'always broken');
      },
    });
    await js.publish(s.subject('e1'), enc.encode('doomed'));
    const [entry] = await waitFor('dead letter', async () => {
      const d = await dlq(s.source);
      return d.length ? d : undefined;
    });
    assert.equal(calls, 3);
    assert.equal(entry!.body, 'doomed');
    assert.equal(entry!.headers[DLQ_HEADERS.code], 'INTERNAL');
    assert.match(entry!.headers[DLQ_HEADERS.reason] ?? '', /^max deliveries exceeded \(3\): always broken/);
    await waitFor('acked', () => idle(s.durable));
  });

  test('an outage is retried past maxDeliver and never dead-lettered', async () => {
    const s = scope('e');
    let calls = 0;
    const stored: string[] = [];
    await runner<string>({
      name: 'test_e',
      stream: names.telemetry.stream,
      durable: s.durable,
      filterSubject: s.filter,
      dlqSource: s.source,
      mode: 'batch',
      maxDeliver: 2,
      decode: decodeText,
      handle: async (batch) => {
        calls++;
        if (calls <= 4) throw new VigilError('DEPENDENCY_UNAVAILABLE', 'database down');
        stored.push(...batch.map((d) => d.value));
      },
    });
    await js.publish(s.subject('e1'), enc.encode('survivor'));
    await waitFor('stored after the outage', () => stored.length === 1 && idle(s.durable));
    assert.deepEqual(stored, ['survivor']);
    assert.equal(calls, 5);
    assert.equal((await dlq(s.source)).length, 0);
  });

  test('a transient database error (ClickHouse TOO_MANY_PARTS, PostgreSQL deadlock) retries the whole batch, unsplit', async () => {
    for (const [scopeName, transient] of [
      [
        'o',
        () =>
          fromClickHouseError(Object.assign(new Error('Too many parts (300)'), { code: '252' }), 'insert'),
      ],
      ['q', () => fromPgError(Object.assign(new Error('deadlock detected'), { code: '40P01' }), 'insert')],
    ] as const) {
      const s = scope(scopeName);
      const sizes: number[] = [];
      const stored: string[] = [];
      // Published before the consumer exists, so the four arrive as one batch.
      for (const v of ['w1', 'w2', 'w3', 'w4']) await js.publish(s.subject('e1'), enc.encode(v));
      await runner<string>({
        name: `test_${scopeName}`,
        stream: names.telemetry.stream,
        durable: s.durable,
        filterSubject: s.filter,
        dlqSource: s.source,
        mode: 'batch',
        maxDeliver: 2,
        // Generous, so a loaded machine still gathers the redelivered batch in one piece.
        lingerMs: 300,
        decode: decodeText,
        handle: async (batch) => {
          sizes.push(batch.length);
          if (sizes.length <= 3) throw transient();
          stored.push(...batch.map((d) => d.value));
        },
      });
      await waitFor(`${scopeName}: stored after the overload`, () => stored.length === 4 && idle(s.durable));
      assert.deepEqual(stored.sort(), ['w1', 'w2', 'w3', 'w4']);
      assert.deepEqual(sizes, [4, 4, 4, 4], `${scopeName}: never split into single messages`);
      assert.equal((await dlq(s.source)).length, 0, `${scopeName}: nothing dead-lettered past maxDeliver`);
    }
  });

  test('a permanently failing batch is split so only the culprit is dead-lettered', async () => {
    const s = scope('f');
    const stored: string[] = [];
    const sizes: number[] = [];
    // Published before the consumer exists, so the three arrive as one batch.
    for (const v of ['m1', 'poison', 'm3']) await js.publish(s.subject('e1'), enc.encode(v));
    const r = await runner<string>({
      name: 'test_f',
      stream: names.telemetry.stream,
      durable: s.durable,
      filterSubject: s.filter,
      dlqSource: s.source,
      mode: 'batch',
      decode: decodeText,
      handle: async (batch) => {
        sizes.push(batch.length);
        if (batch.some((d) => d.value === 'poison'))
          throw new VigilError('VALIDATION_FAILED', 'constraint violated');
        stored.push(...batch.map((d) => d.value));
      },
    });
    await waitFor('all settled', () => stored.length === 2 && idle(s.durable));
    assert.deepEqual(sizes, [3, 1, 1, 1], 'one failed batch, then one message at a time');
    assert.deepEqual(stored, ['m1', 'm3']);
    const entries = await dlq(s.source);
    assert.deepEqual(
      entries.map((e) => [e.body, e.headers[DLQ_HEADERS.code]]),
      [['poison', 'VALIDATION_FAILED']],
    );
    assert.equal(r.stats().rejected, 1);
  });
});

describe('consumer runner (ordered mode)', () => {
  test('keeps stream order through a retried failure, commits the last sequence, then acks all', async () => {
    const s = scope('g');
    const seen: string[] = [];
    const commits: number[] = [];
    let failedOnce = false;
    await runner<string>({
      name: 'test_g',
      stream: names.telemetry.stream,
      durable: s.durable,
      filterSubject: s.filter,
      dlqSource: s.source,
      mode: 'ordered',
      decode: decodeText,
      handle: async ([d]) => {
        if (d!.value === 'o2' && !failedOnce) {
          failedOnce = true;
          throw new VigilError('INTERNAL', 'hiccup');
        }
        seen.push(d!.value);
      },
      commit: async (seq) => {
        commits.push(seq);
      },
    });
    const acks = [];
    for (const v of ['o1', 'o2', 'bad-o3', 'o4']) acks.push(await js.publish(s.subject('e1'), enc.encode(v)));
    await waitFor('all processed', () => seen.length === 3 && idle(s.durable));
    assert.deepEqual(seen, ['o1', 'o2', 'o4']);
    assert.equal(commits.at(-1), acks.at(-1)!.seq);
    assert.deepEqual(
      [...commits].sort((a, b) => a - b),
      commits,
      'commits only move forward',
    );
    assert.deepEqual(
      (await dlq(s.source)).map((e) => e.body),
      ['bad-o3'],
    );
  });

  test('a commit that fails after the last message is retried with no message to come', async () => {
    const s = scope('ocommit');
    const commits: Array<{ seq: number; ok: boolean }> = [];
    await runner<string>({
      name: 'test_ocommit',
      stream: names.telemetry.stream,
      durable: s.durable,
      filterSubject: s.filter,
      dlqSource: s.source,
      mode: 'ordered',
      decode: decodeText,
      handle: async () => undefined,
      commit: async (seq) => {
        const ok = commits.length > 0;
        commits.push({ seq, ok });
        if (!ok) throw new VigilError('DEPENDENCY_UNAVAILABLE', 'checkpoint write timed out');
      },
    });
    const ack = await js.publish(s.subject('e1'), enc.encode('only'));
    // Before the fix the runner noticed the failed commit only when a message came: here, the
    // redelivery after the ack wait (60 s). The retry is due after 50 ms; 20 s is ample.
    await waitFor('committed and acked', () => commits.some((c) => c.ok) && idle(s.durable), 20_000);
    assert.deepEqual(commits, [
      { seq: ack.seq, ok: false },
      { seq: ack.seq, ok: true },
    ]);
  });

  test('a deferred message is waited for in place: nothing overtakes it', async () => {
    const s = scope('odefer');
    const seen: string[] = [];
    let deferrals = 0;
    const r = await runner<string>({
      ...scopedConsumer('odefer'),
      mode: 'ordered',
      decode: decodeText,
      handle: async ([d]) => {
        if (d!.value === 'o1' && deferrals < 2) {
          deferrals++;
          return [{ delivery: d!, deferMs: 50 }];
        }
        seen.push(d!.value);
        return [];
      },
      commit: async () => undefined,
    });
    for (const v of ['o1', 'o2']) await js.publish(s.subject('e1'), enc.encode(v));
    await waitFor('both processed', () => seen.length === 2 && idle(s.durable));
    assert.deepEqual(seen, ['o1', 'o2']);
    assert.equal(r.stats().deferred, 2);
  });

  test('resumes right after the given checkpoint, recreating a consumer that is elsewhere', async () => {
    const s = scope('h');
    const first: string[] = [];
    let committed = 0;
    const opts = {
      name: 'test_h',
      stream: names.telemetry.stream,
      durable: s.durable,
      filterSubject: s.filter,
      dlqSource: s.source,
      mode: 'ordered' as const,
      decode: decodeText,
    };
    const r1 = await runner<string>({
      ...opts,
      handle: async ([d]) => {
        first.push(d!.value);
      },
      commit: async (seq) => {
        committed = seq;
      },
    });
    const acks = [];
    for (const v of ['h1', 'h2', 'h3']) acks.push(await js.publish(s.subject('e1'), enc.encode(v)));
    await waitFor('first pass', () => first.length === 3 && idle(s.durable));
    await r1.stop();
    assert.equal(committed, acks[2]!.seq);

    // A new owner whose checkpoint says only h1 was committed must see h2 and h3 again, in order.
    const second: string[] = [];
    await runner<string>({
      ...opts,
      resumeAfter: acks[0]!.seq,
      handle: async ([d]) => {
        second.push(d!.value);
      },
      commit: async () => undefined,
    });
    await waitFor('second pass', () => second.length === 2 && idle(s.durable));
    assert.deepEqual(second, ['h2', 'h3']);
  });
});

describe("consumer runner (ordered mode): the durable in the server's memory", () => {
  test('is memory-stored; an older file-stored durable is replaced at the checkpoint; a vanished one (a NATS restart drops it) is recreated right after the last commit', async () => {
    const s = scope('omem');
    // A durable as an older version made it: file-stored, and otherwise exactly where the
    // checkpoint says (m0 committed and acked), so only its storage makes it replaced.
    const early = await js.publish(s.subject('e1'), enc.encode('m0'));
    await jsm.consumers.add(names.telemetry.stream, {
      durable_name: s.durable,
      filter_subject: s.filter,
      ack_policy: AckPolicy.All,
      deliver_policy: DeliverPolicy.All,
    });
    const m0 = await (await js.consumers.get(names.telemetry.stream, s.durable)).next();
    assert.ok(m0 && (await m0.ackAck()), 'm0 acked');
    const seen: string[] = [];
    const commits: number[] = [];
    await runner<string>({
      ...scopedConsumer('omem'),
      mode: 'ordered',
      resumeAfter: early.seq,
      decode: decodeText,
      handle: async ([d]) => {
        seen.push(d!.value);
      },
      commit: async (seq) => {
        commits.push(seq);
      },
    });
    for (const v of ['m1', 'm2']) await js.publish(s.subject('e1'), enc.encode(v));
    await waitFor('first two committed', () => seen.length === 2 && idle(s.durable));
    const info = await jsm.consumers.info(names.telemetry.stream, s.durable);
    // Its acknowledgement state is not re-encoded to a file ten times a second (on nats-server
    // 2.9.10 that cost a tenth of the server's CPU at fleet size): the kernel's checkpoint is
    // what survives, and the runner positions the durable after it.
    assert.equal(info.config.mem_storage, true);
    assert.deepEqual(seen, ['m1', 'm2'], 'm0 was before the checkpoint');

    await jsm.consumers.delete(names.telemetry.stream, s.durable);
    for (const v of ['m3', 'm4']) await js.publish(s.subject('e1'), enc.encode(v));
    await waitFor('recreated and caught up', async () => seen.length >= 4 && idle(s.durable));
    assert.deepEqual(seen, ['m1', 'm2', 'm3', 'm4'], 'nothing missed, nothing committed seen again');
    assert.equal((await jsm.consumers.info(names.telemetry.stream, s.durable)).config.mem_storage, true);
  });
});

describe('partition leases', () => {
  test('one holder at a time: taken when free, released, stale or held by a node known gone', async () => {
    const kv = await ensureSnapshotBucket(js, names);
    let clock = 1_000_000;
    const tick = (): number => clock;
    const a = new PartitionLeases(kv, 'test', 'node-a', { staleAfterMs: 10_000, clock: tick });
    const b = new PartitionLeases(kv, 'test', 'node-b', { staleAfterMs: 10_000, clock: tick });
    const none = new Set<string>();

    assert.equal(await a.acquire(1, none), true, 'free');
    assert.equal(await b.acquire(1, none), false, 'held by a live node');
    assert.equal(await a.renew(1), true);
    await a.release(1);
    assert.equal(await b.acquire(1, none), true, 'released');
    assert.equal(await a.renew(1), false, 'a no longer holds it');

    assert.equal(await a.acquire(1, new Set(['node-b'])), true, 'b is known gone');
    assert.equal(await b.renew(1), false, 'b learns it lost the lease');

    assert.equal(await b.acquire(1, none), false, 'b starts watching the revision');
    clock += 10_001;
    assert.equal(await b.acquire(1, none), true, 'a stopped renewing: stale');
    assert.equal(await a.acquire(2, none), true, 'partitions are independent');
    assert.equal(await b.acquire(2, none), false);
  });

  test("staleness is judged on the watcher's clock by revision, never on the holder's timestamp", async () => {
    const kv = await ensureSnapshotBucket(js, names);
    let clock = 5_000_000;
    const tick = (): number => clock;
    const a = new PartitionLeases(kv, 'skew', 'node-a', { staleAfterMs: 10_000, clock: tick });
    const b = new PartitionLeases(kv, 'skew', 'node-b', { staleAfterMs: 10_000, clock: tick });
    const none = new Set<string>();
    assert.equal(await a.acquire(7, none), true);
    /** A renewal by a holder whose wall clock runs a day behind ours. */
    const renewSkewed = async (): Promise<void> => {
      const entry = await kv.get(a.key(7));
      const at = Date.now() - 86_400_000;
      await kv.update(a.key(7), JSON.stringify({ node: 'node-a', at }), entry!.revision);
    };
    await renewSkewed();
    assert.equal(await b.acquire(7, none), false, 'a renewing holder is not stale, whatever its clock says');
    for (let i = 0; i < 3; i++) {
      clock += 9_000;
      await renewSkewed();
      assert.equal(await b.acquire(7, none), false, `renewal ${i}: the revision moved`);
    }
    clock += 10_001;
    assert.equal(await b.acquire(7, none), true, "no renewal for staleAfterMs on b's clock: stale");
  });
});
