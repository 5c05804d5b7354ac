/**
 * The one place Vigil drives node-postgres below its public API: a tenant-scoped query and the
 * statements that set its scope leave in one write and come back in one read (see
 * `withTenant` in pg.ts). node-postgres has no public way to put several statements before one
 * Sync; its pipeline mode (public, measured: docs/benchmarks.md) sends a Sync after each and
 * needs BEGIN/COMMIT around the scope, which cost a quarter to a half of the read throughput.
 *
 * What this uses of node-postgres' internals: `pg/lib/utils.js` prepareValue, the handler
 * methods of `pg.Query` (pg/lib/query.js) and the message methods of its connection
 * (pg/lib/connection.js). `pg` is pinned to the exact version in package.json; the contract
 * tests (test/unit/pg-wire.test.ts, test/integration/pg-scope.test.ts) fail on any other
 * version, and this module refuses to load when the methods it overrides are gone.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import pg from 'pg';

/** The node-postgres version this module was written and verified against. */
export const PG_WIRE_VERSION = '8.23.1';

export interface Statement {
  text: string;
  values: unknown[];
}

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

/**
 * Send `query` after `prefix` in one round trip on `client`; resolves with `query`'s result.
 * Throws at once (nothing sent) when a parameter value cannot be serialised.
 */
export function scopedQuery(
  client: pg.PoolClient,
  query: Statement,
  prefix: Statement[],
): Promise<pg.QueryResult> {
  const q = new ScopedQuery(query, prefix);
  return new Promise((resolve, reject) => {
    q.callback = (err, result) => (err ? reject(err) : resolve(result));
    client.query(q as unknown as pg.Submittable);
  });
}

/** The internals above, present on the installed node-postgres: missing ones are named. */
export function missingWireInternals(): string[] {
  const proto = BaseQuery.prototype as unknown as Record<string, unknown>;
  const missing = (['handleDataRow', 'handleCommandComplete', 'handleError', 'handleReadyForQuery'] as const)
    .filter((m) => typeof proto[m] !== 'function')
    .map((m) => `pg.Query#${m}`);
  if (typeof prepareValue !== 'function') missing.push('pg/lib/utils.js prepareValue');
  const conn = (pg as unknown as { Connection?: { prototype: Record<string, unknown> } }).Connection
    ?.prototype;
  for (const m of ['parse', 'bind', 'describe', 'execute', 'close', 'sync'])
    if (typeof conn?.[m] !== 'function') missing.push(`pg.Connection#${m}`);
  return missing;
}

const missing = missingWireInternals();
if (missing.length > 0)
  throw new Error(`node-postgres internals changed (pinned ${PG_WIRE_VERSION}): ${missing.join(', ')}`);
