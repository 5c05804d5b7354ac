import type { ServiceBroker, ServiceSchema } from 'moleculer';
import { detectionsPartition, partitionsOf } from '../../streams/mod.ts';
import { nodesRunning } from '../membership.ts';
import {
  CameraPipelines,
  type CameraPipelinesDeps,
  type CameraPipelinesResources,
} from './camera-pipelines.host.ts';

export const CAMERA_VIDEO_SERVICE = 'camera-video';

export interface CameraVideoServiceDeps extends CameraPipelinesDeps {
  partitions: number;
  defaultModel: string | null;
  workers?: number;
  tenants?: readonly string[];
}

export interface CameraVideoHealth {
  cameras: string[];
  resources: CameraPipelinesResources;
}

/** Nodes that are up and run the video service: the candidates for running a camera. */
function videoNodes(broker: ServiceBroker): string[] {
  const ids = nodesRunning(broker, CAMERA_VIDEO_SERVICE);
  // While this node's own services register, it is a candidate all the same.
  return ids.includes(broker.nodeID) ? ids : [...ids, broker.nodeID];
}

/**
 * The video side of cameras as a Moleculer service: decode, sample, detect, publish `det.*`.
 * Which node runs a camera is rendezvous hashing over the nodes running this service, on the
 * camera's DETECTIONS partition (the partition its actor consumes), so adding a node moves
 * about its share of the cameras. There is no lease: while membership settles a camera may run
 * on two nodes for a moment, until the old owner's next pass stops it. Membership changes
 * re-check ownership, one pass at a time, once the service has started.
 */
export function cameraVideoService(deps: CameraVideoServiceDeps): ServiceSchema {
  let host: CameraPipelines | null = null;
  let serving = false;
  let pass: Promise<void> | null = null;
  let again = false;
  const rebalance = (): void => {
    if (!serving) return;
    if (pass) {
      again = true;
      return;
    }
    pass = (async () => {
      do {
        again = false;
        await host?.rebalance();
      } while (again);
    })()
      .catch((err: unknown) => deps.log.warn({ err }, 'camera rebalance failed'))
      .finally(() => (pass = null));
  };
  return {
    name: CAMERA_VIDEO_SERVICE,
    events: {
      '$node.connected': { handler: rebalance },
      '$node.disconnected': { handler: rebalance },
      '$services.changed': { handler: rebalance },
    },
    actions: {
      health: {
        handler: (): CameraVideoHealth | null =>
          host && { cameras: host.cameras(), resources: host.resources() },
      },
    },
    created() {
      const broker = this.broker;
      host = new CameraPipelines(deps, {
        nodeId: broker.nodeID,
        owns: (cameraId, tenantId) =>
          partitionsOf(broker.nodeID, videoNodes(broker), deps.partitions).includes(
            detectionsPartition(tenantId, cameraId, deps.partitions),
          ),
        defaultModel: deps.defaultModel,
        ...(deps.workers === undefined ? {} : { workers: deps.workers }),
        ...(deps.tenants === undefined ? {} : { tenants: deps.tenants }),
      });
    },
    async started() {
      await host?.start();
      serving = true;
      // Nodes that joined while this one started.
      rebalance();
    },
    async stopped() {
      serving = false;
      await pass;
      await host?.stop();
      host = null;
    },
  };
}
