import { assertRuleParams, chSql, type Pool, type ThresholdParams } from '../../schemas/mod.ts';
import type { ClickHouseClient } from '@clickhouse/client';

/**
 * The bench tenant, written as the superuser (setup, not a code path under test): one site,
 * `units` load units, one probe unit, and one tenant-wide threshold rule that fires the
 * moment temperature exceeds 10 °C and resolves the moment it drops below 5 °C, plus one
 * rule of every other kind that the load never trips. Load readings stay below 5 °C, so only
 * the probe ever alerts.
 */
export interface BenchTenant {
  tenantId: string;
  siteId: string;
  unitIds: string[];
  probeId: string;
}

export const PROBE_BREACH_C = 20;
export const PROBE_CLEAR_C = 0;

export const BENCH_RULE: ThresholdParams = {
  metric: 'temperature',
  op: '>',
  levels: [{ severity: 'critical', value: 10 }],
  for_s: 0,
  clear: { value: 5, for_s: 0 },
};

const HOUR = [{ severity: 'warning', after_s: 3600 }];
/** `[key, kind, params]` of the rules the load never trips. */
export const BENCH_QUIET_RULES = [
  ['bench_silent', 'no_data', { levels: HOUR }],
  ['bench_door', 'door_open', { levels: HOUR }],
  ['bench_defrost', 'defrost_overrun', { levels: HOUR }],
  [
    'bench_warming',
    'rate',
    {
      metric: 'temperature',
      direction: 'rising',
      window_s: 600,
      levels: [{ severity: 'warning', per_min: 100 }],
      for_s: 0,
    },
  ],
] as const;

export async function seedTenant(admin: Pool, ns: string, units: number): Promise<BenchTenant> {
  const params = assertRuleParams('threshold', BENCH_RULE);
  const client = await admin.connect();
  try {
    await client.query('BEGIN');
    const slug = `bench-${ns}`;
    const t = await client.query<{ id: string }>(
      'INSERT INTO tenants (name, slug) VALUES ($1, $1) RETURNING id',
      [slug],
    );
    const tenantId = t.rows[0]!.id;
    const s = await client.query<{ id: string }>(
      "INSERT INTO sites (tenant_id, name) VALUES ($1, 'bench') RETURNING id",
      [tenantId],
    );
    const siteId = s.rows[0]!.id;
    const u = await client.query<{ id: string }>(
      `INSERT INTO equipment (tenant_id, site_id, name, kind, setpoint)
       SELECT $1, $2, 'unit ' || g, 'chiller', 3 FROM generate_series(1, $3::int) g RETURNING id`,
      [tenantId, siteId, units],
    );
    const p = await client.query<{ id: string }>(
      "INSERT INTO equipment (tenant_id, site_id, name, kind, setpoint) VALUES ($1, $2, 'probe', 'chiller', 3) RETURNING id",
      [tenantId, siteId],
    );
    await client.query(
      "INSERT INTO alert_rules (tenant_id, key, kind, name, params) VALUES ($1, 'bench_high_temp', 'threshold', 'bench', $2)",
      [tenantId, JSON.stringify(params)],
    );
    // Every other kind too, so each unit evaluates five rules per reading and keeps their
    // timers; none of them fires under the load's readings.
    for (const [key, kind, extra] of BENCH_QUIET_RULES) {
      await client.query(
        'INSERT INTO alert_rules (tenant_id, key, kind, name, params) VALUES ($1, $2, $3, $2, $4)',
        [tenantId, key, kind, JSON.stringify(assertRuleParams(kind, extra))],
      );
    }
    await client.query('COMMIT');
    return { tenantId, siteId, unitIds: u.rows.map((r) => r.id), probeId: p.rows[0]!.id };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Rows of the load units (the probe excluded) in PostgreSQL. */
export async function pgCount(admin: Pool, t: BenchTenant): Promise<number> {
  const r = await admin.query<{ n: number }>(
    'SELECT count(*) AS n FROM telemetry WHERE tenant_id = $1 AND equipment_id <> $2',
    [t.tenantId, t.probeId],
  );
  return r.rows[0]?.n ?? 0;
}

/**
 * Rows of the load units in ClickHouse. Without FINAL: a redelivered batch would count twice
 * until merged, so the bench waits for "at least", and PostgreSQL's exact count is the check.
 */
export async function chCount(ch: ClickHouseClient, t: BenchTenant): Promise<number> {
  const r = await ch.query({
    query: chSql`SELECT count() AS n FROM telemetry WHERE tenant_id = ${t.tenantId} AND equipment_id != ${t.probeId}`,
    format: 'JSONEachRow',
  });
  const rows = await r.json<{ n: string | number }>();
  return Number(rows[0]?.n ?? 0);
}

/**
 * Remove the bench tenant: telemetry and hourly rollups (no foreign key to tenants), then the tenant
 * (sites, units, rules, alerts and timeline go with it). ClickHouse 18.16 deletes with an
 * asynchronous mutation: the rows disappear shortly after this returns.
 */
export async function dropTenant(admin: Pool, ch: ClickHouseClient, tenantId: string): Promise<void> {
  await admin.query('DELETE FROM telemetry WHERE tenant_id = $1', [tenantId]);
  // A plain table without TimescaleDB; with it, a continuous aggregate that refreshes itself.
  const hourly = await admin.query<{ relkind: string }>(
    "SELECT relkind FROM pg_class WHERE relname = 'telemetry_hourly'",
  );
  if (hourly.rows[0]?.relkind === 'r')
    await admin.query('DELETE FROM telemetry_hourly WHERE tenant_id = $1', [tenantId]);
  await admin.query('DELETE FROM tenants WHERE id = $1', [tenantId]);
  await ch.command({ query: chSql`ALTER TABLE telemetry DELETE WHERE tenant_id = ${tenantId}` });
}
