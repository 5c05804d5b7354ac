import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import pg from 'pg';
import type { Config } from './config.ts';
import { VigilError } from './errors.ts';
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

/** node-postgres' own mapping of JS values to parameter text (Dates, arrays, JSON, Buffers). */
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as {
  prepareValue(value: unknown): unknown;
};

/** What `ScopedQuery` uses of node-postgres' connection (pg/lib/connection.js). */
interface WireConnection {
  stream: { cork?(): void; uncork?(): void };
  parse(msg: { text: string; name: string; types: unknown[] }): void;
  bind(msg: { portal: string; statement: string; values: unknown[] }): void;
  describe(msg: { type: 'P' | 'S'; name: string }): void;
  execute(msg: { portal: string; rows: number }): void;
  close(msg: { type: 'P' | 'S'; name: string }): void;
  sync(): void;
}

/** The parts of node-postgres' Query (pg/lib/query.js) that `ScopedQuery` builds on. */
interface WireQuery {
  callback?: (err: Error | null, result: pg.QueryResult) => void;
  handleDataRow(msg: unknown): void;
  handleCommandComplete(msg: unknown, connection: WireConnection): void;
  handleError(err: Error, connection: WireConnection): void;
  handleReadyForQuery(connection: WireConnection): void;
}

const BaseQuery = pg.Query as unknown as new (text: string) => WireQuery;

/** Prepared statements kept per connection; beyond this, statements go unnamed (planned each time). */
const MAX_PREPARED = 256;

/**
 * Names of the statements prepared on each connection, known good: the last query that used
 * them completed. A name is dropped after any error (it may not exist, or its plan may be
 * stale after DDL) and prepared again, after a Close, the next time.
 */
const prepared = new WeakMap<WireConnection, Set<string>>();
const statementNames = new Map<string, string>();

function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `vigil_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
    // The texts are the application's own SQL (values are parameters): a bounded set.
    if (statementNames.size >= 4 * MAX_PREPARED) statementNames.clear();
    statementNames.set(text, name);
  }
  return name;
}

interface Statement {
  text: string;
  values: unknown[];
}

/**
 * One round trip for a query and the statements that set its scope up: Parse (once per
 * connection: statements are prepared under a name derived from their text, so PostgreSQL
 * plans them once, not on every request), Bind and Execute of each, a Describe for the query's
 * rows, and one Sync — pg-protocol's extended query flow, written at once. The rows and
 * completions of the prefix statements are not the caller's and are skipped. An error in any
 * statement makes the server skip the rest up to the Sync, so the query never runs unscoped.
 */
class ScopedQuery extends BaseQuery {
  readonly #statements: Statement[];
  /** Parameter values as text, mapped up front: a value that cannot be sent throws here. */
  readonly #mapped: unknown[][];
  #pending: number;
  #names: string[] = [];
  #connection: WireConnection | null = null;

  constructor(query: Statement, prefix: Statement[]) {
    super(query.text);
    this.#statements = [...prefix, query];
    this.#mapped = this.#statements.map((st) => st.values.map((v) => prepareValue(v)));
    this.#pending = prefix.length;
  }

  submit(connection: WireConnection): null {
    const mapped = this.#mapped;
    let known = prepared.get(connection);
    if (!known) prepared.set(connection, (known = new Set()));
    this.#connection = connection;
    // Corked: all messages leave in one write, as node-postgres does for one query.
    connection.stream.cork?.();
    try {
      this.#statements.forEach((st, i) => {
        let name = statementName(st.text);
        if (!known.has(name)) {
          if (known.size + this.#names.length >= MAX_PREPARED) name = '';
          // Closing a statement that does not exist is no error; one left by a failed query is gone.
          else connection.close({ type: 'S', name });
          connection.parse({ text: st.text, name, types: [] });
        }
        if (name) this.#names.push(name);
        connection.bind({ portal: '', statement: name, values: mapped[i]! });
        if (i === this.#statements.length - 1) connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '', rows: 0 });
      });
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  override handleDataRow(msg: unknown): void {
    if (this.#pending === 0) super.handleDataRow(msg);
  }

  override handleCommandComplete(msg: unknown, connection: WireConnection): void {
    if (this.#pending > 0) this.#pending--;
    else super.handleCommandComplete(msg, connection);
  }

  override handleError(err: Error, connection: WireConnection): void {
    const known = this.#connection && prepared.get(this.#connection);
    for (const name of this.#names) known?.delete(name);
    super.handleError(err, connection);
  }

  override handleReadyForQuery(connection: WireConnection): void {
    // Reached without an error: every statement of this round trip parsed and ran.
    const known = this.#connection && prepared.get(this.#connection);
    for (const name of this.#names) known?.add(name);
    super.handleReadyForQuery(connection);
  }
}

function send(client: PoolClient, q: ScopedQuery): Promise<pg.QueryResult> {
  return new Promise((resolve, reject) => {
    q.callback = (err, result) => (err ? reject(err) : resolve(result));
    client.query(q as unknown as pg.Submittable);
  });
}

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
    let q: ScopedQuery;
    try {
      q = new ScopedQuery(
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
    return send(client, q);
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
