import type { FastifyReply, FastifyRequest } from 'fastify';
import { VigilError, type TenantScope } from '../../schemas/mod.ts';
import type { Principal, Role } from './types.ts';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, tenant_admin: 2, platform_admin: 3 };

/** True when `role` may do what `min` may (viewer < operator < tenant_admin < platform_admin). */
export function roleAtLeast(role: Role, min: Role): boolean {
  return RANK[role] >= RANK[min];
}

/** The authenticated caller; 401 when the route forgot to authenticate. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new VigilError('UNAUTHENTICATED');
  return request.principal;
}

/** What the database restricts this caller to: its tenant and, for operators and viewers, its sites. */
export function scopeOf(principal: Principal): TenantScope {
  return { tenantId: principal.tenantId, siteIds: principal.siteIds };
}

/**
 * Hook that answers 403 unless the caller's role is at least `min`. Runs after authenticate;
 * the check does not depend on the object, so it reveals nothing about other tenants' ids.
 */
export function requireRole(min: Role) {
  return async function roleGuard(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const p = principalOf(request);
    if (!roleAtLeast(p.role, min)) throw new VigilError('FORBIDDEN', `requires role ${min} or higher`);
  };
}
