import {
  assertRuleParams,
  chSql,
  type AlertRuleKind,
  type Pool,
  type RuleSchedule,
  type ThresholdParams,
} from '../../schemas/mod.ts';
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

/** `[key, kind, params]` of a tenant-wide rule the bench seeds next to the probe's threshold. */
export type BenchRuleRow = readonly [key: string, kind: AlertRuleKind, params: unknown];

/** Local `HH:MM` of the instant `ms` in `timeZone`. */
function localHhMm(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .format(ms)
    .slice(0, 5);
}

/**
 * The fleet run's rules besides the probe's threshold: one of every other kind, with the delays
 * a store would set — a unit silent 15 min (warning) or an hour (critical), a door open 5 or
 * 10 min, a defrost past 45 min, warming faster than 3 °C/min over a minute for a minute —
 * none of which the load trips. The door and warm-up rules apply in opening hours in the
 * site's time zone; the hours are drawn around `now` (from two hours before to ten after), so
 * whenever the bench runs those rules are evaluated, schedule lookup included, not skipped.
 * The rate window is a minute so the load's device time (a reading a second per unit) fills it:
 * every reading then costs the full slope over its samples, as a unit in service does.
 */
export function fleetRules(now: number, timeZone: string): BenchRuleRow[] {
  const openingHours: RuleSchedule = {
    windows: [
      {
        days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
        from: localHhMm(now - 2 * 3_600_000, timeZone),
        to: localHhMm(now + 10 * 3_600_000, timeZone),
      },
    ],
  };
  return [
    [
      'fleet_silent',
      'no_data',
      {
        levels: [
          { severity: 'critical', after_s: 3600 },
          { severity: 'warning', after_s: 900 },
        ],
      },
    ],
    [
      'fleet_door',
      'door_open',
      {
        levels: [
          { severity: 'critical', after_s: 600 },
          { severity: 'warning', after_s: 300 },
        ],
        clear_for_s: 10,
        schedule: openingHours,
      },
    ],
    [
      'fleet_defrost',
      'defrost_overrun',
      { levels: [{ severity: 'warning', after_s: 2700 }], clear_for_s: 60 },
    ],
    [
      'fleet_warming',
      'rate',
      {
        metric: 'temperature',
        direction: 'rising',
        window_s: 60,
        levels: [{ severity: 'warning', per_min: 3 }],
        for_s: 60,
        clear_for_s: 60,
        exclude_defrost: { recovery_s: 600 },
        schedule: openingHours,
      },
    ],
  ];
}

export interface SeedOptions {
  /** The rules next to the probe's threshold (default `BENCH_QUIET_RULES`). */
  rules?: readonly BenchRuleRow[];
  /** The site's IANA time zone (default the column's, UTC). */
  timeZone?: string;
}

export async function seedTenant(
  admin: Pool,
  ns: string,
  units: number,
  opts: SeedOptions = {},
): Promise<BenchTenant> {
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
      "INSERT INTO sites (tenant_id, name, timezone) VALUES ($1, 'bench', COALESCE($2, 'UTC')) RETURNING id",
      [tenantId, opts.timeZone ?? null],
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
    for (const [key, kind, extra] of opts.rules ?? BENCH_QUIET_RULES) {
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
 * Alerts the load units raised (the probe excluded), by rule key: none, when the rules are quiet
 * under the load as they must be — else the run also measured those alerts' traffic.
 */
export async function loadUnitAlerts(admin: Pool, t: BenchTenant): Promise<Record<string, number>> {
  const r = await admin.query<{ rule_key: string; n: number }>(
    `SELECT rule_key, count(*)::int AS n FROM alerts WHERE tenant_id = $1 AND equipment_id <> $2
     GROUP BY rule_key ORDER BY rule_key`,
    [t.tenantId, t.probeId],
  );
  return Object.fromEntries(r.rows.map((row) => [row.rule_key, row.n]));
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
