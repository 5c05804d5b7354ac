import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
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
import { equipmentService, EQUIPMENT_SERVICE, type EquipmentHealth } from './equipment/equipment.service.ts';
import { notifierService } from './notify/notifier.ts';
import { alertsService } from './sinks/alerts.sink.ts';
import { telemetryChService } from './sinks/telemetry-ch.sink.ts';
import { telemetryPgService, type TelemetryPgHealth } from './sinks/telemetry-pg.sink.ts';

export type ActorServiceName = 'equipment' | 'telemetry-pg' | 'telemetry-ch' | 'alerts' | 'notifier';
export const ACTOR_SERVICES: readonly ActorServiceName[] = [
  'equipment',
  'telemetry-pg',
  'telemetry-ch',
  'alerts',
  'notifier',
];

export interface ActorNodeOptions {
  config: Config;
  log: Logger;
  /** Services this node runs; default all. Each runs its own durable consumer(s). */
  services?: readonly ActorServiceName[];
  /** Moleculer node id; default `<host>-<pid>-<random>` so several nodes can share a process. */
  nodeID?: string;
}

export interface ActorNodeHealth {
  nodeID: string;
  equipment?: EquipmentHealth | null;
  'telemetry-pg'?: TelemetryPgHealth;
  'telemetry-ch'?: unknown;
  alerts?: unknown;
  notifier?: unknown;
}

export interface ActorNode {
  broker: ServiceBroker;
  nodeID: string;
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
  const services = [...new Set(opts.services ?? ACTOR_SERVICES)];
  const nodeID = opts.nodeID ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const names = namesFor(config.VIGIL_NS);
  const closers: Array<() => Promise<unknown>> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse())
      await close().catch((err: unknown) => log.warn({ err }, 'close failed'));
    closers.length = 0;
  };

  try {
    const nc: NatsConnection = await connectNats(config, `vigil-${nodeID}`);
    closers.push(() => nc.drain());
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await ensureStreams(jsm, names);
    const kv = await ensureSnapshotBucket(js, names);
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
    const broker = new ServiceBroker(brokerOptions(config, { nodeID, log }));
    for (const name of services) {
      switch (name) {
        case 'equipment':
          broker.createService(
            equipmentService({ ...deps, log: log.child({ service: EQUIPMENT_SERVICE }), pool: workerPool() }),
          );
          break;
        case 'telemetry-pg': {
          const ingest = createPool(config, 'ingest', 4);
          closers.push(() => ingest.end());
          broker.createService(
            telemetryPgService({ ...deps, log: log.child({ service: name }), ingest, worker: workerPool() }),
          );
          break;
        }
        case 'telemetry-ch': {
          const ch = createClickHouse(config);
          closers.push(() => ch.close());
          broker.createService(telemetryChService({ ...deps, log: log.child({ service: name }), ch }));
          break;
        }
        case 'alerts':
          broker.createService(
            alertsService({ ...deps, log: log.child({ service: name }), worker: workerPool() }),
          );
          break;
        case 'notifier':
          broker.createService(
            notifierService({ ...deps, log: log.child({ service: name }), worker: workerPool() }),
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

    let stopped: Promise<void> | null = null;
    return {
      broker,
      nodeID: broker.nodeID,
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

export { EquipmentHost, type EquipmentDeps, type EquipmentHealth } from './equipment/equipment.host.ts';
export {
  decide,
  evolve,
  handle as handleEquipmentCommand,
  initialState as initialEquipmentState,
  isPublished,
  isAlertEvent,
  nextWakeAt,
  DECIDER_KINDS,
  type DeciderRule,
  type MaintenanceWindow,
  type EquipmentCommand,
  type EquipmentEvent,
  type EquipmentState,
  type RuleState,
  type UnitInfo,
} from './equipment/equipment.decider.ts';
export { rulesForUnit, applicableRows, type SkippedRule } from './equipment/equipment.rules.ts';
export { backtest, warmupMs, type BacktestInput, type BacktestOutput } from './equipment/backtest.ts';
export { alertIdFor } from './equipment/alert-id.ts';
export { insertReadings } from './sinks/telemetry-pg.sink.ts';
export { toClickHouseRow } from './sinks/telemetry-ch.sink.ts';
export { applyAlertEvents, decodeAlertEvent } from './sinks/alerts.sink.ts';
export { foldAlert, foldEventOf, type AlertFold, type FoldEvent } from './sinks/alert-fold.ts';
export { TelemetryMaintenance, type MaintenanceStatus } from './sinks/maintenance.ts';
export { fromPgError, fromClickHouseError, fromNatsError } from './errors.ts';
export { Notifier, type NotifierOptions, type NotifierStats } from './notify/notifier.ts';
export { signature as webhookSignature, verifySignature } from './notify/webhook.ts';
export { routes as notificationRoutes, retryDelayMs, type Channel } from './notify/notify.routing.ts';
