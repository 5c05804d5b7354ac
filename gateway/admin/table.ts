import { VigilError, type PoolClient } from '../../schemas/mod.ts';
import { Where, decodeCursor, page } from './pagination.ts';

/** A row as the API pages it: its id, and its sort key as exact text (see `timeKey`). */
export interface Keyed {
  id: string;
  _k: string;
}

/** How a row is read when its table alone cannot show it (a join or a subquery adds columns). */
export interface JoinedRead {
  /** Everything after FROM: the table under an alias, and any joins. */
  from: string;
  /** The id column as the select names it (`e.id`). */
  idColumn: string;
  /** The lock a change takes (`FOR UPDATE OF e`). */
  lock: string;
}

/**
 * One table as a resource reads and writes it, the one place that names the table, the columns
 * the API shows and the message of its NOT_FOUND. RLS decides visibility, so a row of another
 * tenant or site is NOT_FOUND like a missing one. Names and columns are the caller's constants,
 * never request input; every value is a bound parameter.
 */
export class Table<R extends { id: string }> {
  /** `SELECT <columns> FROM <table>`: what lists and lookups by id read. */
  readonly select: string;
  readonly #idColumn: string;
  readonly #lock: string;
  readonly #joined: boolean;

  constructor(
    readonly name: string,
    readonly columns: string,
    readonly notFound: string,
    joined?: JoinedRead,
  ) {
    this.select = `SELECT ${columns} FROM ${joined?.from ?? name}`;
    this.#idColumn = joined?.idColumn ?? 'id';
    this.#lock = joined?.lock ?? 'FOR UPDATE';
    this.#joined = joined !== undefined;
  }

  /** One row by id, locked for the transaction's change when `lock`. */
  readonly get = async (c: PoolClient, id: string, lock = false): Promise<R> => {
    const { rows } = await c.query<R>(
      `${this.select} WHERE ${this.#idColumn} = $1${lock ? ` ${this.#lock}` : ''}`,
      [id],
    );
    const row = rows[0];
    if (!row) throw new VigilError('NOT_FOUND', this.notFound);
    return row;
  };

  /**
   * Strict partial update: the fields of `fields` that `columns` maps (field → column) and are
   * not undefined, each bound, plus `updated_at`. A joined read cannot come back from RETURNING,
   * so it is read again.
   */
  async update(c: PoolClient, id: string, fields: unknown, columns: Record<string, string>): Promise<R> {
    if (!this.#joined) return updateById<R>(c, this.name, id, fields, columns, this.columns);
    await updateById(c, this.name, id, fields, columns, 'id');
    return this.get(c, id);
  }

  async delete(c: PoolClient, id: string): Promise<void> {
    await c.query(`DELETE FROM ${this.name} WHERE id = $1`, [id]);
  }
}

/**
 * One newest-first page keyed on a timestamptz column (id breaks ties). The cursor is decoded
 * on construction, so a bad cursor is refused before any transaction; add filters to `where`,
 * then `fetch` within the transaction.
 */
export class NewestFirst {
  readonly where: Where;
  readonly limit: number;
  readonly #column: string;
  readonly #idColumn: string;

  constructor(q: { cursor?: string; limit?: number }, column: string, idColumn = 'id') {
    this.limit = q.limit ?? 50;
    this.where = new Where().before(decodeCursor(q.cursor), column, idColumn);
    this.#column = column;
    this.#idColumn = idColumn;
  }

  /** `select` is everything before the WHERE clause (`SELECT … FROM …`), from constants only. */
  async fetch<R extends Keyed, T>(
    c: PoolClient,
    select: string,
    map: (r: R) => T,
  ): Promise<{ items: T[]; nextCursor: string | null }> {
    const w = this.where;
    const { rows } = await c.query<R>(
      `${select} ${w.sql} ORDER BY ${this.#column} DESC, ${this.#idColumn} DESC LIMIT ${w.p(this.limit + 1)}`,
      w.params,
    );
    return page(rows, this.limit, map);
  }
}

/** Strict partial update: only the given columns, each bound as a parameter. */
function setClause(fields: unknown, columns: Record<string, string>, params: unknown[]): string {
  // A validated request body: always an object; anything else sets nothing but updated_at.
  const values = new Map<string, unknown>(
    typeof fields === 'object' && fields !== null ? Object.entries(fields) : [],
  );
  const parts: string[] = [];
  for (const [field, column] of Object.entries(columns)) {
    const value = values.get(field);
    if (value === undefined) continue;
    params.push(value);
    parts.push(`${column} = $${params.length}`);
  }
  parts.push('updated_at = now()');
  return parts.join(', ');
}

/**
 * `UPDATE <table> SET … WHERE id = $1 RETURNING <returning>`: the fields of `fields` that
 * `columns` maps (field → column) and are not undefined, each bound, plus `updated_at`. `table`,
 * `columns` and `returning` are the caller's constants, never request input.
 */
export async function updateById<R extends { id: string }>(
  c: PoolClient,
  table: string,
  id: string,
  fields: unknown,
  columns: Record<string, string>,
  returning: string,
): Promise<R> {
  const params: unknown[] = [id];
  const set = setClause(fields, columns, params);
  const { rows } = await c.query<R>(
    `UPDATE ${table} SET ${set} WHERE id = $1 RETURNING ${returning}`,
    params,
  );
  return rows[0]!;
}
