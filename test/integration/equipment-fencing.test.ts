/**
 * A partition owner that lost its lease without noticing yet (a long pause between renewals)
 * must not move the new owner's checkpoint: its next commit fails compare-and-set, and it
 * stops serving the partition.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { EquipmentHost } from '../../actors/mod.ts';
import { createLogger, createPool, loadConfig, migrate, type Pool } from '../../schemas/mod.ts';
import {
  connectNats,
  deleteNamespace,
  ensureSnapshotBucket,
  ensureStreams,
  jetstream,
  jetstreamManager,
  names as namesFor,
  publishReading,
  telemetryPartition,
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  type NatsConnection,
} from '../../streams/mod.ts';
import { waitFor } from '../helpers/wait.ts';

const ns = `t${randomBytes(4).toString('hex')}`;
const config = loadConfig(process.env, { VIGIL_NS: ns, LOG_LEVEL: 'silent' });
const log = createLogger(config, 'fencing-test');
const names = namesFor(ns);
const tenantId = randomUUID();
const siteId = randomUUID();
const equipmentId = randomUUID();

let admin: Pool;
let worker: Pool;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let kv: KV;
let host: EquipmentHost | null = null;

before(async () => {
  await migrate(config);
  admin = createPool(config, 'admin', 2);
  worker = createPool(config, 'worker', 2);
  await admin.query('INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $3)', [
    tenantId,
    'Fencing',
    `f-${ns}`,
  ]);
  await admin.query('INSERT INTO sites (id, tenant_id, name) VALUES ($1, $2, $3)', [siteId, tenantId, 'S']);
  await admin.query('INSERT INTO equipment (id, tenant_id, site_id, name) VALUES ($1, $2, $3, $4)', [
    equipmentId,
    tenantId,
    siteId,
    'Unit',
  ]);
  nc = await connectNats(config, 'fencing-test');
  jsm = await jetstreamManager(nc);
  js = jetstream(nc);
  await ensureStreams(jsm, names);
  kv = await ensureSnapshotBucket(js, names);
});

after(async () => {
  await host?.stop();
  await deleteNamespace(jsm, names);
  await nc.drain();
  await admin.query('DELETE FROM tenants WHERE id = $1', [tenantId]);
  await Promise.all([admin.end(), worker.end()]);
});

test('a fenced owner cannot move the checkpoint a new owner wrote, and stops serving', async () => {
  // Renewals far apart: the owner will not learn of the takeover from its lease in this test.
  host = new EquipmentHost(
    { config, log, nc, js, jsm, names, kv, pool: worker },
    {
      nodeId: 'node-a',
      liveNodes: () => ['node-a'],
      goneNodes: () => [],
      leaseRenewMs: 60_000,
      leaseStaleMs: 600_000,
      acquireRetryMs: 100,
      rebalanceEveryMs: 60_000,
    },
  );
  await host.start();
  const p = telemetryPartition(tenantId, equipmentId, config.VIGIL_PARTITIONS);
  const phase = (): string | undefined => host!.health().partitions.find((x) => x.partition === p)?.phase;
  await waitFor('partition served', async () => phase() === 'serving');

  const checkpoint = async (): Promise<{ seq: number; by?: string } | null> => {
    const e = await kv.get(`cp.equipment.${p}`);
    return e && e.operation === 'PUT' ? e.json<{ seq: number; by?: string }>() : null;
  };
  const first = await publishReading(js, names, tenantId, equipmentId, {
    ts: Date.now() - 60_000,
    temperature: 2,
  });
  await waitFor('first reading committed', async () => (await checkpoint())?.seq === first.seq);

  // Another node takes the lease over (this one looks stale to it) and commits.
  await kv.put(`lease.equipment.${p}`, JSON.stringify({ node: 'node-b', at: Date.now() }));
  await kv.put(`cp.equipment.${p}`, JSON.stringify({ seq: first.seq, by: 'node-b' }));

  await publishReading(js, names, tenantId, equipmentId, { ts: Date.now() - 30_000, temperature: 3 });
  await waitFor('the old owner stopped serving', async () => phase() !== 'serving');
  assert.deepEqual(await checkpoint(), { seq: first.seq, by: 'node-b' }, "node-b's checkpoint stands");
  const lease = await kv.get(`lease.equipment.${p}`);
  assert.equal(lease?.json<{ node: string }>().node, 'node-b', 'the live new owner keeps its lease');
});
