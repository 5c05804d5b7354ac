import { ServiceBroker } from 'moleculer';
import { brokerOptions } from '../moleculer.config.ts';
import {
  createClickHouse,
  createPool,
  VigilError,
  type Config,
  type Logger,
  type Pool,
} from '../schemas/mod.ts';
import {
  connectNats,
  ensureSnapshotBucket,
  ensureStreams,
  jetstream,
  jetstreamManager,
  names as namesFor,
  TelemetryDecoder,
  type NatsConnection,
} from '../streams/mod.ts';
import type { NodeDeps } from './deps.ts';
import { stableNodeId } from './node-id.ts';
import { cameraAlertsService } from './camera/camera-alerts.sink.ts';
import { cameraVideoService, type CameraVideoHealth } from './camera/camera-video.service.ts';
import { cameraService, CAMERA_SERVICE, type CameraHealth } from './camera/camera.service.ts';
import { equipmentService, EQUIPMENT_SERVICE, type EquipmentHealth } from './equipment/equipment.service.ts';
import { notifierService } from './notify/notifier.ts';
import { alertsService } from './sinks/alerts.sink.ts';
import { peopleChService } from './sinks/people-ch.sink.ts';
import { telemetryChService } from './sinks/telemetry-ch.sink.ts';
import { telemetryPgService, type TelemetryPgHealth } from './sinks/telemetry-pg.sink.ts';
import { UnitRegistry } from './sinks/unit-registry.ts';

export type ActorServiceName =
  | 'equipment'
  | 'camera'
  | 'telemetry-pg'
  | 'telemetry-ch'
  | 'people-ch'
  | 'alerts'
  | 'notifier'
  | 'camera-alerts'
  | 'camera-video';
/**
 * What a node runs unless told. `camera-video` (decoding and inference, a core per camera or
 * two) runs only where it is asked for: on the nodes meant for video.
 */
export const ACTOR_SERVICES: readonly ActorServiceName[] = [
  'equipment',
  'camera',
  'telemetry-pg',
  'telemetry-ch',
  'people-ch',
  'alerts',
  'notifier',
  'camera-alerts',
];

export interface ActorNodeOptions {
  config: Config;
  log: Logger;
  /** Services this node runs; default ACTOR_SERVICES. Each runs its own durable consumer(s). */
  services?: readonly ActorServiceName[];
  /** `camera-video`: run only these tenants' cameras (an edge node in one customer's store). */
  cameraTenants?: readonly string[];
  /**
   * `notifier`: send only these tenants' notifications (default: every tenant's) — a notifier
   * dedicated to some customers, or a test's node sharing its database with other tests.
   */
  notifierTenants?: readonly string[];
  /**
   * Moleculer node id, which also holds the partition leases. Default: VIGIL_NODE_ID, else a
   * per-machine slot kept across restarts (actors/node-id.ts), so a restarted node takes its
   * own partitions back at once.
   */
  nodeID?: string;
}

export interface ActorNodeHealth {
  nodeID: string;
  equipment?: EquipmentHealth | null;
  camera?: CameraHealth | null;
  'telemetry-pg'?: TelemetryPgHealth;
  'telemetry-ch'?: unknown;
  'people-ch'?: unknown;
  alerts?: unknown;
  notifier?: unknown;
  'camera-alerts'?: unknown;
  'camera-video'?: CameraVideoHealth | null;
}

/** When each step of a node's start ended (epoch ms): where a slow restart spends its time. */
export interface ActorNodeStartup {
  calledAt: number;
  natsAt: number;
  streamsAt: number;
  brokerAt: number;
}

export interface ActorNode {
  broker: ServiceBroker;
  nodeID: string;
  startup: ActorNodeStartup;
  /** Stop the services (each commits and acks what it holds), then close every connection. */
  stop(): Promise<void>;
  /** Per-service state: owned partitions, consumer counters, last maintenance run. */
  health(): Promise<ActorNodeHealth>;
}

/**
 * Start an actor node: connects NATS, ensures streams and the snapshot bucket, opens the
 * PostgreSQL pools and ClickHouse client the chosen services need, and starts a Moleculer
 * broker running those services. Signals are the caller's: call `stop()` on SIGTERM.
 */
