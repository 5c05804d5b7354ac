/**
 * Storage figures (issue 9), each next to its baseline from the same run on the same machine:
 *
 * 1. ClickHouse inserts, rows/s: Vigil's `telemetry` table (with the hourly and daily
 *    materialised views it feeds) against a bare copy of the same table without views, both
 *    through @clickhouse/client in the sink's batch size.
 * 2. Rollup query latency over 30 days × 1,000 units, per PostgreSQL variant: the plain one
 *    (DATABASE_URL) and, when the private TimescaleDB cluster runs, the TimescaleDB one
 *    (TIMESCALE_DATABASE_URL, which the npm script starts). The queries are the REST
 *    API's (one unit hourly over 7 days, one 50-unit site daily over 30 days), as the app role
 *    through the tenant-filtered views.
 *
 *   npm run bench:storage     (BENCH_CH_ROWS=200000 BENCH_UNITS=1000 BENCH_STEP_MIN=10 BENCH_EXPLAIN=0)
 *
 * Each run works in databases of its own and drops them afterwards.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { toClickHouseRow } from '../actors/mod.ts';
import { siteRollups, unitRollups } from '../gateway/admin/rollups.ts';
import {
  createClickHouse,
  createPool,
  loadConfig,
  migrate,
  withTenant,
  type PoolClient,
} from '../schemas/mod.ts';
import { rate, summarize } from './lib/stats.ts';

const CH_ROWS = Number(process.env['BENCH_CH_ROWS'] ?? 200_000);
const CH_BATCH = 1000;
const UNITS = Number(process.env['BENCH_UNITS'] ?? 1000);
const STEP_MIN = Number(process.env['BENCH_STEP_MIN'] ?? 10);
const DAYS = 30;
const QUERY_RUNS = Number(process.env['BENCH_QUERY_RUNS'] ?? 30);
// Each figure is measured this many times over the same loaded data and quoted as the median
// (loading a month of a fleet is setup, not what is measured).
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const UNITS_PER_SITE = 50;
// BENCH_EXPLAIN=1 prints the site daily query's plan on each variant (where its time goes).
const EXPLAIN = process.env['BENCH_EXPLAIN'] === '1';

// Dropping a database with materialised views can take ClickHouse a while on a busy machine.
const SLOW_CH = { CLICKHOUSE_REQUEST_TIMEOUT_MS: 300_000 };
const base = loadConfig(process.env, SLOW_CH);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const list = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(', ');
const suffix = randomBytes(3).toString('hex');

async function clickhouseInserts(): Promise<void> {
  const config = loadConfig(process.env, { ...SLOW_CH, CLICKHOUSE_DATABASE: `bench_${suffix}` });
  await migrate(config);
  const ch = createClickHouse(config);
  try {
    await ch.command({ query: 'CREATE TABLE telemetry_bare AS telemetry' });
    const tenantId = randomUUID();
    const units = Array.from({ length: 1000 }, () => randomUUID());
    const now = Date.now();
    const rows = Array.from({ length: CH_ROWS }, (_, i) =>
      toClickHouseRow({
        reading: {
          tenantId,
          equipmentId: units[i % units.length]!,
          ts: now - i * 1000,
          temperature: -18 + (i % 7),
          door: i % 11 === 0,
          compressor: i % 3 !== 0,
        },
        receivedAt: now,
        partition: null,
      }),
    );
    const measure = async (table: string): Promise<number> => {
      const started = performance.now();
      for (let i = 0; i < rows.length; i += CH_BATCH) {
        await ch.insert({ table, values: rows.slice(i, i + CH_BATCH), format: 'JSONEachRow' });
      }
      return rate(rows.length, performance.now() - started);
    };
    // Interleaved rounds, so a busy moment on the machine hits both sides alike.
    const bare: number[] = [];
    const vigil: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      bare.push(await measure('telemetry_bare'));
      vigil.push(await measure('telemetry'));
    }
    const b = median(bare);
    const v = median(vigil);
    console.log(`ClickHouse inserts, ${CH_ROWS} rows in batches of ${CH_BATCH}, median of ${ROUNDS} rounds:`);
    console.log(`  bare client, table without views: ${b.toFixed(0)} rows/s  (${list(bare)})`);
    console.log(
      `  Vigil telemetry (+ hourly and daily views): ${v.toFixed(0)} rows/s (${(v / b).toFixed(2)})  (${list(vigil)})`,
    );
  } finally {
    // A busy server may take longer than the client's timeout to drop: say so, go on.
    await ch
      .command({ query: `DROP DATABASE IF EXISTS bench_${suffix}` })
      .catch((err: unknown) => console.log(`  (could not drop bench_${suffix}: ${String(err)})`));
    await ch.close();
  }
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function rollupLatency(label: string, serverUrl: string): Promise<void> {
  const name = `bench_${suffix}`;
  const adminUrl = new URL(serverUrl);
  adminUrl.pathname = '/postgres';
  await adminQuery(adminUrl.toString(), `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  // Loading and rolling up a month of a fleet are long statements: an hour's timeout here.
  const config = loadConfig(process.env, {
    ...SLOW_CH,
    DATABASE_URL: url.toString(),
    CLICKHOUSE_DATABASE: `bench_${suffix}`,
    PG_STATEMENT_TIMEOUT_MS: 3_600_000,
  });
  try {
    await migrate(config);
    const admin = createPool(config, 'admin', 2);
    const app = createPool(config, 'app', 2);
    try {
      const tenantId = randomUUID();
      await admin.query("INSERT INTO tenants (id, name, slug) VALUES ($1, 'bench', $2)", [
        tenantId,
        `bench-${suffix}`,
      ]);
      const sites = Math.ceil(UNITS / UNITS_PER_SITE);
      const { rows: siteRows } = await admin.query<{ id: string }>(
        `INSERT INTO sites (tenant_id, name) SELECT $1, 'site ' || g FROM generate_series(1, $2) g RETURNING id`,
        [tenantId, sites],
      );
      const siteIds = siteRows.map((r) => r.id);
      await admin.query(
        `INSERT INTO equipment (tenant_id, site_id, name)
         SELECT $1, ($2::uuid[])[1 + (g - 1) / $4], 'unit ' || g FROM generate_series(1, $3) g`,
        [tenantId, siteIds, UNITS, UNITS_PER_SITE],
      );
      const { rows: unitRows } = await admin.query<{ id: string }>(
        'SELECT id FROM equipment WHERE tenant_id = $1',
        [tenantId],
      );
      const mode = (await admin.query("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).rowCount
        ? 'timescaledb'
        : 'native';
      const end = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
      const start = new Date(end.getTime() - DAYS * 86_400_000);
      if (mode === 'native') {
        await admin.query('SELECT telemetry_ensure_partitions($1::date, $2::date)', [start, end]);
      }
      const loadStarted = performance.now();
      // One day at a time, so each statement stays a bounded transaction.
      for (let d = 0; d < DAYS; d++) {
        const from = new Date(start.getTime() + d * 86_400_000);
        await admin.query(
          `INSERT INTO telemetry (tenant_id, equipment_id, ts, temperature, door, compressor, setpoint)
           SELECT $1, e.id, ts, -18 + random() * 4, random() < 0.05, random() < 0.6, -18
           FROM equipment e, generate_series($2::timestamptz, $2::timestamptz + interval '1 day' - interval '1 second',
                                             make_interval(mins => $3)) ts
           WHERE e.tenant_id = $1`,
          [tenantId, from, STEP_MIN],
        );
      }
      if (mode === 'timescaledb') {
        for (const view of ['telemetry_hourly', 'telemetry_daily'])
          await admin.query(
            `CALL refresh_continuous_aggregate('${view}', $1::timestamptz, $2::timestamptz)`,
            [start, end],
          );
      } else {
        await admin.query('SELECT telemetry_maintain()');
      }
      const loadS = (performance.now() - loadStarted) / 1000;
      const { rows: counted } = await admin.query<{ n: string }>('SELECT count(*) AS n FROM telemetry');
      const time = async (query: (c: PoolClient) => Promise<unknown>): Promise<number[]> => {
        const samples: number[] = [];
        for (let i = 0; i < QUERY_RUNS; i++) {
          const started = performance.now();
          await withTenant(app, { tenantId, siteIds: null }, query, { readOnly: true });
          samples.push(performance.now() - started);
        }
        return samples;
      };
      // The REST API's own queries (GET /v1/equipment/:id/readings, GET /v1/sites/:id/readings).
      const unit = unitRows[Math.floor(unitRows.length / 2)]!.id;
      const hourly: number[] = [];
      const daily: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        hourly.push(
          summarize(
            await time((c) =>
              unitRollups(c, { bucket: '1h', from: new Date(end.getTime() - 7 * 86_400_000), to: end }, unit),
            ),
          ).p50,
        );
        daily.push(
          summarize(await time((c) => siteRollups(c, { bucket: '1d', from: start, to: end }, siteIds[0]!)))
            .p50,
        );
      }
      if (EXPLAIN) {
        const siteUnits = (
          await admin.query<{ id: string }>('SELECT id FROM equipment WHERE site_id = $1', [siteIds[0]])
        ).rows.map((r) => r.id);
        const { rows: plan } = await withTenant(
          app,
          { tenantId, siteIds: null },
          (c) =>
            c.query<{ 'QUERY PLAN': string }>(
              `EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM telemetry_daily_v
                WHERE bucket >= $1 AND bucket < $2 AND equipment_id = ANY($3::uuid[])
                ORDER BY bucket, equipment_id`,
              [start, end, siteUnits],
            ),
          { readOnly: true },
        );
        console.log(`  plan of the site daily query (${mode}):`);
        for (const r of plan) console.log(`    ${r['QUERY PLAN']}`);
      }
      console.log(
        `Rollups, ${label} (${mode}): ${UNITS} units × ${DAYS} days, a reading every ${STEP_MIN} min ` +
          `(${counted[0]?.n} rows, loaded and rolled up in ${loadS.toFixed(0)} s)`,
      );
      console.log(
        `  one unit, hourly, 7 days (168 buckets): p50 ${median(hourly).toFixed(1)} ms  (${list(hourly)})`,
      );
      console.log(
        `  one site (${UNITS_PER_SITE} units), daily, 30 days: p50 ${median(daily).toFixed(1)} ms  (${list(daily)})`,
      );
    } finally {
      await admin.end();
      await app.end();
    }
  } finally {
    await adminQuery(adminUrl.toString(), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

await clickhouseInserts();
await rollupLatency('DATABASE_URL', base.DATABASE_URL);
const timescale = process.env['TIMESCALE_DATABASE_URL'];
if (timescale) await rollupLatency('TIMESCALE_DATABASE_URL', timescale);
else
  console.log(
    'Rollups on TimescaleDB: skipped (no TimescaleDB cluster: the vendored build is not on this machine)',
  );
