import type { ServiceBroker, ServiceSchema } from 'moleculer';
import type { Logger } from '../schemas/mod.ts';

/**
 * Moleculer membership as the actor kernel reads it — which nodes host a kind (candidates for
 * its partitions) and which nodes left (their leases may be taken without waiting for
 * staleness) — and the one service shape every kernel-hosted kind shares.
 */

/** Nodes that are up and run the service `name`. */
export function nodesRunning(broker: ServiceBroker, name: string): string[] {
  return broker.registry
    .getNodeList({ onlyAvailable: true, withServices: true })
    .filter((n) => n.services.some((s) => (s as { name?: unknown }).name === name))
    .map((n) => n.id);
}

/** Nodes the registry saw leave (gracefully or by missed heartbeats). */
export function goneNodes(broker: ServiceBroker): string[] {
  return broker.registry
    .getNodeList({ onlyAvailable: false })
    .filter((n) => !n.available)
    .map((n) => n.id);
}

/** What an actor kind's host offers its service (EquipmentHost, CameraHost). */
export interface KindHost<H> {
  reclaim(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  scheduleRebalance(): void;
  health(): H;
}

export interface Membership {
  nodeId: string;
  liveNodes(): string[];
  goneNodes(): string[];
}

/**
 * An actor kind as a Moleculer service named `name`: membership events re-balance partitions,
 * `health` answers the host's health, and the host does the rest.
 */
export function kindService<H>(
  name: string,
  log: Logger,
  createHost: (membership: Membership) => KindHost<H>,
): ServiceSchema {
  let host: KindHost<H> | null = null;
  let reclaiming: Promise<void> = Promise.resolve();
  const rebalance = (): void => host?.scheduleRebalance();
  return {
    name,
    events: {
      '$node.connected': { handler: rebalance },
      '$node.disconnected': { handler: rebalance },
      '$services.changed': { handler: rebalance },
    },
    actions: {
      health: { handler: (): H | null => host?.health() ?? null },
    },
    created() {
      const broker = this.broker;
      const h = createHost({
        nodeId: broker.nodeID,
        liveNodes: () => nodesRunning(broker, name),
        goneNodes: () => goneNodes(broker),
      });
      host = h;
      // While the broker connects and discovers, a restarted node already takes back its own
      // partitions (a failure here only leaves that to start()).
      reclaiming = h.reclaim().catch((err: unknown) => {
        log.warn({ err }, 'reclaiming partitions before the broker started failed');
      });
    },
    async started() {
      await reclaiming;
      await host?.start();
    },
    async stopped() {
      await reclaiming;
      await host?.stop();
      host = null;
    },
  };
}
