import { readdir, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { chIdent, chSql, createClickHouse } from './clickhouse.ts';

const SQL_DIR = join(import.meta.dirname, 'sql');
export const CH_DIR = join(import.meta.dirname, 'clickhouse');
const FILE_RE = /^(\d{3})_([a-z0-9_]+)(?:\.(native|timescale))?\.sql$/;
const NO_TX = /^--\s*vigil:no-transaction\b/m;
// Any constant: serialises concurrent `migrate` runs (parallel test files, several nodes).
const LOCK_KEY = 746_147_201;

export interface MigrateResult {
  telemetryMode: 'timescaledb' | 'native';
  applied: string[];
  clickhouseApplied: string[];
}

interface Migration {
  version: string;
  file: string;
  sql: string;
}

export async function listMigrations(dir: string, variant: 'timescale' | 'native'): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => FILE_RE.test(f)).sort();
  const byVersion = new Map<string, string>();
  for (const f of files) {
    const m = FILE_RE.exec(f)!;
    const version = `${m[1]}_${m[2]}`;
    if (m[3] && m[3] !== variant) continue;
    if (byVersion.has(version)) throw new Error(`two migrations for ${version}`);
    byVersion.set(version, f);
  }
  return Promise.all(
    [...byVersion].map(async ([version, file]) => ({
      version,
      file,
      sql: await readFile(join(dir, file), 'utf8'),
    })),
  );
}

async function ensureDatabase(adminUrl: string, log?: Logger): Promise<void> {
  const url = new URL(adminUrl);
  const dbName = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  try {
    await client.connect();
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(dbName)}`);
      log?.info({ database: dbName }, 'created database');
    }
  } catch (err) {
    // A managed database may not allow connecting to `postgres`; the target may already exist.
    log?.debug({ err }, 'could not ensure database exists; continuing');
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function detectTimescale(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ available: boolean; preloaded: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available,
            current_setting('shared_preload_libraries') ~ 'timescaledb' AS preloaded`,
  );
  return Boolean(rows[0]?.available && rows[0]?.preloaded);
}

async function migratePostgres(
  config: Config,
  log?: Logger,
): Promise<Omit<MigrateResult, 'clickhouseApplied'>> {
  await ensureDatabase(config.DATABASE_URL, log);
  const client = new pg.Client({ connectionString: config.DATABASE_URL });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY, file text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    await client.query('REVOKE ALL ON schema_migrations FROM PUBLIC');
    const timescale = await detectTimescale(client);
    const done = new Map(
      (
        await client.query<{ version: string; checksum: string }>(
          'SELECT version, checksum FROM schema_migrations',
        )
      ).rows.map((r) => [r.version, r.checksum]),
    );
    const applied: string[] = [];
    for (const m of await listMigrations(SQL_DIR, timescale ? 'timescale' : 'native')) {
      const checksum = createHash('sha256').update(m.sql).digest('hex');
      if (done.has(m.version)) {
        if (done.get(m.version) !== checksum)
          log?.warn({ version: m.version }, 'applied migration has changed since');
        continue;
      }
      const transactional = !NO_TX.test(m.sql);
      try {
        if (transactional) await client.query('BEGIN');
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, file, checksum) VALUES ($1, $2, $3)', [
          m.version,
          m.file,
          checksum,
        ]);
        if (transactional) await client.query('COMMIT');
      } catch (err) {
        if (transactional) await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(`migration ${m.file} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(m.file);
      log?.info({ file: m.file }, 'applied migration');
    }
    // Passwords come from configuration, never from SQL files in the repository.
    for (const [role, password] of [
      ['vigil_app', config.VIGIL_DB_APP_PASSWORD],
      ['vigil_ingest', config.VIGIL_DB_INGEST_PASSWORD],
      ['vigil_worker', config.VIGIL_DB_WORKER_PASSWORD],
    ] as const) {
      await client.query(
        `ALTER ROLE ${client.escapeIdentifier(role)} PASSWORD ${client.escapeLiteral(password)}`,
      );
    }
    return { telemetryMode: timescale ? 'timescaledb' : 'native', applied };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

/** Split a DDL file into statements; our DDL has no semicolons inside literals. */
export function statements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('--'))
    .join('\n')
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
}

async function migrateClickHouse(config: Config, log?: Logger): Promise<string[]> {
  const db = chIdent(config.CLICKHOUSE_DATABASE);
  const ch = createClickHouse(config, null);
  try {
    await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    await ch.command({
      query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version String, checksum String, applied_at DateTime)
              ENGINE = MergeTree() ORDER BY version`,
    });
    const rs = await ch.query({
      query: `SELECT version FROM ${db}.schema_migrations`,
      format: 'JSONEachRow',
    });
    const done = new Set((await rs.json<{ version: string }>()).map((r) => r.version));
    const applied: string[] = [];
    for (const m of await listMigrations(CH_DIR, 'native')) {
      if (done.has(m.version)) continue;
      for (const stmt of statements(m.sql.replaceAll('{db}', db))) await ch.command({ query: stmt });
      const checksum = createHash('sha256').update(m.sql).digest('hex');
      const values = chSql`(${m.version}, ${checksum}, now())`;
      await ch.command({
        query: `INSERT INTO ${db}.schema_migrations (version, checksum, applied_at) VALUES ${values}`,
      });
      applied.push(m.file);
      log?.info({ file: m.file }, 'applied ClickHouse migration');
    }
    return applied;
  } finally {
    await ch.close();
  }
}

export async function migrate(config: Config, log?: Logger): Promise<MigrateResult> {
  const pgResult = await migratePostgres(config, log);
  const clickhouseApplied = await migrateClickHouse(config, log);
  return { ...pgResult, clickhouseApplied };
}
