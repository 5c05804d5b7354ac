import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
  onRouteHookHandler,
  RawRequestDefaultExpression,
  RawServerDefault,
  RouteGenericInterface,
} from 'fastify';
import type { ResolveFastifyRequestType } from 'fastify/types/type-provider.d.ts';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { KindGuard, Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { ErrorBody, IdParams, Page, type PoolClient } from '../../schemas/mod.ts';
import { requireRole, type Role } from '../identity/mod.ts';
import { audit as writeEntry, inTenant, type AdminDeps, type AdminPlugin } from './context.ts';
import type { Where } from './pagination.ts';
import { NewestFirst, type Keyed, type Table } from './table.ts';

/**
 * Who may call a route: a caller of at least that role, any caller with a valid token
 * (`authenticated`), or anyone (`public`: such a route bounds itself, by rate and body size).
 * Authentication and the role check run as onRequest hooks, before the body is parsed.
 */
export type Access = Role | 'authenticated' | 'public';

/**
 * Route options for each minimum role, to spread into a route's options (`{ ...guard.reader, schema }`).
 * Declarations name an `Access` instead; this stays for the routes not yet declared that way.
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

/** The onRequest hooks that enforce `access` (none for a public route). */
function guardOf(app: FastifyInstance, access: Access | Guard): { onRequest?: onRequestHookHandler[] } {
  if (typeof access !== 'string') return access;
  if (access === 'public') return {};
  if (access === 'authenticated') return { onRequest: [app.authenticate] };
  return { onRequest: [app.authenticate, requireRole(access)] };
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
 *   export const siteRoutes = resource('sites', async (app, { deps }) => { crud(app, deps, …) });
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

type App = Parameters<AdminPlugin>[0];

/** What a change was, as the control plane's notices name it. */
export type Change = 'created' | 'updated' | 'deleted';

/**
 * A request body as the type provider types it from schema `B`: what the hooks receive, so the
 * body passes from handler to hook without a cast.
 */
type Body<B extends TSchema> = ResolveFastifyRequestType<
  TypeBoxTypeProvider,
  { body: B },
  RouteGenericInterface
>['body'];

/** Who may call a route, and what the document says of it. */
interface RouteDoc {
  guard: Access | Guard;
  summary: string;
  description?: string;
}

/** The OpenAPI text of a route: a description only where one is given. */
const docOf = ({ summary, description }: Pick<RouteDoc, 'summary' | 'description'>) =>
  description ? { summary, description } : { summary };

/** `GET <path>`: newest first, keyed on `column`. */
interface ListSpec<Q extends TObject> extends RouteDoc {
  querystring: Q;
  column: string;
  idColumn?: string;
  /** Query field → column, for the filters that are plain equality. */
  equal?: Partial<Record<keyof Static<Q>, string>>;
  /** The other filters of the query. */
  filter?: (q: Static<Q>, w: Where) => void;
  /** Runs first in the transaction (a filter's site must be visible, say). */
  check?: (c: PoolClient, q: Static<Q>) => Promise<void>;
}

/** `GET <path>/:id`; `detail` when the answer is more than the row (computed in the same transaction). */
interface GetSpec<R> extends RouteDoc {
  detail?: { response: TSchema; load: (c: PoolClient, row: R) => Promise<unknown> };
}

/** `POST <path>` → 201. */
interface CreateSpec<R, B extends TObject, W extends R> extends RouteDoc {
  body: B;
  /** The 201 body's schema when it is more than the item. */
  response?: TSchema;
  /** Checks of the body alone, before any transaction. */
  validate?: (body: NoInfer<Body<B>>, request: FastifyRequest) => void;
  /** The resource's own INSERT (with its checks of what the body refers to). */
  insert: (c: PoolClient, body: NoInfer<Body<B>>, request: FastifyRequest) => Promise<W>;
  /** The 201 body when it is more than the item (a secret shown once, say). */
  reply?: (created: W) => unknown;
}

/** `PATCH <path>/:id`: a strict partial update by `columns` (field → column), or the resource's own `write`. */
type UpdateSpec<R, B extends TObject> = RouteDoc & {
  body: B;
  /** Checks of the body alone, before any transaction. */
  validate?: (body: NoInfer<Body<B>>) => void;
  /** Checks against the locked row, before the write. */
  check?: (c: PoolClient, before: R, body: NoInfer<Body<B>>) => void | Promise<void>;
} & (
    | { columns: Record<string, string>; fields?: (body: NoInfer<Body<B>>) => object }
    | { write: (c: PoolClient, id: string, body: NoInfer<Body<B>>, before: R) => Promise<R> }
  );

/** `DELETE <path>/:id` → 204. */
interface RemoveSpec<R> extends RouteDoc {
  /** Checks against the locked row (what would go with it), before the delete. */
  check?: (c: PoolClient, before: R) => Promise<void>;
  /** The resource's own delete; by default its row goes. */
  erase?: (c: PoolClient, before: R) => Promise<void>;
  /** What the log keeps of the deleted row, when not `audit.before`. */
  audited?: (before: R) => unknown;
}

/** What the audit log records of each change: `<action>.create|update|delete` on `<type>` by id. */
interface AuditSpec<R> {
  type: string;
  /** The action prefix, when not the type. */
  action?: string;
  /** What the log keeps of the row before a change; by default the row as the API shows it. */
  before?: (row: R) => unknown;
  /** What the log keeps of the row after a change; by default the body as sent. */
  after?: (row: R) => unknown;
}

export interface CrudSpec<
  R extends Keyed,
  Q extends TObject,
  CB extends TObject,
  UB extends TObject,
  W extends R,
> {
  /** The collection's path (`/sites`); one row is `<path>/:id`. */
  path: string;
  table: Table<R>;
  /** The schema of one row as the API shows it; `show` maps a row to it. */
  item: TSchema;
  show: (row: R) => unknown;
  audit?: AuditSpec<R>;
  /** The row a change starts from, locked; by default the table's row by id, `FOR UPDATE`. */
  lock?: (c: PoolClient, id: string, request: FastifyRequest) => Promise<R>;
  /** After a change committed: tell whoever holds the resource (control plane notices, caches). */
  changed?: (request: FastifyRequest, row: R, change: Change) => Promise<void>;
  list?: ListSpec<Q>;
  get?: GetSpec<R>;
  create?: CreateSpec<R, CB, W>;
  update?: UpdateSpec<R, UB>;
  remove?: RemoveSpec<R>;
}

/**
 * A resource's list, get, create, update and delete routes, declared once: every one runs in
 * the caller's tenant scope (RLS decides what exists, so another tenant's row is NOT_FOUND),
 * a change locks its row first, writes one audit entry in the same transaction, and tells
 * `changed` after the commit; create answers 201 and delete 204. What is the resource's own —
 * its INSERT, its checks, what its log entries keep — comes in as hooks.
 */
export function crud<R extends Keyed, Q extends TObject, CB extends TObject, UB extends TObject, W extends R>(
  app: App,
  deps: AdminDeps,
  spec: CrudSpec<R, Q, CB, UB, W>,
): void {
  const { path, table, item, show, list, get, create, update, remove } = spec;
  const one = `${path}/:id`;
  const lock = spec.lock ?? ((c: PoolClient, id: string) => table.get(c, id, true));
  const changed = async (request: FastifyRequest, row: R, change: Change) => {
    await spec.changed?.(request, row, change);
  };
  const auditSpec = spec.audit;
  if ((create || update || remove) && !auditSpec) {
    throw new TypeError(`${path}: a resource that changes must say what its audit entries keep`);
  }
  const a = auditSpec ?? { type: '' };
  const action = (verb: string) => `${a.action ?? a.type}.${verb}`;
  const before = a.before ?? show;

  if (list) {
    app.get(
      path,
      {
        ...guardOf(app, list.guard),
        schema: { ...docOf(list), querystring: list.querystring, response: { 200: Page(item) } },
      },
      async (request) => {
        const q = request.query as Static<Q> & { cursor?: string; limit?: number };
        const page = new NewestFirst(q, list.column, list.idColumn);
        const w = page.where;
        for (const [field, column] of Object.entries(list.equal ?? {})) {
          const value = q[field as keyof Static<Q>];
          if (value !== undefined) w.and(`${String(column)} = ${w.p(value)}`);
        }
        list.filter?.(q, w);
        return inTenant(deps, request, async (c) => {
          await list.check?.(c, q);
          return page.fetch(c, table.select, show);
        });
      },
    );
  }

  if (get) {
    const detail = get.detail;
    app.get(
      one,
      {
        ...guardOf(app, get.guard),
        schema: { ...docOf(get), params: IdParams, response: { 200: detail?.response ?? item } },
      },
      async (request) =>
        inTenant(deps, request, async (c) => {
          const row = await table.get(c, request.params.id);
          return detail ? detail.load(c, row) : show(row);
        }),
    );
  }

  if (create) {
    app.post(
      path,
      {
        ...guardOf(app, create.guard),
        schema: { ...docOf(create), body: create.body, response: { 201: create.response ?? item } },
      },
      async (request, reply) => {
        const body = request.body;
        create.validate?.(body, request);
        const row = await inTenant(deps, request, async (c) => {
          const created = await create.insert(c, body, request);
          await writeEntry(c, request, {
            action: action('create'),
            targetType: a.type,
            targetId: created.id,
            after: a.after ? a.after(created) : body,
          });
          return created;
        });
        await changed(request, row, 'created');
        return reply.code(201).send(create.reply ? create.reply(row) : show(row));
      },
    );
  }

  if (update) {
    app.patch(
      one,
      {
        ...guardOf(app, update.guard),
        schema: { ...docOf(update), params: IdParams, body: update.body, response: { 200: item } },
      },
      async (request) => {
        const { id } = request.params;
        const body = request.body;
        update.validate?.(body);
        const row = await inTenant(deps, request, async (c) => {
          const old = await lock(c, id, request);
          await update.check?.(c, old, body);
          const row =
            'write' in update
              ? await update.write(c, id, body, old)
              : await table.update(c, id, update.fields?.(body) ?? body, update.columns);
          await writeEntry(c, request, {
            action: action('update'),
            targetType: a.type,
            targetId: id,
            before: before(old),
            after: a.after ? a.after(row) : body,
          });
          return row;
        });
        await changed(request, row, 'updated');
        return show(row);
      },
    );
  }

  if (remove) {
    app.delete(
      one,
      {
        ...guardOf(app, remove.guard),
        schema: { ...docOf(remove), params: IdParams, response: { 204: Type.Null() } },
      },
      async (request, reply) => {
        const { id } = request.params;
        const row = await inTenant(deps, request, async (c) => {
          const old = await lock(c, id, request);
          await remove.check?.(c, old);
          await (remove.erase ? remove.erase(c, old) : table.delete(c, id));
          await writeEntry(c, request, {
            action: action('delete'),
            targetType: a.type,
            targetId: id,
            before: (remove.audited ?? before)(old),
          });
          return old;
        });
        await changed(request, row, 'deleted');
        return reply.code(204).send(null);
      },
    );
  }
}

/** The success statuses a route answers with. */
type Ok = 200 | 201 | 202 | 204;

/** Answers by status, when the handler picks the status itself (`reply.code`). */
type Answers = Partial<Record<Ok, TSchema>>;

/** The path parameters of a path: `:id` is a UUID, the only kind of path parameter the API has. */
type ParamsOf<P extends string> = P extends `${string}/:id${string}` ? typeof IdParams : TSchema;

/** A request as the type provider types it from the route's path, query and body schemas. */
export type RouteRequest<P extends string, Q extends TSchema, B extends TSchema> = FastifyRequest<
  RouteGenericInterface,
  RawServerDefault,
  RawRequestDefaultExpression,
  { params: ParamsOf<P>; querystring: Q; body: B },
  TypeBoxTypeProvider
>;

/** What a handler may return: the answer as its schema types it, or the reply it sent itself. */
type Answer<R extends TSchema | Answers> = R extends TSchema
  ? Static<R>
  : { [S in keyof R]: R[S] extends TSchema ? Static<R[S]> : never }[keyof R];

/** One route: what the document says of it, its schemas and its handler. */
export interface RouteSpec<
  P extends string,
  Q extends TSchema,
  B extends TSchema,
  R extends TSchema | Answers,
> {
  summary: string;
  description?: string;
  querystring?: Q;
  body?: B;
  /** The answer's schema, sent with `status` (200 unless given); or answers by status (the handler picks). */
  response: R;
  status?: Ok;
  /** Media types of a response that is not JSON. */
  produces?: string[];
  /** Media types of a request body that is not JSON (an upload); the route's plugin parses them. */
  consumes?: readonly string[];
  bodyLimit?: number;
  handler: (request: RouteRequest<P, Q, B>, reply: FastifyReply) => Promise<Answer<R> | FastifyReply>;
}

/**
 * A single route, declared like `crud()`'s: the route states its method, path and who may call
 * it, then its documentation, its query/body/answer schemas and its handler; path parameters
 * come from the path and the answer's status from `status`, so nothing else is written twice.
 *
 *   route(app, 'GET', '/equipment/:id/state', 'viewer', { summary, response, handler });
 */
export function route<P extends string, Q extends TSchema, B extends TSchema, R extends TSchema | Answers>(
  app: App,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: P,
  guard: Access,
  spec: RouteSpec<P, Q, B, R>,
): void {
  const { querystring, body, response, status, produces, consumes, bodyLimit, handler } = spec;
  const run = handler as unknown as (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  const answers: Answers = KindGuard.IsSchema(response) ? { [status ?? 200]: response } : response;
  app.route({
    method,
    url: path,
    ...guardOf(app, guard),
    ...(bodyLimit === undefined ? {} : { bodyLimit }),
    schema: {
      ...docOf(spec),
      ...(path.includes('/:id') ? { params: IdParams } : {}),
      ...(querystring ? { querystring } : {}),
      ...(body ? { body } : {}),
      ...(produces ? { produces } : {}),
      ...(consumes ? { consumes: [...consumes] } : {}),
      response: answers,
    },
    // The handler itself when the status is 200: no extra async frame on the hot read path.
    handler: status === undefined ? run : async (request, reply) => run(request, reply.code(status)),
  });
}
