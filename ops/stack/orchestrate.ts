import fs from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { createClickHouseService, probeClickHouse } from './clickhouse.ts';
import { LOOPBACK, resolveStackConfig } from './config.ts';
import { StackError } from './errors.ts';
import { createNatsService, probeNats } from './nats.ts';
import { ensurePackages, findPostgres } from './packages.ts';
import { createPostgresService, probePostgres, type PostgresCluster } from './postgres.ts';
import { portInUse, processAlive, tailFile, waitFor, withLock } from './process.ts';
import { createRedisService, probeRedis } from './redis.ts';
import { findTimescaleVendor, privateTimescaleInstall } from './timescale.ts';
import type {
  ManagedService,
  ServiceName,
  StackConfig,
  StackOptions,
  StackStatus,
  StackUrls,
} from './types.ts';

export const SERVICE_NAMES: readonly ServiceName[] = ['nats', 'postgres', 'clickhouse', 'redis'];

const FACTORIES: Record<ServiceName, (cfg: StackConfig, log: Logger) => ManagedService> = {
  nats: createNatsService,
  postgres: createPostgresService,
  clickhouse: createClickHouseService,
  redis: createRedisService,
};

const PROBES: Record<ServiceName, (url: string) => Promise<boolean>> = {
  nats: probeNats,
  postgres: probePostgres,
  clickhouse: probeClickHouse,
  redis: probeRedis,
};

function urlOf(urls: StackUrls, name: ServiceName): string {
  switch (name) {
    case 'nats':
      return urls.natsUrl;
    case 'postgres':
      return urls.databaseUrl;
    case 'clickhouse':
      return urls.clickhouseUrl;
    case 'redis':
      return urls.redisUrl;
    default: {
      const unreachable: never = name;
      return unreachable;
    }
  }
}

function defaultLogger(env: NodeJS.ProcessEnv): Logger {
  // stderr, so `stack up` can print KEY=value lines on stdout for eval
  return pino(
    { name: 'vigil-stack', level: env['LOG_LEVEL'] ?? 'info' },
    pino.destination({ dest: 2, sync: true }),
  );
}

interface Context {
  cfg: StackConfig;
  log: Logger;
  embedded: ServiceName[];
  services: ManagedService[];
}

function context(opts: StackOptions): Context {
  const env = opts.env ?? process.env;
  const cfg = resolveStackConfig(env);
  const log = opts.log ?? defaultLogger(env);
  const embedded = SERVICE_NAMES.filter((n) => !cfg.urls.external[n]);
  return { cfg, log, embedded, services: embedded.map((n) => FACTORIES[n](cfg, log)) };
}

function timescaleCluster(cfg: StackConfig, install?: PostgresCluster['install']): PostgresCluster {
  return {
    name: 'postgres-timescale',
    dir: 'postgres-timescale',
    port: cfg.ports.postgresTimescale,
    ...(install === undefined ? {} : { install }),
    timescale: 'always',
    sharedBuffers: '128MB',
  };
}

function prepareHome(cfg: StackConfig): void {
  fs.mkdirSync(cfg.logsDir, { recursive: true });
  const ignore = path.join(cfg.home, '.gitignore');
  if (!fs.existsSync(ignore)) fs.writeFileSync(ignore, '*\n');
}

async function ensureService(s: ManagedService, { cfg, log }: Context): Promise<void> {
  const changed = await s.prepare();
  const running = s.runningPid();
  if (running !== undefined) {
    if (!changed) {
      // Up (or still starting after another run): wait for it rather than start a second one.
      await waitFor(`${s.name} (pid ${running})`, () => s.healthy(), {
        timeoutMs: cfg.startTimeoutMs,
        failFast: () =>
          processAlive(running) ? undefined : `exited; log ${s.logFile}:\n${tailFile(s.logFile)}`,
      });
      await s.afterHealthy?.();
      log.debug({ service: s.name, pid: running }, 'already running');
      return;
    }
    log.info({ service: s.name, pid: running }, 'configuration changed: restarting');
    await s.stop();
  }
  for (const port of s.ports) {
    if (await portInUse(port, LOOPBACK)) {
      throw new StackError(
        'PORT_IN_USE',
        `${s.name}: port ${port} is taken by a process this stack (VIGIL_HOME=${cfg.home}) did not start; ` +
          'stop it, set VIGIL_PORT_OFFSET, or point the service URL at it',
      );
    }
  }
  const pid = await s.start();
  await waitFor(`${s.name} (pid ${pid})`, () => s.healthy(), {
    timeoutMs: cfg.startTimeoutMs,
    failFast: () =>
      processAlive(pid) ? undefined : `exited during start-up; log ${s.logFile}:\n${tailFile(s.logFile)}`,
  });
  await s.afterHealthy?.();
  log.info({ service: s.name, pid }, 'started');
}

/**
 * Installs what is missing, starts the embedded services that are not running (externals are
 * left alone) and waits until each is healthy. Safe to call repeatedly and from parallel processes.
 */
