/**
 * Restart bench (issue 12): an actor node running the equipment actors is SIGKILLed and
 * started again; how long until it serves every partition? Three ways, medians of `--runs`:
 *
 *   cold       a node starting in a namespace nobody owns (no leases to wait for)
 *   same id    restarted under the id it had (VIGIL_NODE_ID): it takes its own leases back
 *   new id     restarted under a new id: it takes the dead node's leases once a liveness probe
 *              finds that node's NATS connection gone (streams/liveness.ts), not after they
 *              go stale
 *
 * "total" is from spawning the process to every partition serving; "node" leaves out loading
 * the modules (from the call to startActorNode). Then, per way, when each step of the start
 * ended (ms since the spawn, medians). Usage: npm run bench:restart [-- --runs 3]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../schemas/mod.ts';
import {
  connectNats,
  deleteNamespace,
  ensureStreams,
  jetstreamManager,
  names as namesFor,
} from '../streams/mod.ts';
import type { ActorNodeReady } from './lib/actor-node.ts';
import { ChildNode } from './lib/child.ts';
import { phaseTable, sinceSpawn } from './lib/start-phases.ts';

type Ready = ActorNodeReady;

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Number(values.runs);
const config = loadConfig();
const logDir = mkdtempSync(join(tmpdir(), 'vigil-restart-bench-'));

async function start(
  ns: string,
  nodeId: string,
): Promise<{
  node: ChildNode<Ready>;
  totalMs: number;
  nodeMs: number;
  steps: Record<string, number | null>;
}> {
  const node = await ChildNode.start<Ready>({
    name: `actor node ${nodeId}`,
    script: 'bench/lib/actor-node.ts',
    bundle: process.env['BENCH_TSX'] !== '1',
    env: {
      ...process.env,
      VIGIL_NS: ns,
      VIGIL_NODE_ID: nodeId,
      BENCH_SERVICES: 'equipment',
      LOG_LEVEL: 'warn',
    },
    logFile: join(logDir, `${ns}.log`),
  });
  const { phases } = node.ready;
  return {
    node,
    totalMs: phases.readyAt - node.spawnedAt,
    nodeMs: phases.readyAt - phases.calledAt,
    steps: sinceSpawn(node.spawnedAt, phases),
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const nc = await connectNats(config, 'restart-bench');
const jsm = await jetstreamManager(nc);
type Way = 'cold' | 'same id' | 'new id';
const results: Record<Way, { total: number[]; node: number[]; steps: Array<Record<string, number | null>> }> =
  {
    cold: { total: [], node: [], steps: [] },
    'same id': { total: [], node: [], steps: [] },
    'new id': { total: [], node: [], steps: [] },
  };
const record = (way: Way, r: Awaited<ReturnType<typeof start>>): void => {
  results[way].total.push(r.totalMs);
  results[way].node.push(r.nodeMs);
  results[way].steps.push(r.steps);
};
try {
  for (let r = 0; r < runs; r++) {
    const ns = `rst${randomBytes(3).toString('hex')}`;
    const names = namesFor(ns);
    await ensureStreams(jsm, names);
    try {
      const cold = await start(ns, `${ns}-a`);
      record('cold', cold);
      await cold.node.kill();
      const same = await start(ns, `${ns}-a`);
      record('same id', same);
      await same.node.kill();
      const fresh = await start(ns, `${ns}-b`);
      record('new id', fresh);
      await fresh.node.stop();
    } finally {
      await deleteNamespace(jsm, names);
    }
    process.stderr.write(`run ${r + 1}/${runs} done\n`);
  }
} finally {
  await nc.drain();
}

console.log(`Restart → every partition serving (${config.VIGIL_PARTITIONS} partitions), medians of ${runs}:`);
for (const [what, r] of Object.entries(results)) {
  console.log(
    `  ${what.padEnd(8)} total ${(median(r.total) / 1000).toFixed(2)} s   node ${(median(r.node) / 1000).toFixed(2)} s   ` +
      `(runs: ${r.total.map((t) => (t / 1000).toFixed(2)).join(', ')})`,
  );
}
for (const [what, r] of Object.entries(results)) {
  console.log(`  ${what}: each step ended, ms since the spawn (median, runs)`);
  for (const line of phaseTable(r.steps)) console.log(line);
}
