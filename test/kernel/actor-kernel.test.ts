/**
 * The actor kernel carrying a kind it was not written for: the toy counter of counter-kind.ts.
 * Partitions split between nodes under leases, snapshots that hold exact sums, a timer that
 * fires, a node SIGKILLed mid-stream with nothing lost or applied twice, and a timer whose node
 * is killed before its time firing exactly once on the new owner.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ActorKernel } from '../../actors/kernel/mod.ts';
import { createLogger, loadConfig } from '../../schemas/mod.ts';
import {
  assignPartitions,
  connectNats,
  deleteNamespace,
  ensureSnapshotBucket,
  ensureStreams,
  jetstream,
  jetstreamManager,
  names as namesFor,
  natsPartition,
  requestActorState,
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  type NatsConnection,
} from '../../streams/mod.ts';
import {
  COUNTER_PARTITIONS,
  counterKind,
  counterNames,
  counterSubject,
  ensureCounterStreams,
  type CounterState,
} from './counter-kind.ts';
import { losingReplies } from '../helpers/lost-replies.ts';
import { waitFor } from '../helpers/wait.ts';

const ns = `t${randomBytes(4).toString('hex')}`;
const config = loadConfig(process.env, { VIGIL_NS: ns, LOG_LEVEL: 'silent' });
const log = createLogger(config, 'kernel-test');
const names = namesFor(ns);
const C = counterNames(ns);
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let kv: KV;
const children = new Set<ChildProcess>();

before(async () => {
  nc = await connectNats(config, 'kernel-test');
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, names);
  kv = await ensureSnapshotBucket(js, names);
  await ensureCounterStreams(jsm, ns);
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await deleteNamespace(jsm, names);
  for (const s of [C.stream, C.events]) await jsm.streams.delete(s).catch(() => undefined);
  await nc.drain();
});

async function publish(key: string, i: number, wakeAt?: number): Promise<void> {
  const body = wakeAt === undefined ? { key, i } : { key, i, wakeAt };
  await js.publish(counterSubject(ns, key), JSON.stringify(body), { msgID: `${key}:${i}` });
}

async function stored(key: string): Promise<CounterState | null> {
  const e = await kv.get(`counter.${key}`);
  return e && e.operation === 'PUT' ? e.json<{ state: CounterState }>().state : null;
}

/** What the counters must hold after messages `1..n` spread round-robin over `keys`. */
function expected(keys: string[], ns: number[]): Map<string, Pick<CounterState, 'n' | 'sum' | 'sumSq'>> {
  const out = new Map(keys.map((k) => [k, { n: 0, sum: 0, sumSq: 0 }]));
  for (const i of ns) {
    const e = out.get(keys[i % keys.length]!)!;
    e.n++;
    e.sum += i;
    e.sumSq += i * i;
  }
  return out;
}

async function allStored(want: Map<string, Pick<CounterState, 'n' | 'sum' | 'sumSq'>>): Promise<void> {
  await waitFor('every counter stored with all its messages', async () => {
    for (const [k, w] of want) if ((await stored(k))?.n !== w.n) return false;
    return true;
  });
  for (const [k, w] of want) {
    const s = (await stored(k))!;
    assert.deepEqual({ n: s.n, sum: s.sum, sumSq: s.sumSq }, w, `counter ${k}: nothing lost, nothing twice`);
  }
}

/** How many `woke` events a key has published, and the last one. */
async function woken(key: string): Promise<{ count: number; last: { at: number; now: number } | null }> {
  const subject = C.woke(key);
  const info = await jsm.streams.info(C.events, { subjects_filter: subject });
  const count = info.state.subjects?.[subject] ?? 0;
  if (count === 0) return { count, last: null };
  const m = await jsm.streams.getMessage(C.events, { last_by_subj: subject });
  return { count, last: m ? m.json<{ at: number; now: number }>() : null };
}

async function deadLetters(): Promise<number> {
  return (await jsm.streams.info(names.dlq.stream)).state.messages;
}

/**
 * A counter node in a child process; resolves once it serves `partitions` partitions, and
 * fails if that takes a minute.
 */
