import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveDurability } from './durability.ts';
import { StackError } from './errors.ts';
import type { StackConfig, StackPorts, StackUrls } from './types.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const LOOPBACK = '127.0.0.1';

/** Chosen to stay clear of the system services' defaults (4222, 5432, 8123/9000/9009, 6379). */
export const DEFAULT_PORTS: Readonly<StackPorts> = Object.freeze({
  nats: 14222,
  natsMonitor: 18222,
  postgres: 15432,
  clickhouseHttp: 18123,
  clickhouseTcp: 19000,
  clickhouseInterserver: 19009,
  redis: 16379,
  postgresTimescale: 15442,
});

export const DEFAULT_PARTITIONS = 8;
const MAX_PARTITIONS = 1024;

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function intFromEnv(env: NodeJS.ProcessEnv, key: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env[key]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new StackError(
      'CONFIG_INVALID',
      `${key} must be an integer in ${min}..${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** Partition count shared by the NATS subject mappings and the app; from VIGIL_PARTITIONS. */
export function resolvePartitions(env: NodeJS.ProcessEnv = process.env): number {
  return intFromEnv(env, 'VIGIL_PARTITIONS', DEFAULT_PARTITIONS, 1, MAX_PARTITIONS);
}

function resolvePorts(env: NodeJS.ProcessEnv): StackPorts {
  // One offset rather than seven variables: enough to run a second private stack beside the first.
  const offset = intFromEnv(env, 'VIGIL_PORT_OFFSET', 0, 0, 40000);
  const ports = { ...DEFAULT_PORTS };
  for (const key of Object.keys(ports) as (keyof StackPorts)[]) ports[key] += offset;
  return ports;
}

function embeddedUrls(ports: StackPorts): Omit<StackUrls, 'external'> {
  return {
    natsUrl: `nats://${LOOPBACK}:${ports.nats}`,
    databaseUrl: `postgres://postgres@${LOOPBACK}:${ports.postgres}/vigil`,
    clickhouseUrl: `http://${LOOPBACK}:${ports.clickhouseHttp}`,
    redisUrl: `redis://${LOOPBACK}:${ports.redis}`,
  };
}

/**
 * Pure: service URLs from the environment. A URL set in the environment makes that service
 * external (not installed, started or stopped by us) — unless it equals the embedded URL, so
 * exporting the output of `stack up` keeps the services managed.
 */
export function resolveStack(env: NodeJS.ProcessEnv = process.env): StackUrls {
  const own = embeddedUrls(resolvePorts(env));
  const pick = (key: string, embedded: string): [string, boolean] => {
    const given = nonEmpty(env[key]);
    return given === undefined || given === embedded ? [embedded, false] : [given, true];
  };
  const [natsUrl, nats] = pick('NATS_URL', own.natsUrl);
  const [databaseUrl, postgres] = pick('DATABASE_URL', own.databaseUrl);
  const [clickhouseUrl, clickhouse] = pick('CLICKHOUSE_URL', own.clickhouseUrl);
  const [redisUrl, redis] = pick('REDIS_URL', own.redisUrl);
  return { natsUrl, databaseUrl, clickhouseUrl, redisUrl, external: { nats, postgres, clickhouse, redis } };
}

export function resolveStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const home = path.resolve(nonEmpty(env['VIGIL_HOME']) ?? path.join(REPO_ROOT, '.vigil'));
  return {
    home,
    logsDir: path.join(home, 'logs'),
    partitions: resolvePartitions(env),
    ports: resolvePorts(env),
    urls: resolveStack(env),
    startTimeoutMs: intFromEnv(env, 'VIGIL_STACK_TIMEOUT_MS', 120_000, 1_000, 3_600_000),
    durability: resolveDurability(env),
  };
}
