import pg from 'pg';
import type { Config } from './config.ts';
import { roleUrl } from './config.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// bigint (int8) counts come back as strings by default; every count we read fits in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type DbRole = 'admin' | 'app' | 'ingest' | 'worker';

export function databaseUrlFor(config: Config, role: DbRole): string {
  switch (role) {
    case 'admin':
      return config.DATABASE_URL;
    case 'app':
      return roleUrl(config.DATABASE_URL, 'vigil_app', config.VIGIL_DB_APP_PASSWORD);
    case 'ingest':
      return roleUrl(config.DATABASE_URL, 'vigil_ingest', config.VIGIL_DB_INGEST_PASSWORD);
    case 'worker':
      return roleUrl(config.DATABASE_URL, 'vigil_worker', config.VIGIL_DB_WORKER_PASSWORD);
  }
}

export function createPool(config: Config, role: DbRole, max = 10): Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrlFor(config, role),
    max,
    application_name: `vigil-${role}`,
    idleTimeoutMillis: 30_000,
    // Bounded everything: a hung server or a lock held elsewhere must surface as an error
    // (retried by the caller), never as a partition or request stalled forever.
    connectionTimeoutMillis: config.PG_CONNECT_TIMEOUT_MS,
    statement_timeout: config.PG_STATEMENT_TIMEOUT_MS,
    lock_timeout: config.PG_STATEMENT_TIMEOUT_MS,
    query_timeout: config.PG_STATEMENT_TIMEOUT_MS + 5_000,
    idle_in_transaction_session_timeout: config.PG_STATEMENT_TIMEOUT_MS * 2,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return pool;
}

export interface TenantScope {
  tenantId: string;
  /** Site restriction of the caller; undefined or null = all sites of the tenant; [] = no site. */
  siteIds?: readonly string[] | null;
}

/**
 * The site list set for a restricted caller with no sites. `vigil_current_sites()` reads an empty
 * app.site_ids as "no restriction", so [] must not become ''. The nil UUID is no site's id (006
 * forbids it), so this restriction matches nothing: deny by default, whatever let an empty list
 * through (a token minted before the API refused one, a caller's mistake).
 */
export const NO_SITE = '00000000-0000-0000-0000-000000000000';

/** The value of app.site_ids for a scope. */
export function siteIdsSetting(siteIds: readonly string[] | null | undefined): string {
  if (!siteIds) return '';
  return siteIds.length === 0 ? NO_SITE : siteIds.join(',');
}

/**
 * Run `fn` in a transaction whose tenant (and site restriction) is set with
 * `set_config(..., true)`: transaction-local, so a pooled connection never carries one
 * request's tenant into the next.
 */
export async function withTenant<T>(
  pool: Pool,
  scope: TenantScope,
  fn: (c: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT set_config('app.tenant_id', $1, true), set_config('app.site_ids', $2, true)", [
      scope.tenantId,
      siteIdsSetting(scope.siteIds),
    ]);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** A transaction with no tenant set (system roles, or to prove RLS hides everything). */
export async function withTransaction<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
