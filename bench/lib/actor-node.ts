/**
 * Child process of the ingest bench: one actor node running every service (equipment actors,
 * PostgreSQL and ClickHouse telemetry sinks, alert sink) in namespace VIGIL_NS. Ready once
 * it serves every partition. `call('health')` returns the node's health (consumer counters);
 * `call('cpu')` its own CPU time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startActorNode, type ActorNode } from '../../actors/mod.ts';
import { createLogger, loadConfig } from '../../schemas/mod.ts';
import { failToParent, serveParent } from './child.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config, 'bench-actor');
  let node: ActorNode;
  try {
    node = await startActorNode({ config, log });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const h = await node.health();
      const parts = h.equipment?.partitions ?? [];
      if (parts.length === config.VIGIL_PARTITIONS && parts.every((p) => p.phase === 'serving')) break;
      if (Date.now() > deadline)
        throw new Error(`partitions not all serving after 60 s: ${JSON.stringify(parts)}`);
      await sleep(100);
    }
  } catch (err) {
    failToParent(err);
  }
  serveParent(
    { nodeID: node.nodeID },
    {
      calls: {
        health: () => node.health(),
        cpu: () => process.cpuUsage(),
      },
      stop: () => node.stop(),
    },
  );
}

await main();
