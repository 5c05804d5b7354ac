/**
 * Child process of the ingest bench: one actor node running every service (equipment actors,
 * PostgreSQL and ClickHouse telemetry sinks, alert sink) in namespace VIGIL_NS, or those named
 * in BENCH_SERVICES, as BENCH_NODE_ID if set. Ready once it serves every partition (when it runs the equipment actors). `call('health')` returns the node's health (consumer counters);
 * `call('cpu')` its own CPU time; `call('loopDelay')` its event-loop delay since the last call.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ACTOR_SERVICES, startActorNode, type ActorNode, type ActorServiceName } from '../../actors/mod.ts';
import { createLogger, loadConfig } from '../../schemas/mod.ts';
import { failToParent, loopDelayMonitor, serveParent } from './child.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config, 'bench-actor');
  const loopDelay = loopDelayMonitor();
  // BENCH_SERVICES (comma-separated) runs some services only: `--split-sinks` starts two nodes.
  const services = (process.env['BENCH_SERVICES']?.split(',') ?? ACTOR_SERVICES) as ActorServiceName[];
  let node: ActorNode;
  // Since process start (performance.now's origin): module loading ends here.
  const startingAt = performance.now();
  try {
    // BENCH_NODE_ID: a restarted node keeps its identity and takes its own leases back at once.
    const nodeID = process.env['BENCH_NODE_ID'];
    node = await startActorNode({ config, log, services, ...(nodeID ? { nodeID } : {}) });
    const deadline = Date.now() + 60_000;
    while (services.includes('equipment')) {
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
    { nodeID: node.nodeID, startingAtMs: startingAt, readyAtMs: performance.now() },
    {
      calls: {
        health: () => node.health(),
        cpu: () => process.cpuUsage(),
        loopDelay,
      },
      stop: () => node.stop(),
    },
  );
}

await main();
