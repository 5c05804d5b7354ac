import pg from 'pg';
import type { Config } from './config.ts';
import { VigilError } from './errors.ts';
import { roleUrl } from './config.ts';
import { scopedQuery, type Statement } from './pg-wire.ts';

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
  // A client losing its connection (a database restart) must not crash the process. Idle ones
  // are the pool's (it re-emits, ignored here); a checked-out one emits on itself, where no one
  // listens by default. The query on it fails, its release drops it, the pool opens a new one.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
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

/** Options of `withTenant`. */
export interface TenantTxOptions {
  /**
   * Only reads (GET requests): PostgreSQL refuses any write (`transaction_read_only`), and each
   * statement runs as its own transaction instead of one BEGIN…COMMIT around them all (see
   * `withTenant`).
   */
  readOnly?: boolean;
}

const SET_SCOPE = "SELECT set_config('app.tenant_id', $1, true), set_config('app.site_ids', $2, true)";
const SET_SCOPE_READ_ONLY = `${SET_SCOPE}, set_config('transaction_read_only', 'on', true)`;

/** `(text, values?)` or `{ text, values }`: the ways Vigil calls `query`. */
function queryArgs(args: unknown[]): Statement {
  const [first, second] = args;
  if (typeof first === 'string' && args.length <= 2 && (second === undefined || Array.isArray(second)))
    return { text: first, values: (second as unknown[] | undefined) ?? [] };
  if (first && typeof first === 'object' && args.length === 1) {
    const c = first as { text?: unknown; values?: unknown; submit?: unknown; name?: unknown };
    if (
      typeof c.text === 'string' &&
      c.submit === undefined &&
      c.name === undefined &&
      (c.values === undefined || Array.isArray(c.values))
    )
      return { text: c.text, values: (c.values as unknown[] | undefined) ?? [] };
  }
  // Streams, cursors and callbacks would bypass the scope: refused.
  throw new VigilError('INTERNAL', 'unsupported query call in a tenant-scoped transaction');
}

/**
 * Run `fn` with the caller's tenant (and site restriction) set with `set_config(..., true)`:
 * transaction-local, so a pooled connection never carries one request's tenant into the next.
 * RLS policies read it; without it they match nothing.
 *
 * Round trips (each one a write, a wake-up of the backend and a read — most of a small
 * request's cost on a loaded machine):
 * - default: one transaction. BEGIN and the scope go in the same write as the first query
 *   `fn` makes; then COMMIT. Two round trips for a one-query request, as many more as `fn`
 *   makes queries.
 * - `readOnly`: no BEGIN/COMMIT. Each query goes in one write with the scope (and read-only
 *   mode) ahead of it and one Sync after: PostgreSQL runs them as one implicit transaction,
 *   committed at the Sync, which is as far as `set_config(..., true)` lasts. One round trip
 *   per query. Statements share no transaction — under READ COMMITTED each statement of a
 *   transaction takes its own snapshot anyway; what differs is `now()` and locks, which reads
 *   do not rely on.
 * `fn` gets the client with `query(text, values?)`; nothing else may query through it.
 */
export async function withTenant<T>(
  pool: Pool,
  scope: TenantScope,
  fn: (c: PoolClient) => Promise<T>,
  opts: TenantTxOptions = {},
): Promise<T> {
  const client = await pool.connect();
  const values = [scope.tenantId, siteIdsSetting(scope.siteIds)];
  let begun = false;
  const query = (...args: unknown[]): Promise<pg.QueryResult> => {
    let sent: Promise<pg.QueryResult>;
    try {
      sent = scopedQuery(
        client,
        queryArgs(args),
        opts.readOnly
          ? [{ text: SET_SCOPE_READ_ONLY, values }]
          : begun
            ? []
            : [
                { text: 'BEGIN', values: [] },
                { text: SET_SCOPE, values },
              ],
      );
    } catch (err) {
      // Refused before anything was sent: the next query still opens the scope.
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    // From here on BEGIN and the scope are on their way, ahead of anything queued after.
    if (!opts.readOnly) begun = true;
    return sent;
  };
  const scoped = new Proxy(client, {
    get(target, prop) {
      if (prop === 'query') return query;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  try {
    const result = await fn(scoped);
    if (begun) await client.query('COMMIT');
    return result;
  } catch (err) {
    if (begun) await client.query('ROLLBACK').catch(() => undefined);
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
