import { withTransaction, type Logger, type Pool } from '../../schemas/mod.ts';

/**
 * Hourly `SELECT telemetry_maintain()` as `vigil_worker`: creates native partitions ahead,
 * drops expired ones, recomputes the rollup buckets readings arrived in — or, with
 * TimescaleDB, reports failing background jobs. Each step, and each tenant's bucket, runs in
 * its own subtransaction inside the function and records its outcome in `maintenance_jobs`,
 * so one failure never stops the rest and the gateway's /health sees it. An advisory lock
 * makes several nodes run it once, not once each.
 */

const LOCK_KEY = 746_147_202;

export interface MaintenanceStatus {
  lastRunAt: string | null;
  lastResult: Record<string, unknown> | null;
  lastError: string | null;
  /** False when the last run failed, a step of it failed, or TimescaleDB reports a failed job. */
  healthy: boolean;
}

/** Runs `run` now (in the background) and then every interval, never two at once. */
export class PeriodicJob {
  readonly #run: () => Promise<unknown>;
  readonly #everyMs: number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> | null = null;

  constructor(run: () => Promise<unknown>, everyMs: number) {
    this.#run = run;
    this.#everyMs = everyMs;
  }

  start(): void {
    this.#kick();
    this.#timer = setInterval(() => this.#kick(), this.#everyMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = this.#run()
      .catch(() => undefined)
      .finally(() => {
        this.#running = null;
      });
  }
}

export class TelemetryMaintenance {
  readonly #pool: Pool;
  readonly #log: Logger;
  readonly #job: PeriodicJob;
  #status: MaintenanceStatus = { lastRunAt: null, lastResult: null, lastError: null, healthy: true };

  constructor(pool: Pool, log: Logger, everyMs = 3600_000) {
    this.#pool = pool;
    this.#log = log;
    this.#job = new PeriodicJob(() => this.runOnce(), everyMs);
  }

  status(): MaintenanceStatus {
    return { ...this.#status };
  }

  /** Run now (in the background) and then every interval. */
  start(): void {
    this.#job.start();
  }

  stop(): Promise<void> {
    return this.#job.stop();
  }

  /** One run; never throws (the outcome lands in `status()` and the log). */
  async runOnce(): Promise<void> {
    const at = new Date().toISOString();
    try {
      // The advisory lock lasts as long as the transaction: one node runs maintenance at a time.
      const r = await withTransaction(this.#pool, async (client) => {
        const lock = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [
          LOCK_KEY,
        ]);
        if (!lock.rows[0]?.ok) return null;
        return client.query<{ result: Record<string, unknown> }>('SELECT telemetry_maintain() AS result');
      });
      if (!r) {
        this.#log.debug('telemetry maintenance already running on another node');
        return;
      }
      const result = r.rows[0]?.result ?? {};
      const failed = Array.isArray(result['failed']) ? result['failed'] : [];
      this.#status = { lastRunAt: at, lastResult: result, lastError: null, healthy: failed.length === 0 };
      if (failed.length) this.#log.warn({ result }, 'telemetry maintenance: some jobs are failing');
      else this.#log.info({ result }, 'telemetry maintenance done');
    } catch (err) {
      this.#status = {
        lastRunAt: at,
        lastResult: this.#status.lastResult,
        lastError: err instanceof Error ? err.message : String(err),
        healthy: false,
      };
      this.#log.error({ err }, 'telemetry maintenance failed');
    }
  }
}