export async function startActorNode(opts: ActorNodeOptions): Promise<ActorNode> {
  const { config, log } = opts;
  const calledAt = Date.now();
  const services = [...new Set(opts.services ?? ACTOR_SERVICES)];
  const identity = opts.nodeID ? null : await stableNodeId(config);
  const nodeID = opts.nodeID ?? identity!.id;
  const names = namesFor(config.VIGIL_NS);
  const closers: Array<() => Promise<unknown>> = [async () => identity?.release()];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse())
      await close().catch((err: unknown) => log.warn({ err }, 'close failed'));
    closers.length = 0;
  };

  try {
    const nc: NatsConnection = await connectNats(config, `vigil-${nodeID}`);
    closers.push(() => nc.drain());
    const natsAt = Date.now();
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await ensureStreams(jsm, names);
    const kv = await ensureSnapshotBucket(js, names);
    const streamsAt = Date.now();
    const telemetry = new TelemetryDecoder(names.ns, config);
    const deps: NodeDeps = { config, log, nc, js, jsm, names, kv, telemetry };

    let worker: Pool | null = null;
    const workerPool = (): Pool => {
      if (!worker) {
        const pool = createPool(config, 'worker', 5);
        closers.push(() => pool.end());
        worker = pool;
      }
      return worker;
    };
    // One per node, shared by its telemetry sinks: each unit is looked up once for both.
    let units: UnitRegistry | null = null;
    const unitRegistry = (): UnitRegistry => {
      if (!units) {
        const registry = new UnitRegistry(workerPool());
        const unfollow = registry.follow(nc, names, log);
        closers.push(async () => unfollow());
        units = registry;
      }
      return units;
    };
    const broker = new ServiceBroker(brokerOptions(config, { nodeID, log }));
    for (const name of services) {
      switch (name) {
        case 'equipment':
          broker.createService(
            equipmentService({ ...deps, log: log.child({ service: EQUIPMENT_SERVICE }), pool: workerPool() }),
          );
          break;
        case 'camera':
          broker.createService(
            cameraService({ ...deps, log: log.child({ service: CAMERA_SERVICE }), pool: workerPool() }),
          );
          break;
        case 'telemetry-pg': {
          const ingest = createPool(config, 'ingest', 4);
          closers.push(() => ingest.end());
          broker.createService(
            telemetryPgService({
              ...deps,
              log: log.child({ service: name }),
              ingest,
              worker: workerPool(),
              units: unitRegistry(),
            }),
          );
          break;
        }
        case 'telemetry-ch': {
          const ch = createClickHouse(config);
          closers.push(() => ch.close());
          broker.createService(
            telemetryChService({
              ...deps,
              log: log.child({ service: name }),
              ch,
              units: unitRegistry(),
              worker: workerPool(),
            }),
          );
          break;
        }
        case 'people-ch': {
          const ch = createClickHouse(config);
          closers.push(() => ch.close());
          broker.createService(peopleChService({ ...deps, log: log.child({ service: name }), ch }));
          break;
        }
        case 'alerts':
          broker.createService(
            alertsService({ ...deps, log: log.child({ service: name }), worker: workerPool() }),
          );
          break;
        case 'notifier':
          broker.createService(
            notifierService(
              { ...deps, log: log.child({ service: name }), worker: workerPool() },
              opts.notifierTenants ? { tenants: opts.notifierTenants } : undefined,
            ),
          );
          break;
        case 'camera-alerts':
          broker.createService(
            cameraAlertsService({ ...deps, log: log.child({ service: name }), worker: workerPool() }),
          );
          break;
        case 'camera-video':
          broker.createService(
            cameraVideoService({
              ...deps,
              log: log.child({ service: name }),
              pool: workerPool(),
              partitions: config.VIGIL_PARTITIONS,
              defaultModel: config.VIGIL_CAMERA_MODEL ?? null,
              ...(config.VIGIL_DETECT_WORKERS === undefined ? {} : { workers: config.VIGIL_DETECT_WORKERS }),
              ...(opts.cameraTenants ? { tenants: opts.cameraTenants } : {}),
            }),
          );
          break;
        default: {
          const unknown: never = name;
          throw new VigilError('VALIDATION_FAILED', `unknown actor service ${String(unknown)}`);
        }
      }
    }
    // Registered before start: a start that fails half way (one service's started() throws)
    // leaves a connected broker with running services, which stop() must take down too.
    // Closers run in reverse, so the broker stops first: services commit and ack before their
    // connections close.
    closers.push(() => broker.stop());
    await broker.start();
    const startup: ActorNodeStartup = { calledAt, natsAt, streamsAt, brokerAt: Date.now() };
    log.info(
      {
        nodeID,
        services,
        natsMs: natsAt - calledAt,
        streamsMs: streamsAt - natsAt,
        brokerMs: startup.brokerAt - streamsAt,
      },
      'actor node started',
    );

    let stopped: Promise<void> | null = null;
    return {
      broker,
      nodeID: broker.nodeID,
      startup,
      stop: () => (stopped ??= closeAll()),
      health: async () => {
        const out: ActorNodeHealth = { nodeID: broker.nodeID };
        for (const name of services) {
          const h: unknown = await broker.call(`${name}.health`, {}, { nodeID: broker.nodeID });
          (out as unknown as Record<string, unknown>)[name] = h;
        }
        return out;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

export { EquipmentHost } from './equipment/equipment.host.ts';
export { CameraHost } from './camera/camera.host.ts';
export { DEFAULT_COMMIT_INTERVAL_MS } from './kernel/mod.ts';
export { toPeopleRows } from './sinks/people-ch.sink.ts';
export {
  decide,
  evolve,
  handle as handleEquipmentCommand,
  initialState as initialEquipmentState,
  isPublished,
  isAlertEvent,
  nextWakeAt,
  type DeciderRule,
  type EquipmentCommand,
  type EquipmentEvent,
  type EquipmentState,
  type Presence,
  type UnitInfo,
} from './equipment/equipment.decider.ts';
export { rulesForUnit, applicableRows } from './equipment/equipment.rules.ts';
export { backtest, warmupMs } from './equipment/backtest.ts';
export { alertIdFor } from './equipment/alert-id.ts';
export { viewState, phaseChanged } from './equipment/equipment.view.ts';
export { StateFeed, stateEvent } from './equipment/state-feed.ts';
export { toClickHouseRow } from './sinks/telemetry-ch.sink.ts';
export { UnitRegistry } from './sinks/unit-registry.ts';
export { applyAlertEvents } from './sinks/alerts.sink.ts';
export { foldAlert, foldEventOf } from './sinks/alert-fold.ts';
export { TelemetryMaintenance } from './sinks/maintenance.ts';
export { ClickHouseMaintenance, oldestKeptMonth } from './sinks/clickhouse-maintenance.ts';
export { fromPgError, fromClickHouseError } from './errors.ts';
export { Notifier, type NotifierOptions } from './notify/notifier.ts';
export { signature as webhookSignature, verifySignature } from './notify/webhook.ts';
export { routes as notificationRoutes, retryDelayMs, type Channel } from './notify/notify.routing.ts';
