import type { Config, Logger } from '../schemas/mod.ts';
import type { KernelDeps } from './kernel/mod.ts';
import type {
  JetStreamClient,
  JetStreamManager,
  KV,
  NatsConnection,
  Names,
  TelemetryDecoder,
} from '../streams/mod.ts';

/** What every service of an actor node shares: configuration, logger and the NATS handles. */
export interface NodeDeps {
  config: Config;
  log: Logger;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: Names;
  kv: KV;
  /**
   * Shared by the node's TELEMETRY consumers, so each reading is decoded once per node; a
   * service without one decodes on its own.
   */
  telemetry?: TelemetryDecoder;
}

/** The actor kernel's share of a node's dependencies: every kind's partitions on its connections. */
export function kernelDeps(deps: NodeDeps): KernelDeps & { nc: NatsConnection } {
  const { nc, js, jsm, kv, names, log } = deps;
  // The connection also serves live-state queries and liveness probes of what this node owns.
  return { nc, js, jsm, kv, names, log, partitions: deps.config.VIGIL_PARTITIONS };
}