export async function ensureStack(opts: StackOptions = {}): Promise<StackUrls> {
  const ctx = context(opts);
  const { cfg, log, services } = ctx;
  if (services.length > 0) {
    prepareHome(cfg);
    await withLock(path.join(cfg.home, 'stack.lock'), cfg.startTimeoutMs * 2, async () => {
      await ensurePackages(ctx.embedded, log);
      const results = await Promise.allSettled(services.map((s) => ensureService(s, ctx)));
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      if (failed.length === 1) throw failed[0];
      if (failed.length > 1) {
        const codes = new Set(failed.map((e) => (e instanceof StackError ? e.code : 'START_FAILED')));
        const code = codes.size === 1 ? [...codes][0] : undefined;
        const message = failed.map((e) => (e instanceof Error ? e.message : String(e))).join('\n');
        throw new StackError(code ?? 'START_FAILED', message, { cause: new AggregateError(failed, message) });
      }
    });
  }
  if (cfg.urls.external.nats && cfg.durability === 'always') {
    // The setting acts on the embedded server's store; an external server has its own.
    log.warn(
      { url: cfg.urls.natsUrl },
      'VIGIL_DURABLE=always does not reach an external NATS: set `sync_interval: always` in its jetstream block (2.10+)',
    );
  }
  for (const name of SERVICE_NAMES.filter((n) => cfg.urls.external[n])) {
    if (!(await PROBES[name](urlOf(cfg.urls, name)))) {
      log.warn({ service: name, url: urlOf(cfg.urls, name) }, 'external service is not answering');
    }
  }
  return cfg.urls;
}

export type TimescaleClusterUrl =
  | { url: string; external: boolean }
  | {
      /** Why there is no TimescaleDB cluster (one line, for the test runner to print). */
      skipped: string;
    };

/**
 * The second PostgreSQL cluster, with TimescaleDB preloaded, that the test suite runs its
 * database tests against as well: `TIMESCALE_DATABASE_URL` when set (external), else a private
 * cluster built from the vendored TimescaleDB (`ops/stack/timescale.ts`), else skipped.
 * Call after ensureStack (which installs PostgreSQL).
 */
export async function ensureTimescaleCluster(opts: StackOptions = {}): Promise<TimescaleClusterUrl> {
  const env = opts.env ?? process.env;
  const given = env['TIMESCALE_DATABASE_URL']?.trim();
  if (given) return { url: given, external: true };
  const vendor = findTimescaleVendor(env);
  if (vendor === undefined) {
    return {
      skipped: 'no vendored TimescaleDB (shared/vendor/timescaledb) and TIMESCALE_DATABASE_URL unset',
    };
  }
  const ctx = context(opts);
  const { cfg, log } = ctx;
  const system = findPostgres();
  if (system === undefined) throw new StackError('INSTALL_REQUIRED', 'PostgreSQL not found');
  prepareHome(cfg);
  const port = cfg.ports.postgresTimescale;
  await withLock(path.join(cfg.home, 'stack.lock'), cfg.startTimeoutMs * 2, async () => {
    const install = await privateTimescaleInstall(cfg.home, system, vendor, log);
    await ensureService(createPostgresService(cfg, log, timescaleCluster(cfg, install)), ctx);
  });
  return { url: `postgres://postgres@${LOOPBACK}:${port}/vigil`, external: false };
}

/** Stops the embedded services this VIGIL_HOME started; externals are never touched. */
export async function stopStack(opts: StackOptions = {}): Promise<void> {
  const { cfg, log, services } = context(opts);
  if (!fs.existsSync(cfg.home)) return;
  // pg_ctl stop only signals the postmaster: the system's binary serves the private cluster too.
  const timescale = fs.existsSync(path.join(cfg.home, timescaleCluster(cfg).dir))
    ? [createPostgresService(cfg, log, timescaleCluster(cfg))]
    : [];
  if (services.length + timescale.length === 0) return;
  await withLock(path.join(cfg.home, 'stack.lock'), cfg.startTimeoutMs, async () => {
    await Promise.all([...services, ...timescale].map((s) => s.stop()));
  });
}

/** What `bounceService` can restart: one of the four, or the TimescaleDB test cluster. */
export type BounceTarget = ServiceName | 'postgres-timescale';

/**
 * Fault drills (test/chaos, bench/chaos.bench.ts): stop exactly one embedded service of this
 * stack, leave it down for `downMs`, start it again and wait until it is healthy. Every other
 * service, and every other stack (VIGIL_PORT_OFFSET), is left alone. An external service is
 * refused: a drill never stops something this stack did not start.
 */
export async function bounceService(
  target: BounceTarget,
  downMs: number,
  opts: StackOptions = {},
): Promise<void> {
  const ctx = context(opts);
  const { cfg, log } = ctx;
  const lock = path.join(cfg.home, 'stack.lock');
  if (target === 'postgres-timescale') {
    if (!fs.existsSync(path.join(cfg.home, timescaleCluster(cfg).dir)))
      throw new StackError('CONFIG_INVALID', 'no TimescaleDB cluster in this stack to restart');
    const service = createPostgresService(cfg, log, timescaleCluster(cfg));
    await withLock(lock, cfg.startTimeoutMs, () => service.stop());
    await new Promise((resolve) => setTimeout(resolve, downMs));
    const started = await ensureTimescaleCluster(opts);
    if ('skipped' in started) throw new StackError('START_FAILED', started.skipped);
    return;
  }
  const service = ctx.services.find((s) => s.name === target);
  if (service === undefined)
    throw new StackError('CONFIG_INVALID', `${target} is external to this stack: a drill does not stop it`);
  await withLock(lock, cfg.startTimeoutMs, () => service.stop());
  await new Promise((resolve) => setTimeout(resolve, downMs));
  await withLock(lock, cfg.startTimeoutMs * 2, () => ensureService(service, ctx));
}

export async function stackStatus(opts: StackOptions = {}): Promise<StackStatus> {
  const { cfg, services } = context(opts);
  const entries = await Promise.all(
    SERVICE_NAMES.map(async (name) => {
      const url = urlOf(cfg.urls, name);
      const service = services.find((s) => s.name === name);
      if (service === undefined) {
        return [name, { url, healthy: await PROBES[name](url), external: true }] as const;
      }
      const pid = service.runningPid();
      const healthy = pid !== undefined && (await service.healthy());
      return [name, { url, healthy, external: false, ...(pid === undefined ? {} : { pid }) }] as const;
    }),
  );
  return Object.fromEntries(entries) as StackStatus;
}
