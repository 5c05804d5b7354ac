/**
 * A compare-and-set write whose reply is lost may still have landed (a timeout under load).
 * The writer's next write must recognise its own write rather than take it for another
 * owner's — the partition owner that did not fenced itself out of its own partition — and
 * must still refuse a write that another writer made in between.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TimeoutError } from '@nats-io/nats-core';
import {
  ensureSnapshotBucket,
  isRevisionConflict,
  PartitionLeases,
  putAtPosition,
  type CasPosition,
  type KV,
} from '../../streams/mod.ts';
import { losingReplies } from '../helpers/lost-replies.ts';
import { natsNamespace } from '../helpers/nats-namespace.ts';

const fx = natsNamespace('kv-lost-reply-test');
let kv: KV;

test.beforeEach(async () => {
  kv ??= await ensureSnapshotBucket(fx.js, fx.names);
});

test('a write whose reply was lost but which landed is taken as the writer’s own: the next write goes through', async () => {
  const faulty = losingReplies(kv, (k) => k === 'cas.a', 2);
  const at: CasPosition = { revision: 0 };
  await assert.rejects(putAtPosition(faulty.kv, 'cas.a', 'one', at), TimeoutError);
  await assert.rejects(putAtPosition(faulty.kv, 'cas.a', 'two', at), TimeoutError);
  assert.deepEqual(at.unsure, ['two'], 'the outcome of the last write is unknown');
  await putAtPosition(faulty.kv, 'cas.a', 'three', at);
  const entry = (await kv.get('cas.a'))!;
  assert.equal(entry.string(), 'three');
  assert.equal(at.revision, entry.revision);
  assert.equal(at.unsure, undefined);
  assert.equal(faulty.lost.get('cas.a'), 2);
});

test('after a lost reply, a write by another writer is still a conflict', async () => {
  const faulty = losingReplies(kv, (k) => k === 'cas.b', 1);
  const at: CasPosition = { revision: 0 };
  await putAtPosition(kv, 'cas.b', 'first', at);
  await assert.rejects(putAtPosition(faulty.kv, 'cas.b', 'mine', at), TimeoutError);
  // Someone else writes over the write that landed.
  await kv.put('cas.b', 'theirs');
  await assert.rejects(putAtPosition(faulty.kv, 'cas.b', 'mine again', at), (err) => isRevisionConflict(err));
  assert.equal((await kv.get('cas.b'))!.string(), 'theirs');
});

test('a write that never reached the server is written again at the revision it had', async () => {
  const at: CasPosition = { revision: 0 };
  await putAtPosition(kv, 'cas.c', 'first', at);
  const before = at.revision;
  // Unknown outcome, nothing landed: the value is remembered as unsure, the revision unchanged.
  at.unsure = ['never sent'];
  await putAtPosition(kv, 'cas.c', 'second', at);
  assert.ok(at.revision > before, 'moved on');
  assert.equal((await kv.get('cas.c'))!.string(), 'second');
  assert.equal(at.unsure, undefined);
});

test('a lease renewal whose reply was lost does not lose the lease; a lease taken by another node does', async () => {
  let armed = false;
  const faulty = losingReplies(kv, (k) => armed && k === 'lease.lost-reply.0', 1);
  const mine = new PartitionLeases(faulty.kv, 'lost-reply', 'node-a', { staleAfterMs: 600_000 });
  assert.equal(await mine.acquire(0, new Set()), true);
  armed = true;
  await assert.rejects(mine.renew(0), TimeoutError);
  assert.equal(await mine.renew(0), true, 'still ours');
  assert.equal((await kv.get('lease.lost-reply.0'))!.json<{ node: string }>().node, 'node-a');

  const other = new PartitionLeases(kv, 'lost-reply', 'node-b', { staleAfterMs: 600_000 });
  assert.equal(await other.acquire(0, new Set(['node-a'])), true);
  assert.equal(await mine.renew(0), false, 'taken by node-b');
  await mine.release(0);
  assert.equal((await kv.get('lease.lost-reply.0'))!.json<{ node: string }>().node, 'node-b');
});
