import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  PARTITIONS,
  StackError,
  ensureStack,
  partitionOf,
  resolveStack,
  resolveStackConfig,
  stackStatus,
  type StackUrls,
} from '../../ops/stack/mod.ts';

const token = (prefix: string): string => `${prefix}${randomBytes(4).toString('hex')}`;

const EMBEDDED = {
  natsUrl: 'nats://127.0.0.1:14222',
  databaseUrl: 'postgres://postgres@127.0.0.1:15432/vigil',
  clickhouseUrl: 'http://127.0.0.1:18123',
  redisUrl: 'redis://127.0.0.1:16379',
};
const NONE_EXTERNAL = { nats: false, postgres: false, clickhouse: false, redis: false };

describe('resolveStack (pure)', () => {
  const cases: { name: string; env: NodeJS.ProcessEnv; want: StackUrls }[] = [
    { name: 'no env: embedded defaults', env: {}, want: { ...EMBEDDED, external: NONE_EXTERNAL } },
    {
      name: 'NATS_URL set: external nats only',
      env: { NATS_URL: 'nats://nats.example:4222' },
      want: { ...EMBEDDED, natsUrl: 'nats://nats.example:4222', external: { ...NONE_EXTERNAL, nats: true } },
    },
    {
      name: 'all four set',
      env: {
        NATS_URL: 'nats://n:1',
        DATABASE_URL: 'postgres://u:p@db:5432/x',
        CLICKHOUSE_URL: 'http://ch:8123',
        REDIS_URL: 'redis://r:6379',
      },
      want: {
        natsUrl: 'nats://n:1',
        databaseUrl: 'postgres://u:p@db:5432/x',
        clickhouseUrl: 'http://ch:8123',
        redisUrl: 'redis://r:6379',
        external: { nats: true, postgres: true, clickhouse: true, redis: true },
      },
    },
    {
      name: 'empty or blank values count as unset',
      env: { DATABASE_URL: '', REDIS_URL: '  ' },
      want: { ...EMBEDDED, external: NONE_EXTERNAL },
    },
    {
      name: 'the embedded URL itself stays embedded (exported `stack up` output)',
      env: { NATS_URL: EMBEDDED.natsUrl, DATABASE_URL: EMBEDDED.databaseUrl },
      want: { ...EMBEDDED, external: NONE_EXTERNAL },
    },
    {
      name: 'VIGIL_PORT_OFFSET shifts every embedded port',
      env: { VIGIL_PORT_OFFSET: '100' },
      want: {
        natsUrl: 'nats://127.0.0.1:14322',
        databaseUrl: 'postgres://postgres@127.0.0.1:15532/vigil',
        clickhouseUrl: 'http://127.0.0.1:18223',
        redisUrl: 'redis://127.0.0.1:16479',
        external: NONE_EXTERNAL,
      },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const frozen = Object.freeze({ ...c.env });
      assert.deepEqual(resolveStack(frozen), c.want);
      assert.deepEqual(frozen, c.env, 'env is not modified');
    });
  }

  const bad: { name: string; env: NodeJS.ProcessEnv }[] = [
    { name: 'partitions zero', env: { VIGIL_PARTITIONS: '0' } },
    { name: 'partitions not a number', env: { VIGIL_PARTITIONS: 'eight' } },
    { name: 'partitions fractional', env: { VIGIL_PARTITIONS: '2.5' } },
    { name: 'port offset negative', env: { VIGIL_PORT_OFFSET: '-1' } },
  ];
  for (const c of bad) {
    test(`rejects ${c.name}`, () => {
      assert.throws(
        () => resolveStackConfig(c.env),
        (err: unknown) => err instanceof StackError && err.code === 'CONFIG_INVALID',
      );
    });
  }

  test('VIGIL_PARTITIONS and VIGIL_HOME feed the resolved config', () => {
    const cfg = resolveStackConfig({ VIGIL_PARTITIONS: '16', VIGIL_HOME: '/srv/vigil' });
    assert.equal(cfg.partitions, 16);
    assert.equal(cfg.home, '/srv/vigil');
    assert.equal(cfg.logsDir, '/srv/vigil/logs');
    assert.equal(resolveStackConfig({}).partitions, 8);
  });
});

