// VIGIL_DURABLE=always (issue 10): every file the embedded nats-server writes for JetStream
// carries the synchronous-updates attribute, so a PubAck follows the data reaching disk; the
// default leaves them asynchronous; a bad value is refused. The server runs in a home of its own
// beside the suite's stack (the other three services are given as external, so only NATS starts).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  StackError,
  ensureStack,
  hasSynchronousWrites,
  resolveDurability,
  stopStack,
} from '../../ops/stack/mod.ts';
import { REPO_ROOT } from '../../ops/stack/config.ts';

describe('resolveDurability (pure)', () => {
  test('unset, blank and `os` are the default; `always` is durable', () => {
    assert.equal(resolveDurability({}), 'os');
    assert.equal(resolveDurability({ VIGIL_DURABLE: ' ' }), 'os');
    assert.equal(resolveDurability({ VIGIL_DURABLE: 'os' }), 'os');
    assert.equal(resolveDurability({ VIGIL_DURABLE: 'always' }), 'always');
  });
  test('anything else is refused with CONFIG_INVALID', () => {
    for (const value of ['true', 'ALWAYS', '1s', 'sync']) {
      assert.throws(
        () => resolveDurability({ VIGIL_DURABLE: value }),
        (e: unknown) => e instanceof StackError && e.code === 'CONFIG_INVALID' && e.message.includes(value),
      );
    }
  });
});

function walk(dir: string): string[] {
  const out = [dir];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(p));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

describe('the embedded NATS under VIGIL_DURABLE', () => {
  const home = path.join(REPO_ROOT, '.vigil', `durable-${randomBytes(3).toString('hex')}`);
  // A port offset no suite stack uses (.ci/run shifts by 0, 5000, 6000 or 7000); the other
  // services are "external" so only NATS starts, on 26722 and 30722. Below 32768: an offset of
  // 38500 put NATS on 52722, inside Linux's range of ephemeral ports, and a CI run failed when
  // one of the suite's own client connections happened to hold it ("address already in use").
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    VIGIL_HOME: home,
    VIGIL_PORT_OFFSET: '12500',
    NATS_URL: '',
    DATABASE_URL: process.env['DATABASE_URL'] ?? 'postgres://unused@127.0.0.1:1/x',
    CLICKHOUSE_URL: process.env['CLICKHOUSE_URL'] ?? 'http://127.0.0.1:1',
    REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:1',
  };
  const store = path.join(home, 'nats', 'jetstream');
  after(async () => {
    await stopStack({ env: base });
    fs.rmSync(home, { recursive: true, force: true });
  });

  async function publish(natsUrl: string, count: number): Promise<number> {
    const nc = await connect({ servers: natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'DURABLE_PROBE', subjects: ['durable.probe.>'] }).catch(() => undefined);
      const js = jetstream(nc);
      for (let i = 0; i < count; i++)
        await js.publish(`durable.probe.${i % 3}`, new TextEncoder().encode(`m${i}`));
      return (await jsm.streams.info('DURABLE_PROBE')).state.messages;
    } finally {
      await nc.close();
    }
  }

  test('always: the store and every file NATS creates in it write synchronously', async () => {
    const urls = await ensureStack({ env: { ...base, VIGIL_DURABLE: 'always' } });
    assert.equal(urls.external.nats, false);
    assert.equal(await publish(urls.natsUrl, 50), 50);
    const files = walk(store);
    // The stream's directory, its message block and index files, the account directories.
    assert.ok(
      files.some((f) => f.endsWith('.blk')),
      `a message block exists: ${files.join(', ')}`,
    );
    const asynchronous = files.filter((f) => !hasSynchronousWrites(f));
    assert.deepEqual(asynchronous, [], 'every file and directory under the store is synchronous');
  });

  test('unset again: the same store goes back to asynchronous writes and keeps its messages', async () => {
    const urls = await ensureStack({ env: base });
    assert.equal(await publish(urls.natsUrl, 10), 60);
    const synchronous = walk(store).filter((f) => hasSynchronousWrites(f));
    assert.deepEqual(synchronous, []);
  });
});
