/**
 * Child process of the kernel tests: one node hosting the counter kind (counter-kind.ts) on the
 * actor kernel, alone in its view of the cluster. Env: NATS_URL, VIGIL_NS, NODE_ID,
 * LEASE_STALE_MS. Prints `serving <n>` each time the number of partitions it serves changes;
 * stops cleanly on SIGTERM (SIGKILL is the point of the tests).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ActorKernel } from '../../actors/kernel/mod.ts';
import { createLogger, loadConfig } from '../../schemas/mod.ts';
import {
  connectNats,
  ensureSnapshotBucket,
  jetstream,
  jetstreamManager,
  names as namesFor,
} from '../../streams/mod.ts';
import { COUNTER_PARTITIONS, counterKind } from './counter-kind.ts';

const config = loadConfig();
const ns = config.VIGIL_NS;
const nodeId = process.env['NODE_ID'] ?? 'counter-node';
const log = createLogger(config, `counter-${nodeId}`);
const nc = await connectNats(config, `counter-${nodeId}`);
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
const names = namesFor(ns);
const kv = await ensureSnapshotBucket(js, names);
const kernel = new ActorKernel(
  counterKind(ns, names, js),
  // nc: it answers liveness probes, and takes the leases of holders found gone.
  { nc, js, jsm, kv, names, log, partitions: COUNTER_PARTITIONS },
  {
    nodeId,
    liveNodes: () => [nodeId],
    goneNodes: () => [],
    leaseStaleMs: Number(process.env['LEASE_STALE_MS'] ?? 15_000),
    acquireRetryMs: 100,
    leaseRenewMs: 500,
    commitIntervalMs: 200,
    commitEvery: 50,
  },
);
kernel.start();

let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
  void kernel
    .stop()
    .then(() => nc.drain())
    .then(() => process.exit(0));
});

let last = -1;
while (!stopping) {
  const serving = kernel.health().partitions.filter((p) => p.phase === 'serving').length;
  if (serving !== last) {
    last = serving;
    process.stdout.write(`serving ${serving}\n`);
  }
  await sleep(50);
}
