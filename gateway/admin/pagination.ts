import { VigilError } from '../../schemas/mod.ts';

/**
 * Keyset pagination. The cursor is opaque to clients: base64url of [sort key, id] from the
 * last item of the previous page. Timestamps travel as integer microseconds since the epoch,
 * so the round trip is exact (a JavaScript Date would drop the microseconds).
 */
export interface Cursor {
  key: string;
  id: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT_RE = /^-?[0-9]{1,19}$/;

export function encodeCursor(key: string, id: string): string {
  return Buffer.from(JSON.stringify([key, id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined, idKind: 'uuid' | 'int' = 'uuid'): Cursor | null {
  if (cursor === undefined) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2) {
      const [key, id] = v as unknown[];
      if (typeof key === 'string' && INT_RE.test(key) && typeof id === 'string') {
        if (idKind === 'uuid' ? UUID_RE.test(id) : INT_RE.test(id)) return { key, id };
      }
    }
  } catch {
    // fall through: any malformed cursor gets the same answer
  }
  throw new VigilError('VALIDATION_FAILED', 'querystring/cursor: invalid cursor');
}

/** SQL expression of a timestamptz column as its exact sort key (text of integer µs). */
export function timeKey(column: string): string {
  return `(extract(epoch from ${column}) * 1000000)::bigint::text`;
}

/** SQL expression turning a bound µs-since-epoch parameter back into a timestamptz. */
export function fromTimeKey(param: string): string {
  return `(timestamptz 'epoch' + ${param}::bigint * interval '1 microsecond')`;
}

/** Collects WHERE conditions with their bound parameters. */
export class Where {
  readonly params: unknown[] = [];
  readonly #conds: string[] = [];

  /** Bind a value; returns its parameter marker (`$n`). */
  p(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  and(cond: string): this {
    this.#conds.push(cond);
    return this;
  }

  /** Keyset condition for `ORDER BY <column> DESC, id DESC`. */
  before(cursor: Cursor | null, column: string, idColumn = 'id'): this {
    if (cursor)
      this.and(`(${column}, ${idColumn}) < (${fromTimeKey(this.p(cursor.key))}, ${this.p(cursor.id)}::uuid)`);
    return this;
  }

  get sql(): string {
    return this.#conds.length ? `WHERE ${this.#conds.join(' AND ')}` : '';
  }
}

/** Rows were fetched with LIMIT limit + 1: trim, and derive the next cursor from the last kept row. */
export function page<R extends { _k: string; id: string | number }, T>(
  rows: R[],
  limit: number,
  map: (r: R) => T,
): { items: T[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept[kept.length - 1];
  return { items: kept.map(map), nextCursor: more && last ? encodeCursor(last._k, String(last.id)) : null };
}
