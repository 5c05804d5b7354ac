import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { withTenant, type ControlMessage, type PoolClient } from '../../schemas/mod.ts';
import { publishControl } from '../../streams/mod.ts';
import type { GatewayDeps } from '../deps.ts';
import { db, principalOf, scopeOf, writeAudit, type AuditRecord } from '../identity/mod.ts';

/** What the management routes use of the gateway's dependencies. */
export type AdminDeps = Pick<GatewayDeps, 'config' | 'log' | 'db' | 'redis' | 'nc' | 'js' | 'names' | 'ch'>;

export interface AdminRouteOptions {
  deps: AdminDeps;
}

/**
 * A resource's routes. The TypeBox type provider types `request.params`, `body` and `query`
 * from the route's own schemas, so handlers never cast them.
 */
export type AdminPlugin = FastifyPluginAsyncTypebox<AdminRouteOptions>;

/**
 * Run `fn` in a transaction scoped to the caller's tenant and sites: RLS decides what exists.
 * A GET (or HEAD) runs read-only: reads never write, and PostgreSQL holds them to it.
 * Database failures leave as registry errors (an invisible row's foreign key is NOT_FOUND).
 */
export function inTenant<T>(
  deps: AdminDeps,
  request: FastifyRequest,
  fn: (c: PoolClient) => Promise<T>,
): Promise<T> {
  const readOnly = request.method === 'GET' || request.method === 'HEAD';
  return db(() => withTenant(deps.db, scopeOf(principalOf(request)), fn, { readOnly }));
}

/** Audit entry by the caller, in the caller's tenant, within the caller's transaction. */
export function audit(
  client: PoolClient,
  request: FastifyRequest,
  entry: Pick<AuditRecord, 'action' | 'targetType' | 'targetId' | 'before' | 'after'>,
): Promise<void> {
  const p = principalOf(request);
  return writeAudit(client, {
    ...entry,
    tenantId: p.tenantId,
    actor: p,
    requestId: request.id,
    ip: request.ip,
  });
}

/**
 * Tell live actors and the other gateways about a change this request committed (the control
 * plane's one publish function). A lost notice is logged, not answered: every receiver also
 * catches up from PostgreSQL on its own schedule.
 */
export async function announce(
  deps: AdminDeps,
  request: FastifyRequest,
  message: ControlMessage,
): Promise<void> {
  try {
    await publishControl(deps.nc, deps.names, message);
  } catch (err) {
    request.log.warn({ err, topic: message.topic }, 'control message not published');
  }
}

export function iso(d: Date): string;
export function iso(d: Date | null): string | null;
export function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}
