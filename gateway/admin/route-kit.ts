import type { FastifyInstance, onRouteHookHandler } from 'fastify';
import type { Static, TObject, TSchema } from '@sinclair/typebox';
import { ErrorBody, IdParams, Page, VigilError, type PoolClient } from '../../schemas/mod.ts';
import { requireRole } from '../identity/mod.ts';
import { inTenant, type AdminDeps, type AdminPlugin } from './context.ts';
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

/** The onRequest hooks of a route: who may call it. */
export type Guard = ReturnType<typeof guards>['reader'];

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

/** Strict partial update: only the given columns, each bound as a parameter. */
function setClause(
  fields: Record<string, unknown>,
  columns: Record<string, string>,
  params: unknown[],
): string {
  const parts: string[] = [];
  for (const [field, column] of Object.entries(columns)) {
    if (fields[field] === undefined) continue;
    params.push(fields[field]);
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
  fields: Record<string, unknown>,
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

/** What a GET of one row or of a page of rows declares, besides its path. */
interface ReadSpec {
  guard: Guard;
  summary: string;
  /** The schema of one item as the API shows it; `show` maps a row to it. */
  response: TSchema;
}

/**
 * `GET <path>/:id`: one row loaded by `load` in the caller's tenant scope (so another tenant's
 * row is NOT_FOUND), shown by `show`.
 */
export function readOne<R>(
  app: Parameters<AdminPlugin>[0],
  deps: AdminDeps,
  path: string,
  spec: ReadSpec,
  load: (c: PoolClient, id: string) => Promise<R>,
  show: (row: R) => unknown,
): void {
  app.get(
    path,
    { ...spec.guard, schema: { summary: spec.summary, params: IdParams, response: { 200: spec.response } } },
    async (request) => show(await inTenant(deps, request, (c) => load(c, request.params.id))),
  );
}

/**
 * `GET <path>`: a newest-first page of `select` (everything before the WHERE clause), keyed on
 * `column`; `filter` adds the query's conditions, `check` runs first in the transaction.
 */
export function readPage<Q extends TObject, R extends { _k: string; id: string }>(
  app: Parameters<AdminPlugin>[0],
  deps: AdminDeps,
  path: string,
  spec: ReadSpec & {
    querystring: Q;
    column: string;
    idColumn?: string;
    select: string;
    filter?: (q: Static<Q>, w: Where) => void;
    check?: (c: PoolClient, q: Static<Q>) => Promise<void>;
  },
  show: (row: R) => unknown,
): void {
  app.get(
    path,
    {
      ...spec.guard,
      schema: {
        summary: spec.summary,
        querystring: spec.querystring,
        response: { 200: Page(spec.response) },
      },
    },
    async (request) => {
      const q = request.query as Static<Q> & { cursor?: string; limit?: number };
      const list = new NewestFirst(q, spec.column, spec.idColumn);
      spec.filter?.(q, list.where);
      return inTenant(deps, request, async (c) => {
        await spec.check?.(c, q);
        return list.fetch(c, spec.select, show);
      });
    },
  );
}