describe('embedded stack', () => {
  let urls: StackUrls;
  let nc: NatsConnection;
  /** Tenant tokens published under the plain `tele.`/`det.` subjects, purged afterwards. */
  const published = new Set<string>();

  before(async () => {
    urls = await ensureStack();
    nc = await connect({ servers: urls.natsUrl });
  });
  after(async () => {
    // The plain subjects are the production ones: when a local demo's TELEMETRY stream exists,
    // it captured these probes. Take them out again so the demo's consumers never see them.
    if (nc) {
      const jsm = await jetstreamManager(nc);
      for (const stream of ['TELEMETRY', 'DETECTIONS']) {
        for (const tenant of published) {
          const prefix = stream === 'TELEMETRY' ? 'tele' : 'det';
          await jsm.streams.purge(stream, { filter: `${prefix}.${tenant}.>` }).catch(() => undefined);
        }
      }
    }
    await nc?.close();
  });

  test('ensureStack is idempotent: same URLs, same processes, all healthy', async () => {
    const first = await stackStatus();
    const again = await ensureStack();
    const second = await stackStatus();
    assert.deepEqual(again, urls);
    for (const name of ['nats', 'postgres', 'clickhouse', 'redis'] as const) {
      assert.equal(second[name].healthy, true, `${name} healthy`);
      if (!second[name].external) {
        assert.ok(first[name].pid !== undefined, `${name} has a pid`);
        assert.equal(second[name].pid, first[name].pid, `${name} was not restarted`);
      }
    }
  });

  /** Publishes to `subject` and returns the subject the subscriber on `subject.*` saw. */
  async function mapped(subject: string): Promise<string> {
    const [first, second] = subject.split('.');
    if (first === 'tele' || first === 'det') published.add(second!);
    const sub = nc.subscribe(`${subject}.*`, { max: 1, timeout: 5000 });
    await nc.flush();
    nc.publish(subject, 'x');
    for await (const msg of sub) return msg.subject;
    throw new Error(`no message for ${subject}`);
  }

  test('tele.<tenant>.<equipment> gets a stable partition token in 0..PARTITIONS-1', async () => {
    const [tenant, equipment] = [token('t'), token('e')];
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) seen.add(await mapped(`tele.${tenant}.${equipment}`));
    assert.equal(seen.size, 1, 'same partition every time');
    const [subject] = [...seen];
    const m = new RegExp(`^tele\\.${tenant}\\.${equipment}\\.(\\d+)$`).exec(subject ?? '');
    assert.ok(m, `unexpected subject ${subject}`);
    assert.ok(Number(m[1]) >= 0 && Number(m[1]) < PARTITIONS);
  });

  test('namespaced and det subjects hash the same tokens to the same partition', async () => {
    const [ns, tenant, equipment] = [token('x'), token('t'), token('e')];
    const plain = (await mapped(`tele.${tenant}.${equipment}`)).split('.').at(-1);
    const spaced = await mapped(`${ns}.tele.${tenant}.${equipment}`);
    assert.equal(spaced, `${ns}.tele.${tenant}.${equipment}.${plain}`);
    const det = await mapped(`det.${tenant}.${equipment}`);
    assert.equal(det, `det.${tenant}.${equipment}.${plain}`);
    const detSpaced = await mapped(`${ns}.det.${tenant}.${equipment}`);
    assert.equal(detSpaced, `${ns}.det.${tenant}.${equipment}.${plain}`);
  });

  test('units spread over several partitions, exactly as partitionOf predicts', async () => {
    const tenant = token('t');
    const partitions = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const unit = `eq-${i}`;
      const got = Number((await mapped(`tele.${tenant}.${unit}`)).split('.').at(-1));
      assert.equal(got, partitionOf(tenant, unit), `partition of ${tenant}/${unit}`);
      partitions.add(got);
    }
    assert.ok(partitions.size > 1, `all 40 units landed in ${[...partitions].join(',')}`);
  });
});
