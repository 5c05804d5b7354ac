import type { FastifyRequest } from 'fastify';
import {
  ApiTenant,
  Page,
  SessionResponse,
  SignupBody,
  TenantCreateBody,
  TenantCreated,
  TenantListQuery,
  TenantUpdateBody,
  VigilError,
  withTenant,
  type PoolClient,
} from '../../schemas/mod.ts';
import {
  assertNotPlatformSlug,
  db,
  homeTenant,
  principalOf,
  provisionTenant,
  writeAudit,
  type TenantRow,
} from '../identity/mod.ts';
import { announce, iso, type AdminDeps } from './context.ts';
import { resource, route } from './route-kit.ts';
import { createInvite } from './invites.repo.ts';
import { decodeCursor, page, timeKey } from './pagination.ts';

type KeyedTenantRow = TenantRow & { _k: string };

function toApi(r: TenantRow): ApiTenant {
  return {
    id: r.id,
    name: r.name,
    slug: r.slug,
    status: r.status,
    isPlatform: r.is_platform,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/**
 * Platform routes address a tenant by id: the transaction is scoped to that tenant (never a
 * policy bypass), and the change is audited in that tenant's log with the platform actor.
 */
function inTarget<T>(deps: AdminDeps, tenantId: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  return db(() => withTenant(deps.db, { tenantId }, fn));
}

function auditMeta(request: FastifyRequest) {
  return { actor: principalOf(request), requestId: request.id, ip: request.ip };
}

export const tenantRoutes = resource('tenants', async (app, { deps }) => {
  route(app, 'GET', '/tenants', 'platform_admin', {
    summary: 'List every tenant (platform admins)',
    querystring: TenantListQuery,
    response: Page(ApiTenant),
    handler: async (request) => {
      const q = request.query;
      const limit = q.limit ?? 50;
      const cursor = decodeCursor(q.cursor);
      // The definer function answers only in the platform tenant's transaction.
      const rows = await inTarget(deps, homeTenant(principalOf(request)), async (c) => {
        const { rows } = await c.query<KeyedTenantRow>(
          `SELECT t.*, ${timeKey('t.created_at')} AS _k
           FROM platform_tenants_page(
             CASE WHEN $1::text IS NULL THEN NULL ELSE timestamptz 'epoch' + $1::bigint * interval '1 microsecond' END,
             $2::uuid, $3) t`,
          [cursor?.key ?? null, cursor?.id ?? null, limit + 1],
        );
        return rows;
      });
      return page(rows, limit, toApi);
    },
  });

  route(app, 'GET', '/tenants/:id', 'platform_admin', {
    summary: 'One tenant (platform admins)',
    response: ApiTenant,
    handler: async (request) => {
      const { id } = request.params;
      const row = await inTarget(deps, id, async (c) => {
        const { rows } = await c.query<TenantRow>('SELECT * FROM tenants WHERE id = $1', [id]);
        return rows[0];
      });
      if (!row) throw new VigilError('NOT_FOUND', 'tenant not found');
      return toApi(row);
    },
  });

  route(app, 'POST', '/tenants', 'platform_admin', {
    summary: 'Create a tenant (platform admins)',
    description: "With ownerEmail, also creates the owner's tenant_admin invite (token shown once).",
    body: TenantCreateBody,
    response: TenantCreated,
    status: 201,
    handler: async (request) => {
      const body = request.body;
      assertNotPlatformSlug(body.slug);
      const meta = auditMeta(request);
      const created = await provisionTenant(
        deps.db,
        { name: body.name, slug: body.slug },
        meta,
        async (c, { tenant }) => {
          const invite = body.ownerEmail
            ? await createInvite(c, tenant.id, { email: body.ownerEmail, role: 'tenant_admin' }, meta.actor, {
                requestId: request.id,
                ip: request.ip,
              })
            : null;
          return { tenant: toApi(tenant), invite };
        },
      );
      // The platform's own log records it as well: who created which tenant.
      await inTarget(deps, homeTenant(meta.actor), (c) =>
        writeAudit(c, {
          ...meta,
          tenantId: homeTenant(meta.actor),
          action: 'tenant.create',
          targetType: 'tenant',
          targetId: created.tenant.id,
          after: { name: created.tenant.name, slug: created.tenant.slug },
        }),
      );
      return created;
    },
  });

  route(app, 'PATCH', '/tenants/:id', 'platform_admin', {
    summary: 'Rename, suspend or reactivate a tenant (platform admins)',
    description:
      "Suspending ends the tenant's access at once: logins, refreshes and issued tokens stop working.",
    body: TenantUpdateBody,
    response: ApiTenant,
    handler: async (request) => {
      const { id } = request.params;
      const body = request.body;
      const meta = auditMeta(request);
      const { before, after } = await inTarget(deps, id, async (c) => {
        const { rows } = await c.query<TenantRow>('SELECT * FROM tenants WHERE id = $1 FOR UPDATE', [id]);
        const before = rows[0];
        if (!before) throw new VigilError('NOT_FOUND', 'tenant not found');
        if (before.is_platform && body.status === 'suspended') {
          throw new VigilError('INVALID_STATE', 'the platform tenant cannot be suspended');
        }
        const updated = await c.query<TenantRow>(
          `UPDATE tenants SET name = COALESCE($2, name), status = COALESCE($3, status), updated_at = now()
           WHERE id = $1 RETURNING *`,
          [id, body.name ?? null, body.status ?? null],
        );
        const after = updated.rows[0]!;
        await writeAudit(c, {
          ...meta,
          tenantId: id,
          action:
            before.status !== after.status
              ? `tenant.${after.status === 'suspended' ? 'suspend' : 'reactivate'}`
              : 'tenant.update',
          targetType: 'tenant',
          targetId: id,
          before: { name: before.name, status: before.status },
          after: { name: after.name, status: after.status },
        });
        return { before, after };
      });
      if (before.status !== 'suspended' && after.status === 'suspended') {
        await app.identity.revocations.cutoffTenant(id);
        // Device API keys of a suspended tenant stop working too: gateways drop cached ones.
        await announce(deps, request, {
          topic: 'tenantChanged',
          body: { tenantId: id, action: 'suspended' },
        });
      }
      return toApi(after);
    },
  });

  route(app, 'POST', '/tenants/signup', 'public', {
    bodyLimit: 8 * 1024,
    summary: 'Self-service signup: a new tenant and its owner (only when VIGIL_ALLOW_SIGNUP=true)',
    description: '403 FORBIDDEN when signup is disabled. Rate limited per client address.',
    body: SignupBody,
    response: SessionResponse,
    status: 201,
    handler: async (request, reply) => {
      if (!deps.config.VIGIL_ALLOW_SIGNUP) throw new VigilError('FORBIDDEN', 'signup is disabled');
      const identity = app.identity;
      await identity.rateLimit(reply, [
        { bucket: 'signup-ip', subject: request.ip, limit: identity.limits.signupPerIp },
      ]);
      const body = request.body;
      assertNotPlatformSlug(body.slug);
      const session = await provisionTenant(
        deps.db,
        {
          name: body.tenantName,
          slug: body.slug,
          owner: { email: body.email, name: body.name, password: body.password },
        },
        { actor: null, requestId: request.id, ip: request.ip },
        (c, { owner }) => identity.startSession(c, owner!),
      );
      return session;
    },
  });
});
