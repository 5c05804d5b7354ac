import type { preHandlerAsyncHookHandler } from 'fastify';

export type Role = 'platform_admin' | 'tenant_admin' | 'operator' | 'viewer';

/** Who is calling, as proven by a verified access token. */
export interface Principal {
  userId: string;
  tenantId: string;
  role: Role;
  /** null = every site of the tenant. */
  siteIds: string[] | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** preHandler: 401 unless a valid access token is presented; sets request.principal. */
    authenticate: preHandlerAsyncHookHandler;
  }
}
