import type { FastifyPluginAsync } from 'fastify';
import {
  ErrorBody,
  HealthResponse,
  LivenessResponse,
  type DependencyCheck,
  type DependencyName,
  type MaintenanceHealth,
} from '../schemas/mod.ts';
import type { GatewayDeps } from './deps.ts';
import { failedJobs } from './maintenance-jobs.ts';
import { quietLogLevel } from './http-logging.ts';

const CHECK_TIMEOUT_MS = 2000;

class CheckTimeout extends Error {
  override readonly name = 'CheckTimeout';
}

async function timed(
  probe: () => Promise<unknown>,
  timeoutMs: number,
): Promise<DependencyCheck & { cause?: unknown }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeout(`no answer in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([probe(), timeout]);
    return { status: 'up', latencyMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch (cause) {
    const latencyMs = Math.round((performance.now() - started) * 100) / 100;
    return {
      status: 'down',
      latencyMs,
      error: cause instanceof CheckTimeout ? 'timeout' : 'unavailable',
      cause,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** One probe per dependency, each the cheapest call that proves it can serve us. */
export function dependencyProbes(deps: GatewayDeps): Record<DependencyName, () => Promise<unknown>> {
  return {
    // Account info goes through the JetStream API, so it fails when JetStream (not just NATS) is down.
    nats: () => deps.jsm.getAccountInfo(),
    postgres: () => deps.db.query('SELECT 1'),
    clickhouse: async () => {
      const rs = await deps.ch.query({ query: 'SELECT 1', format: 'JSONEachRow' });
      await rs.json();
    },
    redis: () => deps.redis.ping(),
  };
}

export const healthRoutes: FastifyPluginAsync<{ deps: GatewayDeps; timeoutMs?: number }> = async (
  app,
  opts,
) => {
  const { deps } = opts;
  const timeoutMs = opts.timeoutMs ?? CHECK_TIMEOUT_MS;
  const probes = dependencyProbes(deps);
  const logLevel = quietLogLevel(deps.config.LOG_LEVEL);

  app.get(
    '/health',
    {
      schema: {
        tags: ['ops'],
        summary: 'Liveness and readiness of every dependency',
        description:
          '200 when NATS JetStream, PostgreSQL, ClickHouse and Redis all answer; 503 otherwise. ' +
          '`maintenance` lists failing maintenance jobs; it does not affect readiness.',
        response: { 200: HealthResponse, 503: HealthResponse, '5xx': ErrorBody },
      },
      logLevel,
    },
    async (request, reply) => {
      const names = Object.keys(probes) as DependencyName[];
      let jobs: MaintenanceHealth['failedJobs'] | null = null;
      const [results, jobsCheck] = await Promise.all([
        Promise.all(names.map((n) => timed(probes[n], timeoutMs))),
        timed(async () => {
          jobs = await failedJobs(deps.db);
        }, timeoutMs),
      ]);
      if (jobsCheck.status === 'down')
        request.log.warn({ err: jobsCheck.cause }, 'could not read failed maintenance jobs');
      const maintenance: MaintenanceHealth =
        jobs === null
          ? { status: 'unknown', failedJobs: [] }
          : { status: (jobs as MaintenanceHealth['failedJobs']).length ? 'failing' : 'ok', failedJobs: jobs };
      const checks = {} as HealthResponse['checks'];
      names.forEach((name, i) => {
        const { cause, ...check } = results[i]!;
        if (check.status === 'down')
          request.log.warn({ dependency: name, err: cause }, 'dependency not ready');
        checks[name] = check;
      });
      const ready = Object.values(checks).every((c) => c.status === 'up');
      const body: HealthResponse = {
        status: ready ? 'ok' : 'degraded',
        live: true,
        ready,
        uptimeS: Math.round(process.uptime()),
        checks,
        maintenance,
      };
      return reply
        .code(ready ? 200 : 503)
        .header('cache-control', 'no-store')
        .send(body);
    },
  );

  app.get(
    '/health/live',
    {
      schema: {
        tags: ['ops'],
        summary: 'Liveness only: the process answers HTTP',
        response: { 200: LivenessResponse },
      },
      logLevel,
    },
    async () => ({ status: 'ok' as const, uptimeS: Math.round(process.uptime()) }),
  );
};
