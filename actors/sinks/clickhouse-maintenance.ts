import type { ClickHouseClient } from '@clickhouse/client';
import { chIdent, chSql, type Logger, type Pool } from '../../schemas/mod.ts';

/**
 * ClickHouse upkeep for analysts (schemas/clickhouse/002–004), hourly beside the telemetry
 * sink: copy the units (site, name, kind) and new alert timeline entries from PostgreSQL, and
 * drop monthly partitions past retention. Each step is recorded in PostgreSQL's
 * `maintenance_jobs` (vigil_job_done), so a failing one shows in the gateway's /health and
 * /metrics like the telemetry maintenance; one failing step never skips the others.
 * Copies are idempotent (ReplacingMergeTree), so several nodes running it only repeat work.
 */

/** Months of data kept in ClickHouse (2 years, as PostgreSQL's telemetry). */
const RETENTION_MONTHS = 24;
const RETAINED_TABLES = [
  'telemetry',
  'telemetry_hourly',
  'telemetry_daily',
  'alert_log',
  'people_events',
  'track_summaries',
  'people_daily',
];
/** Timeline ids are assigned at insert, committed in any order: re-read a margin behind the newest. */
const ALERT_LOG_MARGIN = 1000;
const ALERT_LOG_BATCH = 50_000;

export interface ClickHouseMaintenanceResult {
  units: number;
  alertLog: number;
  droppedPartitions: string[];
  failed: { job: string; error: string }[];
}

/** YYYYMM of the oldest month kept at `now`. */
export function oldestKeptMonth(now: Date, months = RETENTION_MONTHS): number {
  const total = now.getUTCFullYear() * 12 + now.getUTCMonth() - months;
  return Math.floor(total / 12) * 100 + (total % 12) + 1;
}

export class ClickHouseMaintenance {
  readonly #ch: ClickHouseClient;
  readonly #pool: Pool;
  readonly #log: Logger;
  readonly #database: string;

  constructor(ch: ClickHouseClient, pool: Pool, log: Logger, database: string) {
    this.#ch = ch;
    this.#pool = pool;
    this.#log = log;
    this.#database = chIdent(database);
  }

  async #step<T>(
    job: string,
    fallback: T,
    fn: () => Promise<T>,
    failed: ClickHouseMaintenanceResult['failed'],
  ): Promise<T> {
    let error: string | null = null;
    let out = fallback;
    try {
      out = await fn();
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      failed.push({ job, error });
      this.#log.error({ err, job }, 'ClickHouse maintenance step failed');
    }
    await this.#pool
      .query('SELECT vigil_job_done($1, $2, $3)', [job, '', error])
      .catch((err: unknown) => this.#log.warn({ err, job }, 'could not record a maintenance outcome'));
    return out;
  }

  async runOnce(now = new Date()): Promise<ClickHouseMaintenanceResult> {
    const failed: ClickHouseMaintenanceResult['failed'] = [];
    const units = await this.#step('clickhouse_units', 0, () => this.#syncUnits(now), failed);
    const alertLog = await this.#step('clickhouse_alert_log', 0, () => this.#syncAlertLog(), failed);
    const droppedPartitions = await this.#step(
      'clickhouse_retention',
      [],
      () => this.#dropExpired(now),
      failed,
    );
    const result = { units, alertLog, droppedPartitions, failed };
    this.#log.info({ result }, 'ClickHouse maintenance done');
    return result;
  }

  async #syncUnits(now: Date): Promise<number> {
    const { rows } = await this.#pool.query<Record<string, string>>(
      `SELECT e.tenant_id, e.id AS equipment_id, e.site_id, s.name AS site_name, e.name, e.kind
       FROM equipment e JOIN sites s ON s.tenant_id = e.tenant_id AND s.id = e.site_id`,
    );
    if (rows.length === 0) return 0;
    await this.#ch.insert({
      table: `${this.#database}.equipment`,
      values: rows.map((r) => ({ ...r, synced_ms: now.getTime() })),
      format: 'JSONEachRow',
    });
    return rows.length;
  }

  async #syncAlertLog(): Promise<number> {
    const rs = await this.#ch.query({
      query: `SELECT max(seq) AS seq FROM ${this.#database}.alert_log`,
      format: 'JSONEachRow',
    });
    const newest = Number((await rs.json<{ seq: string | number }>())[0]?.seq ?? 0);
    const { rows } = await this.#pool.query<{
      tenant_id: string;
      site_id: string;
      equipment_id: string;
      alert_id: string;
      event_id: string;
      seq: string;
      at: Date;
      action: string;
      rule_key: string;
      severity: string;
      value: number | null;
      threshold: number | null;
      note: string | null;
    }>(
      // A camera's alert has no unit: the log's equipment column (UUID, not nullable on every
      // ClickHouse release we run) carries the nil UUID for it; its rule key names the camera rule.
      `SELECT a.tenant_id, a.site_id, COALESCE(a.equipment_id, '00000000-0000-0000-0000-000000000000'::uuid) AS equipment_id,
              t.alert_id, t.event_id, t.id AS seq, t.at, t.action,
              a.rule_key, a.severity, a.value, a.threshold, t.note
       FROM alert_timeline t JOIN alerts a ON a.id = t.alert_id
       WHERE t.id > $1 ORDER BY t.id LIMIT $2`,
      [Math.max(0, newest - ALERT_LOG_MARGIN), ALERT_LOG_BATCH],
    );
    if (rows.length === 0) return 0;
    await this.#ch.insert({
      table: `${this.#database}.alert_log`,
      values: rows.map((r) => ({
        ...r,
        seq: Number(r.seq),
        at: Math.floor(r.at.getTime() / 1000),
        at_ms: r.at.getTime(),
        note: r.note ?? '',
      })),
      format: 'JSONEachRow',
    });
    return rows.length;
  }

  async #dropExpired(now: Date): Promise<string[]> {
    const keep = oldestKeptMonth(now);
    const rs = await this.#ch.query({
      query: chSql`SELECT DISTINCT table, partition FROM system.parts
                   WHERE active AND database = ${this.#database} AND has(${RETAINED_TABLES}, table)`,
      format: 'JSONEachRow',
    });
    const dropped: string[] = [];
    for (const { table, partition } of await rs.json<{ table: string; partition: string }>()) {
      const month = Number(partition);
      if (!Number.isInteger(month) || month >= keep) continue;
      await this.#ch.command({
        query: `ALTER TABLE ${this.#database}.${chIdent(table)} DROP PARTITION ${chSql`${month}`}`,
      });
      dropped.push(`${table}:${month}`);
    }
    return dropped;
  }
}
