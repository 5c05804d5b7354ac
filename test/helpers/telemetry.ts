/**
 * Telemetry storage helpers that hide which variant the test database runs (ops/test.sh runs
 * the database tests on plain PostgreSQL and again on TimescaleDB).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Pool } from '../../schemas/mod.ts';

export type TelemetryMode = 'timescaledb' | 'native';

export async function telemetryMode(db: Pool): Promise<TelemetryMode> {
  const { rows } = await db.query("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'");
  return rows.length ? 'timescaledb' : 'native';
}

const DAY = 86_400_000;

/**
 * Bring the hourly and daily rollups of [from, to) up to date, as the maintenance job or
 * TimescaleDB's refresh policies would (the window is widened to whole days).
 */
export async function refreshRollups(db: Pool, from: Date, to: Date): Promise<void> {
  const start = new Date(Math.floor(from.getTime() / DAY) * DAY);
  const end = new Date(Math.ceil(to.getTime() / DAY) * DAY);
  if ((await telemetryMode(db)) === 'timescaledb') {
    for (const view of ['telemetry_hourly', 'telemetry_daily']) {
      await db.query(`CALL refresh_continuous_aggregate('${view}', $1::timestamptz, $2::timestamptz)`, [
        start,
        end,
      ]);
    }
  } else {
    await db.query('SELECT telemetry_refresh_rollups($1, $2)', [start, end]);
  }
}

/**
 * A database of its own on the test server, migrated by whoever connects first (the fixtures
 * do): for tests that change what every other test would see (a failing job, a constraint).
 */
export async function scratchDatabase(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `vigil_scratch_${randomBytes(4).toString('hex')}`;
  const admin = new URL(baseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * Every relation that holds telemetry or its rollups, by catalog: the table and its partitions
 * (native), or the hypertable, its chunks, its compressed hypertable and compressed chunks,
 * each continuous aggregate with its materialisation hypertable, chunks and internal views.
 */
export async function telemetryRelations(db: Pool): Promise<string[]> {
  const native = `SELECT format('%I.%I', n.nspname, c.relname) AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'telemetry'::regclass)
       OR (n.nspname = 'public' AND c.relname IN ('telemetry', 'telemetry_hourly', 'telemetry_daily'))`;
  const timescale = `WITH caggs AS (
      SELECT * FROM _timescaledb_catalog.continuous_agg
      WHERE user_view_schema = 'public' AND user_view_name IN ('telemetry_hourly', 'telemetry_daily')),
    hts AS (
      SELECT h.id, h.schema_name, h.table_name FROM _timescaledb_catalog.hypertable h
      WHERE (h.schema_name, h.table_name) = ('public', 'telemetry')
         OR h.id IN (SELECT compressed_hypertable_id FROM _timescaledb_catalog.hypertable
                     WHERE (schema_name, table_name) = ('public', 'telemetry'))
         OR h.id IN (SELECT mat_hypertable_id FROM caggs))
    SELECT format('%I.%I', schema_name, table_name) AS name FROM hts
    UNION SELECT format('%I.%I', c.schema_name, c.table_name) FROM _timescaledb_catalog.chunk c
          WHERE c.hypertable_id IN (SELECT id FROM hts)
    UNION SELECT format('%I.%I', user_view_schema, user_view_name) FROM caggs
    UNION SELECT format('%I.%I', partial_view_schema, partial_view_name) FROM caggs
    UNION SELECT format('%I.%I', direct_view_schema, direct_view_name) FROM caggs`;
  const sql = (await telemetryMode(db)) === 'timescaledb' ? timescale : native;
  const { rows } = await db.query<{ name: string }>(`${sql} ORDER BY 1`);
  return rows.map((r) => r.name);
}

/**
 * The SQLSTATE the app role gets reading `name`. 42501 everywhere — except that TimescaleDB's
 * planner fails on the (empty) root of the compressed hypertable before the executor checks
 * permissions (XX001); it has no grant either, which `appCanSelect` shows.
 */
export function refusedCodes(name: string): string[] {
  return /\._compressed_hypertable_\d+$/.test(name) ? ['42501', 'XX001'] : ['42501'];
}

export async function appCanSelect(db: Pool, name: string): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>(
    "SELECT has_table_privilege('vigil_app', $1, 'SELECT') AS ok",
    [name],
  );
  return rows[0]?.ok ?? true;
}
