import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Redis } from 'ioredis';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouse, createPool, type Config, type Logger, type Pool } from '../schemas/mod.ts';
import { names, type Names } from '../streams/mod.ts';

const REDIS_BOOT_WAIT_MS = 2000;

/** Everything the gateway talks to. Built once per process; routes receive it as plugin options. */
export interface GatewayDeps {
  config: Config;
  log: Logger;
  /** PostgreSQL as `vigil_app`: RLS applies to every query; use `withTenant`. */
  db: Pool;
  redis: Redis;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  ch: ClickHouseClient;
  names: Names;
  /** Close every connection; safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Connect to every dependency. NATS must be reachable (the gateway is useless without it);
 * PostgreSQL, ClickHouse and Redis connect lazily, so a dependency that is down at boot shows
 * as not ready on /health instead of preventing the process from starting.
 */
export async function connectGatewayDeps(config: Config, log: Logger): Promise<GatewayDeps> {
  const nc = await connect({
    servers: config.NATS_URL,
    name: 'vigil-gateway',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
  });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const db = createPool(config, 'app', 20);
  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
  // ioredis emits 'error' on every failed reconnect; unhandled, that would crash the process.
  redis.on('error', (err: Error) => log.warn({ err }, 'redis connection error'));
  // Wait briefly for the first connection: with the offline queue off, commands issued before
  // it is up would fail (503) needlessly. Past the wait, boot goes on and /health reports it.
  await Promise.race([
    redis.connect().catch((err: unknown) => log.warn({ err }, 'redis not reachable at boot')),
    sleep(REDIS_BOOT_WAIT_MS, undefined, { ref: false }),
  ]);
  const ch = createClickHouse(config);

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const results = await Promise.allSettled([
        nc.drain(),
        db.end(),
        ch.close(),
        redis.quit().catch(() => redis.disconnect()),
      ]);
      for (const r of results) {
        if (r.status === 'rejected') log.warn({ err: r.reason }, 'error while closing a gateway dependency');
      }
    })();
    return closing;
  };

  return { config, log, db, redis, nc, js, jsm, ch, names: names(config.VIGIL_NS), close };
}
