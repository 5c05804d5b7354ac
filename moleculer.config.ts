import type { BrokerOptions, LoggerConfig } from 'moleculer';
import { createLogger, loadConfig, type Config, type Logger } from './schemas/mod.ts';

/**
 * Broker options of every Vigil actor node, built from the validated configuration:
 * namespace = VIGIL_NS (nodes of different namespaces never see each other), NATS transporter
 * at NATS_URL, Pino logging into Vigil's own logger, Redis cacher at REDIS_URL.
 */
export interface BrokerOverrides {
  nodeID?: string;
  /** Parent logger; Moleculer's module loggers become its children. */
  log?: Logger;
}

type MoleculerLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

function redisOptions(url: string): Record<string, unknown> {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    db: Number(u.pathname.slice(1) || 0),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

export function brokerOptions(config: Config, overrides: BrokerOverrides = {}): BrokerOptions {
  const log = overrides.log ?? createLogger(config, 'moleculer');
  const logger: LoggerConfig | false =
    config.LOG_LEVEL === 'silent'
      ? false
      : {
          type: 'Pino',
          options: {
            level: config.LOG_LEVEL as MoleculerLevel,
            createLogger: (level: MoleculerLevel, bindings: { nodeID: string; mod: string; svc?: string }) =>
              log.child({ node: bindings.nodeID, mod: bindings.mod }, { level }),
          },
        };
  return {
    namespace: config.VIGIL_NS,
    ...(overrides.nodeID ? { nodeID: overrides.nodeID } : {}),
    transporter: { type: 'NATS', options: { url: config.NATS_URL } },
    cacher: {
      type: 'Redis',
      options: {
        prefix: config.VIGIL_NS ? `vigil-${config.VIGIL_NS}-` : 'vigil-',
        ttl: 30,
        redis: redisOptions(config.REDIS_URL),
      },
    },
    logger,
    // Membership drives partition ownership: notice a dead node within seconds, not a minute.
    heartbeatInterval: 5,
    heartbeatTimeout: 15,
    // The process owner (CLI, demo, tests) decides when to stop; several brokers may share a process.
    skipProcessEventRegistration: true,
    metrics: false,
    tracing: false,
  };
}

/** For `moleculer-runner`: options from the environment. */
export default function config(): BrokerOptions {
  return brokerOptions(loadConfig());
}