async function startChild(nodeId: string, partitions: number, leaseStaleMs = 15_000): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/kernel/counter-node.ts'], {
    env: {
      ...process.env,
      VIGIL_NS: ns,
      NODE_ID: nodeId,
      LEASE_STALE_MS: String(leaseStaleMs),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const lines = createInterface({ input: child.stdout! });
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`counter node ${nodeId} exited (${code})`)));
    lines.on('line', (line) => {
      if (line === `serving ${partitions}`) resolve();
    });
    timer = setTimeout(() => reject(new Error(`counter node ${nodeId} never served ${partitions}`)), 60_000);
  }).finally(() => clearTimeout(timer));
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

/**
 * 3 000 messages over 20 keys (`<prefix>0`…) published as a stream that keeps coming; `child`
 * is SIGKILLed once it has committed part of it, while the rest is still being published.
 */
async function killMidStream(
  child: ChildProcess,
  prefix: string,
): Promise<{ keys: string[]; all: number[]; publisher: Promise<void> }> {
  const keys = Array.from({ length: 20 }, (_, k) => `${prefix}${k}`);
  const all = Array.from({ length: 3000 }, (_, i) => i + 1);
  let sent = 0;
  const publisher = (async () => {
    for (let i = 0; i < all.length; i += 50) {
      await Promise.all(all.slice(i, i + 50).map((n) => publish(keys[n % keys.length]!, n)));
      sent = i + 50;
      await sleep(5);
    }
  })();
  await waitFor('some messages committed', async () => ((await stored(`${prefix}1`))?.n ?? 0) > 20);
  await kill(child);
  assert.ok(sent < all.length, 'killed mid-stream');
  return { keys, all, publisher };
}

/** Two node ids between which rendezvous hashing splits the counter partitions. */
function splitPair(): [string, string] {
  for (let s = 0; ; s++) {
    const pair: [string, string] = [`${ns}-a${s}`, `${ns}-b${s}`];
    const owners = assignPartitions(pair, COUNTER_PARTITIONS);
    if (owners.includes(pair[0]) && owners.includes(pair[1])) return pair;
  }
}

