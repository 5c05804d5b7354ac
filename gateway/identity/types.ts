import type { preHandlerAsyncHookHandler } from 'fastify';
import type { Identity } from './identity.ts';

export type Role = 'platform_admin' | 'tenant_admin' | 'operator' | 'viewer';

/** Who is calling, as proven by a verified access token. */
export interface Principal {
  userId: string;
  /** The tenant the request acts in (for a platform admin with X-Vigil-Tenant: that tenant). */
  tenantId: string;
  role: Role;
  /** null = every site of the tenant. */
  siteIds: string[] | null;
  /** The platform tenant, when a platform admin acts in another tenant; null otherwise. */
  actingFrom?: string | null;
  /** Refresh-token family of the session (logout revokes it). */
  familyId?: string | null;
  /** The access token's jti and expiry (unix seconds), for logout. */
  tokenId?: string;
  tokenExp?: number;
  /** The access token's issue time in ms: revocation cutoffs compare against it (long-lived streams). */
  tokenIssuedMs?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** preHandler: 401 unless a valid access token is presented; sets request.principal. */
    authenticate: preHandlerAsyncHookHandler;
    /** Token, session and rate-limit services (see gateway/identity/identity.ts). */
    identity: Identity;
  }
}
