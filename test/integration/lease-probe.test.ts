/**
 * Partition leases and liveness probes over a real NATS server: a holder whose connection is
 * gone loses its lease at once; a holder that is there but slow to answer keeps it; a lease
 * whose holder never said it answers probes goes by staleness only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  answerLiveness,
  connectNats,
  ensureSnapshotBucket,
  jetstream,
  LivenessProbe,
  PartitionLeases,
  type KV,
  type LeaseOptions,
} from '../../streams/mod.ts';
import { natsNamespace } from '../helpers/nats-namespace.ts';
import { waitFor } from '../helpers/wait.ts';

const fx = natsNamespace('lease-probe-test');
/** Far beyond any test: only a probe can free a lease here (unless a test moves the clock). */
const NEVER_STALE_MS = 600_000;
let kv: KV;

// After natsNamespace's hook connected; the bucket is deleted with the namespace.
test.beforeEach(async () => {
  kv ??= await ensureSnapshotBucket(fx.js, fx.names);
});

function contender(node: string, opts: LeaseOptions = {}): PartitionLeases {
  const probe = new LivenessProbe(fx.nc, fx.names, { timeoutMs: 200, reuseMs: 0 });
  return new PartitionLeases(kv, 'probe-test', node, {
    staleAfterMs: NEVER_STALE_MS,
    answersProbes: true,
    holderGone: async (n) => (await probe.probe(n)) === 'gone',
    ...opts,
  });
}

async function leaseHolder(p: number): Promise<{ node: string; probed?: boolean }> {
  const e = await kv.get(`lease.probe-test.${p}`);
  assert.ok(e && e.operation === 'PUT', `lease ${p} exists`);
  return e.json<{ node: string; probed?: boolean }>();
}

test('a holder whose NATS connection closed loses its lease at once; while it is connected it keeps it', async () => {
  // Another process: its own connection, answering probes on it. Its id is a Moleculer-style
  // `<hostname>-<pid>`, dots and all.
  const holderId = 'host.example.com-4242';
  const nc = await connectNats(fx.config, 'lease-probe-holder');
  const holderKv = await ensureSnapshotBucket(jetstream(nc), fx.names);
  answerLiveness(nc, fx.names, holderId);
  const holder = new PartitionLeases(holderKv, 'probe-test', holderId, { answersProbes: true });
  assert.equal(await holder.acquire(0, new Set()), true);
  const lease = await leaseHolder(0);
  assert.equal(lease.node, holderId);
  assert.equal(lease.probed, true, 'the lease says its holder answers probes');

  const other = contender('other-node');
  // The test's own probe waits long: on a loaded machine an answer can take longer than a
  // node's 500 ms, and 'unknown' is not what this line is about.
  const patient = new LivenessProbe(fx.nc, fx.names, { timeoutMs: 10_000, reuseMs: 0 });
  assert.equal(await patient.probe(holderId), 'alive');
  for (let i = 0; i < 3; i++)
    assert.equal(await other.acquire(0, new Set()), false, 'a live holder keeps it');

  await nc.close();
  // The server drops the connection's subscriptions when it reads the close, which a request on
  // another connection can overtake on a loaded machine (and then times out: 'unknown', never
  // 'alive'). Gone as soon as the server has dropped it:
  await waitFor('the server dropped the closed connection', async () =>
    (await patient.probe(holderId)) === 'gone' ? true : undefined,
  );
  assert.equal(await other.acquire(0, new Set()), true, 'taken at once, long before it could go stale');
  assert.equal((await leaseHolder(0)).node, 'other-node');
});

test('a holder that is connected but does not answer in time keeps its lease', async () => {
  const slow = new PartitionLeases(kv, 'probe-test', 'slow-node', { answersProbes: true });
  assert.equal(await slow.acquire(1, new Set()), true);
  // Subscribed and never answering: a node paused, overloaded, or cut off on the way back.
  let asked = 0;
  const silent = fx.nc.subscribe(fx.names.nodes.alive('slow-node'), {
    callback: () => {
      asked++;
    },
  });
  try {
    await fx.nc.flush();
    const other = contender('other-node');
    for (let i = 0; i < 3; i++) assert.equal(await other.acquire(1, new Set()), false);
    assert.equal(asked, 3, 'every attempt asked the holder');
    assert.equal((await leaseHolder(1)).node, 'slow-node');
    assert.equal(await slow.renew(1), true, 'and it still renews its lease');
  } finally {
    silent.unsubscribe();
  }
});

test('a lease that does not say its holder answers probes goes by staleness only', async () => {
  // Written by a node that answers no probes (an older version): its silence proves nothing.
  const old = new PartitionLeases(kv, 'probe-test', 'old-node');
  assert.equal(await old.acquire(2, new Set()), true);
  assert.equal((await leaseHolder(2)).probed, undefined);
  let now = 0;
  const other = contender('other-node', { staleAfterMs: 15_000, clock: () => now });
  for (let i = 0; i < 3; i++) assert.equal(await other.acquire(2, new Set()), false);
  assert.equal((await leaseHolder(2)).node, 'old-node');
  now += 15_001;
  assert.equal(await other.acquire(2, new Set()), true, 'stale: taken');
  assert.equal((await leaseHolder(2)).node, 'other-node');
});
