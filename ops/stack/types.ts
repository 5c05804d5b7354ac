import type { Logger } from 'pino';
import type { Durability } from './durability.ts';

export type ServiceName = 'nats' | 'postgres' | 'clickhouse' | 'redis';
/** The private TimescaleDB cluster is optional and started on request (`stack timescale`). */
export type ManagedServiceName = ServiceName | 'postgres-timescale';

export interface StackUrls {
  natsUrl: string;
  databaseUrl: string;
  clickhouseUrl: string;
  redisUrl: string;
  external: { nats: boolean; postgres: boolean; clickhouse: boolean; redis: boolean };
}

export interface StackPorts {
  nats: number;
  natsMonitor: number;
  postgres: number;
  clickhouseHttp: number;
  clickhouseTcp: number;
  clickhouseInterserver: number;
  redis: number;
  /** The optional second PostgreSQL cluster, with TimescaleDB preloaded (test variant). */
  postgresTimescale: number;
}

/** Everything the embedded stack needs, derived from the environment alone. */
export interface StackConfig {
  home: string;
  logsDir: string;
  partitions: number;
  ports: StackPorts;
  urls: StackUrls;
  startTimeoutMs: number;
  /** VIGIL_DURABLE: when the embedded NATS may acknowledge a stored message (see durability.ts). */
  durability: Durability;
}

export interface StackOptions {
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

export interface ServiceStatus {
  url: string;
  healthy: boolean;
  external: boolean;
  /** Process id of an embedded service that is running; absent for externals. */
  pid?: number;
}

export type StackStatus = Record<ServiceName, ServiceStatus>;

/** One embedded daemon: how to configure, start, probe and stop it. */
export interface ManagedService {
  readonly name: ManagedServiceName;
  readonly ports: readonly number[];
  readonly logFile: string;
  /** Writes config (and initialises data on first use); true when the config changed. */
  prepare(): Promise<boolean>;
  runningPid(): number | undefined;
  /** Starts the daemon detached and returns its pid; does not wait for health. */
  start(): Promise<number>;
  healthy(): Promise<boolean>;
  /** Idempotent setup that needs the server up (e.g. CREATE DATABASE). */
  afterHealthy?(): Promise<void>;
  stop(): Promise<void>;
}
