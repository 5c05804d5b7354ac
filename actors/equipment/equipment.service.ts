import type { ServiceBroker, ServiceSchema } from 'moleculer';
import { EquipmentHost, type EquipmentDeps, type EquipmentHealth } from './equipment.host.ts';

export const EQUIPMENT_SERVICE = 'equipment';

/** Nodes that are up and run the equipment service: the candidates for partition ownership. */
function equipmentNodes(broker: ServiceBroker): string[] {
  return broker.registry
    .getNodeList({ onlyAvailable: true, withServices: true })
    .filter((n) => n.services.some((s) => (s as { name?: unknown }).name === EQUIPMENT_SERVICE))
    .map((n) => n.id);
}

/** Nodes the registry saw leave (gracefully or by missed heartbeats). */
function goneNodes(broker: ServiceBroker): string[] {
  return broker.registry
    .getNodeList({ onlyAvailable: false })
    .filter((n) => !n.available)
    .map((n) => n.id);
}

/**
 * The equipment actors as a Moleculer service. Membership events re-balance partitions; the
 * host does the rest (see equipment.host.ts).
 */
export function equipmentService(deps: EquipmentDeps): ServiceSchema {
  let host: EquipmentHost | null = null;
  let reclaiming: Promise<void> = Promise.resolve();
  const rebalance = (): void => host?.scheduleRebalance();
  return {
    name: EQUIPMENT_SERVICE,
    events: {
      '$node.connected': { handler: rebalance },
      '$node.disconnected': { handler: rebalance },
      '$services.changed': { handler: rebalance },
    },
    actions: {
      health: {
        handler: (): EquipmentHealth | null => host?.health() ?? null,
      },
    },
    created() {
      const broker = this.broker;
      const h = new EquipmentHost(deps, {
        nodeId: broker.nodeID,
        liveNodes: () => equipmentNodes(broker),
        goneNodes: () => goneNodes(broker),
      });
      host = h;
      // While the broker connects and discovers, a restarted node already takes back its own
      // partitions (a failure here only leaves that to start()).
      reclaiming = h.reclaim().catch((err: unknown) => {
        deps.log.warn({ err }, 'reclaiming partitions before the broker started failed');
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

export type { EquipmentHealth };
