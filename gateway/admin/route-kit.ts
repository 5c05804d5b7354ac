import type { FastifyInstance, onRouteHookHandler } from 'fastify';
import { ErrorBody, VigilError, type PoolClient } from '../../schemas/mod.ts';
import { requireRole } from '../identity/mod.ts';
import type { AdminPlugin } from './context.ts';
import { Where, decodeCursor, page } from './pagination.ts';

/**
 * Route options for each minimum role: authenticate, then check the role, both before the body
 * is parsed. Spread one into a route's options (`{ ...guard.reader, schema }`).
 */
export function guards(app: FastifyInstance) {
  return {
    reader: { onRequest: [app.authenticate, requireRole('viewer')] },
    operator: { onRequest: [app.authenticate, requireRole('operator')] },
    admin: { onRequest: [app.authenticate, requireRole('tenant_admin')] },
  };
}

/** Every route documents the one error body for every failure status. */
const errorResponses = { '4xx': ErrorBody, '5xx': ErrorBody } as const;
const bearer = [{ bearerAuth: [] }];

/**
 * A resource's routes, documented alike: every route declared inside gets the resource's
 * OpenAPI tag and the error body for every 4xx/5xx status, and, when it authenticates
 * (`app.authenticate` among its onRequest hooks), the bearer security requirement — so the
 * document follows the guard instead of repeating it. A route's own schema fields win.
 *
 *   export const siteRoutes = resource('sites', async (app, { deps }) => { app.get(…) });
 */
export function resource(tag: string, routes: AdminPlugin): AdminPlugin {
  return async (app, opts) => {
    const document: onRouteHookHandler = (route) => {
      const schema = route.schema ?? {};
      const authenticated = [route.onRequest ?? []].flat().includes(app.authenticate);
      route.schema = {
        tags: [tag],
        ...(authenticated ? { security: bearer } : {}),
        ...schema,
        response: { ...(schema.response as object | undefined), ...errorResponses },
      };
    };
    app.addHook('onRoute', document);
    await routes(app, opts);
  };
}

/**
 * A loader of one row by id: `SELECT <columns> FROM <table> WHERE id = $1`, optionally locked.
 * RLS decides visibility, so a row of another tenant or site is NOT_FOUND like a missing one.
 * `table` and `columns` are the caller's constants, never request input.
 */
export function byId<R extends { id: string }>(
  table: string,
  columns: string,
  notFound: string,
): (c: PoolClient, id: string, lock?: boolean) => Promise<R> {
  return async (c, id, lock = false) => {
    const { rows } = await c.query<R>(
      `SELECT ${columns} FROM ${table} WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [id],
    );
    const row = rows[0];
    if (!row) throw new VigilError('NOT_FOUND', notFound);
    return row;
  };
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
  async fetch<R extends { _k: string; id: string }, T>(
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
