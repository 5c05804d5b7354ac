import { Gauge, type Registry } from 'prom-client';
import type { MaintenanceHealth, Pool } from '../schemas/mod.ts';
import type { GatewayDeps } from './deps.ts';

/**
 * Failed maintenance, as the gateway reports it: the telemetry maintenance job (partitions,
 * retention, rollups — it runs in the actor nodes and records each step in
 * `maintenance_jobs`) and, with TimescaleDB, every background job whose last run failed.
 * `vigil_failed_jobs()` (migrations 008) reads both. /health is unauthenticated, so it gets
 * job names and counts only; which tenant or hour failed, and why, is in the table and logs.
 */
export async function failedJobs(db: Pool): Promise<MaintenanceHealth['failedJobs']> {
  const { rows } = await db.query<{
    job: string;
    scopes: number;
    failures: number;
    last_run_at: Date | null;
  }>(
    `SELECT job, count(*)::int AS scopes, max(failures)::int AS failures, max(last_run_at) AS last_run_at
     FROM vigil_failed_jobs() GROUP BY job ORDER BY job`,
  );
  return rows.map((r) => ({
    job: r.job,
    scopes: r.scopes,
    failures: r.failures,
    lastRunAt: r.last_run_at ? r.last_run_at.toISOString() : null,
  }));
}

/** `vigil_maintenance_failed_jobs{job}`: failing units of work per job, read at scrape time. */
export function registerMaintenanceMetrics(registry: Registry, deps: Pick<GatewayDeps, 'db' | 'log'>): void {
  new Gauge({
    name: 'vigil_maintenance_failed_jobs',
    help: 'Maintenance jobs whose last run failed, by job (value: failing scopes, e.g. rollup buckets)',
    labelNames: ['job'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const j of await failedJobs(deps.db)) this.set({ job: j.job }, j.scopes);
      } catch (err) {
        // PostgreSQL down: /health says so; the rest of /metrics must still be served.
        deps.log.warn({ err }, 'could not read failed maintenance jobs for /metrics');
      }
    },
  });
}