describe('a second actor kind on the kernel', () => {
  test('partitions split under leases, snapshots hold exact sums, a timer fires, partitions move', async () => {
    const [a, b] = splitPair();
    let live = [a, b];
    const kernel = (nodeId: string) =>
      new ActorKernel(
        counterKind(ns, names, js),
        { nc, js, jsm, kv, names, log, partitions: COUNTER_PARTITIONS },
        {
          nodeId,
          liveNodes: () => live,
          goneNodes: () => [],
          acquireRetryMs: 50,
          commitIntervalMs: 100,
        },
      );
    const ka = kernel(a);
    const kb = kernel(b);
    ka.start();
    kb.start();
    try {
      const serving = (k: typeof ka): number[] =>
        k
          .health()
          .partitions.filter((p) => p.phase === 'serving')
          .map((p) => p.partition);
      await waitFor(
        'both nodes serving',
        async () => serving(ka).length + serving(kb).length === COUNTER_PARTITIONS,
      );
      const owners = assignPartitions([a, b], COUNTER_PARTITIONS);
      assert.deepEqual(
        serving(ka),
        owners.flatMap((o, p) => (o === a ? [p] : [])),
      );
      for (let p = 0; p < COUNTER_PARTITIONS; p++) {
        const lease = await kv.get(`lease.counter.${p}`);
        assert.equal(lease?.json<{ node: string }>().node, owners[p], `lease of partition ${p}`);
      }

      const keys = Array.from({ length: 10 }, (_, k) => `c${k}`);
      const first = Array.from({ length: 200 }, (_, i) => i + 1);
      await Promise.all(first.map((i) => publish(keys[i % keys.length]!, i)));
      await allStored(expected(keys, first));
      assert.ok(
        new Set(keys.map((k) => natsPartition([k], COUNTER_PARTITIONS))).size > 1,
        'keys span partitions',
      );

      // Live state, asked of whichever node serves the key's partition.
      const p3 = natsPartition(['c3'], COUNTER_PARTITIONS);
      const reply = await requestActorState(nc, names, 'counter', p3, 'c3');
      assert.ok('found' in reply && reply.found);
      assert.equal((reply.state as CounterState).sum, expected(keys, first).get('c3')!.sum);
      assert.deepEqual(await requestActorState(nc, names, 'counter', p3, 'nobody'), {
        found: false,
        kind: 'counter',
        key: 'nobody',
        partition: p3,
      });

      // The timer: c0 asks to be woken a moment from now.
      const wakeAt = Date.now() + 500;
      await publish('c0', 1000, wakeAt);
      const woke = await waitFor('c0 woken', async () => (await woken('c0')).last ?? undefined);
      assert.equal(woke.at, wakeAt);
      assert.ok(woke.now >= wakeAt, 'never before its time');
      const c0 = await waitFor('wake stored', async () => {
        const s = await stored('c0');
        return s?.woke === 1 ? s : undefined;
      });
      assert.equal(c0.wakeAt, null);
      const p0 = natsPartition(['c0'], COUNTER_PARTITIONS);
      const index = await kv.get(`wake.counter.${p0}.c0`);
      assert.notEqual(index?.operation, 'PUT', 'the wake index forgets an actor with no timer');
      assert.equal((ka.query('c0') ?? kb.query('c0'))?.state.woke, 1, 'the live state says so too');

      // b leaves: a takes its partitions over and goes on where b committed.
      live = [a];
      await kb.stop();
      ka.rebalance();
      await waitFor('a serves every partition', async () => serving(ka).length === COUNTER_PARTITIONS);
      const second = Array.from({ length: 200 }, (_, i) => i + 2001);
      await Promise.all(second.map((i) => publish(keys[i % keys.length]!, i)));
      const want = expected(keys, [...first, ...second]);
      const c0want = want.get('c0')!;
      want.set('c0', { n: c0want.n + 1, sum: c0want.sum + 1000, sumSq: c0want.sumSq + 1000 * 1000 });
      await allStored(want);
      assert.equal((await woken('c0')).count, 1, 'the timer fired once');
      assert.equal(await deadLetters(), 0);
    } finally {
      await Promise.all([ka.stop(), kb.stop()]);
    }
  });

  test('a node SIGKILLed mid-stream: its restart loses nothing and applies nothing twice', async () => {
    const nodeId = `${ns}-k`;
    let child = await startChild(nodeId, COUNTER_PARTITIONS);
    const { keys, all, publisher } = await killMidStream(child, 'm');
    // The same node id: it takes its own leases back at once.
    child = await startChild(nodeId, COUNTER_PARTITIONS);
    await publisher;
    await allStored(expected(keys, all));
    assert.equal(await deadLetters(), 0);
    child.kill('SIGTERM');
  });

  test('a node SIGKILLed mid-stream is replaced by a node with a new id at once: nothing lost or applied twice', async () => {
    // Leases that never go stale in this test: only the liveness probe can explain a takeover.
    const staleMs = 600_000;
    const old = `${ns}-n1`;
    const child = await startChild(old, COUNTER_PARTITIONS, staleMs);
    const { keys, all, publisher } = await killMidStream(child, 'r');
    const held = await Promise.all(
      Array.from({ length: COUNTER_PARTITIONS }, async (_, p) => (await kv.get(`lease.counter.${p}`))!),
    );
    assert.deepEqual(
      held.map((e) => e.json<{ node: string; probed?: boolean }>()).map((v) => [v.node, v.probed]),
      held.map(() => [old, true]),
      'the dead node holds every lease, and said it answers probes',
    );

    const fresh = `${ns}-n2`;
    const replacement = await startChild(fresh, COUNTER_PARTITIONS, staleMs);
    for (let p = 0; p < COUNTER_PARTITIONS; p++) {
      const e = (await kv.get(`lease.counter.${p}`))!;
      assert.equal(e.json<{ node: string }>().node, fresh, `lease of partition ${p} taken over`);
      assert.ok(e.revision > held[p]!.revision);
    }
    await publisher;
    await allStored(expected(keys, all));
    assert.equal(await deadLetters(), 0);
    replacement.kill('SIGTERM');
    await new Promise((r) => replacement.once('exit', r));
  });

  test('an owner whose lease was taken while it lived stops at its next commit, writing nothing', async () => {
    const nodeId = `${ns}-f`;
    // Renewals and staleness far off: only the commit itself can notice the takeover.
    const k = new ActorKernel(
      counterKind(ns, names, js),
      { nc, js, jsm, kv, names, log, partitions: COUNTER_PARTITIONS },
      {
        nodeId,
        liveNodes: () => [nodeId],
        goneNodes: () => [],
        leaseRenewMs: 60_000,
        leaseStaleMs: 600_000,
        acquireRetryMs: 50,
        commitIntervalMs: 100,
      },
    );
    k.start();
    try {
      const key = 'fenced';
      const p = natsPartition([key], COUNTER_PARTITIONS);
      const phase = (): string | undefined => k.health().partitions.find((x) => x.partition === p)?.phase;
      await waitFor('partition served', async () => phase() === 'serving');
      await publish(key, 1);
      await waitFor('the first message committed', async () => (await stored(key))?.n === 1);
      const checkpoint = async (): Promise<number | undefined> => (await kv.get(`cp.counter.${p}`))?.revision;
      const cpBefore = await waitFor('the checkpoint written', checkpoint);
      const snapBefore = (await kv.get(`counter.${key}`))!.revision;

      // Another node takes the lease over (this one was cut off long enough) and has written
      // nothing else yet: no snapshot or checkpoint compare-and-set would trip the old owner.
      await kv.put(`lease.counter.${p}`, JSON.stringify({ node: 'usurper', at: Date.now() }));
      await publish(key, 2);
      await waitFor('the old owner stopped serving', async () => phase() !== 'serving');
      assert.equal((await kv.get(`counter.${key}`))!.revision, snapBefore, 'no snapshot written');
      assert.equal((await stored(key))?.n, 1);
      assert.equal(await checkpoint(), cpBefore, 'no checkpoint written');
      assert.equal((await kv.get(`lease.counter.${p}`))!.json<{ node: string }>().node, 'usurper');
    } finally {
      await k.stop();
    }
  });

  test('checkpoint and snapshot writes whose replies are lost (they landed) leave the owner serving: nothing fenced, lost or applied twice', async () => {
    const nodeId = `${ns}-r`;
    const keys = Array.from({ length: 10 }, (_, k) => `lr${k}`);
    // One key per partition: after the faults are armed, each partition gets one message, so
    // its one commit writes one snapshot, then its checkpoint (a commit's retries back off 1 s,
    // 2 s, then 60 s: one lost reply each keeps this short).
    const probes = [...new Map(keys.map((key) => [natsPartition([key], COUNTER_PARTITIONS), key])).entries()];
    const faulted = new Set([...probes.flatMap(([p, key]) => [`cp.counter.${p}`, `counter.${key}`])]);
    let armed = false;
    const faulty = losingReplies(kv, (key) => armed && faulted.has(key), 1);
    const k = new ActorKernel(
      counterKind(ns, names, js),
      { nc, js, jsm, kv: faulty.kv, names, log, partitions: COUNTER_PARTITIONS },
      {
        nodeId,
        liveNodes: () => [nodeId],
        goneNodes: () => [],
        // Earlier tests may have left a lease behind (the usurper's): taken once it stands still.
        leaseStaleMs: 1000,
        acquireRetryMs: 50,
        commitIntervalMs: 100,
      },
    );
    k.start();
    try {
      const sessions = (): Map<number, number | undefined> =>
        new Map(k.health().partitions.map((x) => [x.partition, x.startup?.servingAt]));
      await waitFor('every partition served', async () =>
        k.health().partitions.every((x) => x.phase === 'serving'),
      );
      const first = sessions();
      const all = Array.from({ length: 300 }, (_, i) => i + 1);
      await Promise.all(all.map((n) => publish(keys[n % keys.length]!, n)));
      await allStored(expected(keys, all));

      armed = true;
      const landedBefore = new Map(faulty.landed);
      for (const [i, [, key]] of probes.entries()) await publish(key, 1000 + i);
      const want = expected(keys, all);
      for (const [i, [, key]] of probes.entries()) {
        const w = want.get(key)!;
        want.set(key, { n: w.n + 1, sum: w.sum + 1000 + i, sumSq: w.sumSq + (1000 + i) ** 2 });
      }
      await allStored(want);
      // Each written again after its lost reply: the write that would have conflicted with the
      // owner's own.
      const landedSince = (key: string): number => faulty.landed.get(key)! - (landedBefore.get(key) ?? 0);
      await waitFor('every faulted write answered after its lost one', async () =>
        [...faulted].every((key) => faulty.lost.get(key) === 1 && landedSince(key) >= 2),
      );
      assert.deepEqual(sessions(), first, 'no partition fenced itself: each still in its first session');
      assert.ok(k.health().partitions.every((x) => x.phase === 'serving'));
    } finally {
      await k.stop();
    }
  });

  test('a timer whose node is killed before its time fires exactly once on the new owner', async () => {
    const staleMs = 1000;
    const first = await startChild(`${ns}-t1`, COUNTER_PARTITIONS, staleMs);
    const wakeAt = Date.now() + 5000;
    await publish('sleeper', 1, wakeAt);
    const p = natsPartition(['sleeper'], COUNTER_PARTITIONS);
    await waitFor('the timer is stored and indexed', async () => {
      const s = await stored('sleeper');
      const index = await kv.get(`wake.counter.${p}.sleeper`);
      return s?.wakeAt === wakeAt && index?.operation === 'PUT';
    });
    await kill(first);
    assert.ok(Date.now() < wakeAt, 'killed before the timer was due');
    assert.equal((await woken('sleeper')).count, 0);

    // Another node, which never saw a message of `sleeper` and will see none.
    const second = await startChild(`${ns}-t2`, COUNTER_PARTITIONS, staleMs);
    const woke = await waitFor(
      'woken by the new owner',
      async () => (await woken('sleeper')).last ?? undefined,
    );
    assert.equal(woke.at, wakeAt);
    assert.ok(woke.now >= wakeAt, 'never before its time');
    const s = await waitFor('the wake stored', async () => {
      const st = await stored('sleeper');
      return st?.woke === 1 ? st : undefined;
    });
    assert.equal(s.wakeAt, null);
    // Anything that would fire it again (a commit, a rebalance, a restart) has had its chance.
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
    const third = await startChild(`${ns}-t2`, COUNTER_PARTITIONS, staleMs);
    await sleep(1000);
    assert.equal((await woken('sleeper')).count, 1, 'fired exactly once');
    assert.equal((await stored('sleeper'))?.woke, 1);
    third.kill('SIGTERM');
  });

  test('a replay of messages whose timers are already due wakes each actor once, after its last message', async () => {
    // Three actors, 300 messages between them, each asking to be woken at a time already past:
    // the backlog a new owner replays after an outage longer than a timed rule's period.
    // The previous test's last node is still stopping: it would consume this backlog itself.
    await waitFor('the earlier counter nodes gone', () => children.size === 0);
    const keys = ['late0', 'late1', 'late2'];
    const past = Date.now() - 60_000;
    const sent = Array.from({ length: 300 }, (_, i) => 10_000 + i);
    for (const n of sent) await publish(keys[n % keys.length]!, n, past + n);
    // The kind declines a wake while messages of the actor wait in the stream (as equipment
    // does, with one direct get each): every call here is a request on the hot path.
    const wakes = new Map<string, number>();
    const declined: string[] = [];
    const base = counterKind(ns, names, js);
    const kind: typeof base = {
      ...base,
      async onWake(actor, now) {
        wakes.set(actor.key, (wakes.get(actor.key) ?? 0) + 1);
        const last = await jsm.streams.getMessage(C.stream, { last_by_subj: counterSubject(ns, actor.key) });
        if (last && last.seq > actor.seq) {
          declined.push(actor.key);
          return null;
        }
        return base.onWake!(actor, now);
      },
    };
    const nodeId = `${ns}-replay`;
    const k = new ActorKernel(
      kind,
      { nc, js, jsm, kv, names, log, partitions: COUNTER_PARTITIONS },
      {
        nodeId,
        liveNodes: () => [nodeId],
        goneNodes: () => [],
        acquireRetryMs: 50,
        // Small pulls and frequent commits: the runner waits on the server between batches,
        // which is when a timer armed by the replay would get in between two messages.
        commitEvery: 10,
        commitIntervalMs: 50,
        // The replay is never cut short to fire wakes (a slow machine must not change the count).
        wakeDeferMaxMs: 600_000,
      },
    );
    k.start();
    try {
      await allStored(
        expected(
          keys,
          Array.from({ length: 300 }, (_, i) => 10_000 + i),
        ),
      );
      for (const key of keys)
        await waitFor(`${key} woken`, async () => ((await stored(key))?.woke === 1 ? true : undefined));
      assert.deepEqual(declined, [], 'no wake-up while the actor had messages waiting');
      assert.deepEqual(
        Object.fromEntries(wakes),
        Object.fromEntries(keys.map((key) => [key, 1])),
        'each actor woken once, after its last message',
      );
      for (const key of keys) {
        const w = await woken(key);
        assert.equal(w.count, 1);
        // Its last message's wake time: the replay ran through before the timer fired.
        assert.equal(w.last?.at, past + Math.max(...sent.filter((n) => keys[n % keys.length] === key)));
      }
    } finally {
      await k.stop();
    }
  });
});
