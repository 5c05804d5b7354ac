/**
 * Child process of the ingest, restart and crash benches: one actor node running every service
 * (equipment actors, PostgreSQL and ClickHouse telemetry sinks, alert sink; the notifier only
 * with BENCH_TENANT_ID, for that tenant) in namespace
 * VIGIL_NS, or those named in BENCH_SERVICES, as BENCH_NODE_ID if set. Ready once it serves
 * every partition (when it runs the equipment actors; BENCH_AWAIT_PARTITIONS=0: once started,
 * for a node that joins others); the ready message says when each step of
 * the start ended (`StartPhases`). `call('health')` returns the node's health (consumer
 * counters); `call('cpu')` its own CPU time; `call('loopDelay')` its event-loop delay since the
 * last call; `call('heap')` (started with `--expose-gc`) its heap after a full collection and
 * the actors it holds — and, with BENCH_HEAP_SNAPSHOTS=<dir>, a heap snapshot of that moment
 * written there (to see what the heap holds between two points of a run).
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeHeapSnapshot } from 'node:v8';
import { ACTOR_SERVICES, startActorNode, type ActorNode, type ActorServiceName } from '../../actors/mod.ts';
import { createLogger, loadConfig } from '../../schemas/mod.ts';
import { failToParent, loopDelayMonitor, serveParent } from './child.ts';
import type { StartPhases } from './start-phases.ts';

export interface ActorNodeReady {
  nodeID: string;
  phases: StartPhases;
}

/** Live objects on the node's heap (bytes, after a full GC) and the equipment actors it holds. */
export interface ActorNodeHeap {
  heapUsed: number;
  actors: number;
}

async function heapAfterGc(node: ActorNode): Promise<ActorNodeHeap> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the actor node runs without --expose-gc');
  // Twice: the first collection's finalizers and weak references can free more on the second.
  gc();
  gc();
  const { heapUsed } = process.memoryUsage();
  const dir = process.env['BENCH_HEAP_SNAPSHOTS'];
  if (dir) writeHeapSnapshot(join(dir, `actor-node-${Date.now()}.heapsnapshot`));
  const parts = (await node.health()).equipment?.partitions ?? [];
  return { heapUsed, actors: parts.reduce((n, p) => n + p.actors, 0) };
}

async function main(): Promise<void> {
  // Module loading ends here (performance.now's origin is the process start).
  const modulesAt = Date.now();
  const config = loadConfig();
  const log = createLogger(config, 'bench-actor');
  const loopDelay = loopDelayMonitor();
  // BENCH_SERVICES (comma-separated) runs some services only: `--split-sinks` starts two nodes.
  // The notifier sends BENCH_TENANT_ID's notifications only, and without it none: these nodes
  // share their database with tests whose notifiers run on a clock of their own.
  const tenant = process.env['BENCH_TENANT_ID'];
  const services = (process.env['BENCH_SERVICES']?.split(',') ??
    ACTOR_SERVICES.filter((s) => tenant || s !== 'notifier')) as ActorServiceName[];
  let node: ActorNode;
  let phases: StartPhases;
  try {
    // BENCH_NODE_ID: a restarted node keeps its identity and takes its own leases back at once.
    const nodeID = process.env['BENCH_NODE_ID'];
    node = await startActorNode({
      config,
      log,
      services,
      ...(nodeID ? { nodeID } : {}),
      ...(tenant ? { notifierTenants: [tenant] } : {}),
    });
    const deadline = Date.now() + 60_000;
    let parts = (await node.health()).equipment?.partitions ?? [];
    // BENCH_AWAIT_PARTITIONS=0: a node joining others, which serves only its share (in time).
    const awaitAll = process.env['BENCH_AWAIT_PARTITIONS'] !== '0';
    while (awaitAll && services.includes('equipment')) {
      if (parts.length === config.VIGIL_PARTITIONS && parts.every((p) => p.phase === 'serving')) break;
      if (Date.now() > deadline)
        throw new Error(`partitions not all serving after 60 s: ${JSON.stringify(parts)}`);
      await sleep(20);
      parts = (await node.health()).equipment?.partitions ?? [];
    }
    const last = (pick: (s: { leaseAt: number; servingAt: number }) => number): number | null =>
      parts.length ? Math.max(...parts.map((p) => (p.startup ? pick(p.startup) : Number.NaN))) : null;
    phases = {
      processAt: performance.timeOrigin,
      modulesAt,
      ...node.startup,
      leasesAt: last((s) => s.leaseAt),
      servingAt: last((s) => s.servingAt),
      restoredActors: parts.reduce((n, p) => n + (p.startup?.restoredActors ?? 0), 0),
      readyAt: Date.now(),
    };
  } catch (err) {
    failToParent(err);
  }
  serveParent({ nodeID: node.nodeID, phases } satisfies ActorNodeReady, {
    calls: {
      health: () => node.health(),
      cpu: () => process.cpuUsage(),
      loopDelay,
      heap: () => heapAfterGc(node),
    },
    stop: () => node.stop(),
  });
}

main().catch(failToParent);
