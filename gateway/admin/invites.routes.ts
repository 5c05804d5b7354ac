import { Type } from '@sinclair/typebox';
import {
  AcceptInviteBody,
  ApiInvite,
  IdParams,
  InviteCreateBody,
  InviteCreated,
  InviteListQuery,
  Page,
  SessionResponse,
  VigilError,
  withTenant,
  type PoolClient,
} from '../../schemas/mod.ts';
import {
  db,
  insertUser,
  opaqueToken,
  principalOf,
  sha256,
  writeAudit,
  type Principal,
} from '../identity/mod.ts';
import { audit, inTenant, iso } from './context.ts';
import { timeKey } from './pagination.ts';
import { byId, guards, NewestFirst, resource } from './route-kit.ts';
import { assertSitesVisible } from './sites.routes.ts';

interface InviteRow {
  id: string;
  email: string;
  role: ApiInvite['role'];
  site_ids: string[] | null;
  created_by: string | null;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
  _k: string;
}

const COLUMNS = `id, email::text AS email, role, site_ids, created_by, created_at, expires_at, accepted_at, revoked_at,
  ${timeKey('created_at')} AS _k`;
const getInvite = byId<InviteRow>('invites', COLUMNS, 'invite not found');

function status(r: InviteRow, now = Date.now()): ApiInvite['status'] {
  if (r.accepted_at) return 'accepted';
  if (r.revoked_at) return 'revoked';
  return r.expires_at.getTime() <= now ? 'expired' : 'pending';
}

function toApi(r: InviteRow): ApiInvite {
  return {
    id: r.id,
    email: r.email,
    role: r.role,
    siteIds: r.site_ids,
    status: status(r),
    createdBy: r.created_by,
    createdAt: iso(r.created_at),
    expiresAt: iso(r.expires_at),
    acceptedAt: iso(r.accepted_at),
  };
}

/** SQL condition per invite status (the same rules as `status` above). */
const STATUS_SQL: Record<ApiInvite['status'], string> = {
  accepted: 'accepted_at IS NOT NULL',
  revoked: 'accepted_at IS NULL AND revoked_at IS NOT NULL',
  expired: 'accepted_at IS NULL AND revoked_at IS NULL AND expires_at <= now()',
  pending: 'accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()',
};

/**
 * Create an invite in the current transaction's tenant. An earlier pending invite for the same
 * email is revoked: one live token per invitee. The token is returned once, stored hashed.
 */
export async function createInvite(
  client: PoolClient,
  tenantId: string,
  body: InviteCreateBody,
  actor: Principal | null,
  meta: { requestId: string; ip: string },
): Promise<InviteCreated> {
  // References first: another tenant's site is NOT_FOUND whatever else is wrong with the body.
  if (body.siteIds) await assertSitesVisible(client, body.siteIds);
  if (body.role === 'tenant_admin' && body.siteIds && body.siteIds.length > 0) {
    throw new VigilError('VALIDATION_FAILED', 'body/siteIds: tenant admins cannot be restricted to sites');
  }
  const siteIds = body.role === 'tenant_admin' ? null : (body.siteIds ?? null);
  const { rowCount: exists } = await client.query('SELECT 1 FROM users WHERE email = $1', [body.email]);
  if (exists) throw new VigilError('CONFLICT', 'a user with this email already exists');
  await client.query(
    `UPDATE invites SET revoked_at = now()
     WHERE email = $1 AND accepted_at IS NULL AND revoked_at IS NULL`,
    [body.email],
  );
  const token = opaqueToken('vi');
  const { rows } = await client.query<InviteRow>(
    `INSERT INTO invites (tenant_id, email, role, site_ids, token_hash, created_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(hours => $7))
     RETURNING ${COLUMNS}`,
    [
      tenantId,
      body.email,
      body.role,
      siteIds,
      sha256(token),
      actor?.userId ?? null,
      body.expiresInHours ?? 72,
    ],
  );
  const invite = toApi(rows[0]!);
  await writeAudit(client, {
    tenantId,
    actor,
    action: 'invite.create',
    targetType: 'invite',
    targetId: invite.id,
    after: { email: invite.email, role: invite.role, siteIds: invite.siteIds, expiresAt: invite.expiresAt },
    ...meta,
  });
  return { invite, token };
}

interface InviteLookup {
  id: string;
  tenant_id: string;
  email: string;
  role: ApiInvite['role'];
  site_ids: string[] | null;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
}

export const inviteRoutes = resource('invites', async (app, { deps }) => {
  const { admin } = guards(app);

  app.get(
    '/invites',
    {
      ...admin,
      schema: {
        summary: 'List invites',
        querystring: InviteListQuery,
        response: { 200: Page(ApiInvite) },
      },
    },
    async (request) => {
      const q = request.query;
      const list = new NewestFirst(q, 'created_at');
      if (q.status) list.where.and(STATUS_SQL[q.status]);
      return inTenant(deps, request, (c) => list.fetch(c, `SELECT ${COLUMNS} FROM invites`, toApi));
    },
  );

  app.get(
    '/invites/:id',
    {
      ...admin,
      schema: {
        summary: 'One invite',
        params: IdParams,
        response: { 200: ApiInvite },
      },
    },
    async (request) => {
      const { id } = request.params;
      return toApi(await inTenant(deps, request, (c) => getInvite(c, id)));
    },
  );

  app.post(
    '/invites',
    {
      ...admin,
      schema: {
        summary: 'Invite a user',
        description:
          'The token in the response is shown once; send it to the invitee, who accepts at /v1/invites/accept.',
        body: InviteCreateBody,
        response: { 201: InviteCreated },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const created = await inTenant(deps, request, (c) =>
        createInvite(c, p.tenantId, request.body, p, {
          requestId: request.id,
          ip: request.ip,
        }),
      );
      return reply.code(201).send(created);
    },
  );

  app.delete(
    '/invites/:id',
    {
      ...admin,
      schema: {
        summary: 'Revoke a pending invite',
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await inTenant(deps, request, async (c) => {
        const row = await getInvite(c, id, true);
        if (row.accepted_at) throw new VigilError('INVALID_STATE', 'the invite was already accepted');
        if (!row.revoked_at) {
          await c.query('UPDATE invites SET revoked_at = now() WHERE id = $1', [id]);
          await audit(c, request, {
            action: 'invite.revoke',
            targetType: 'invite',
            targetId: id,
            before: { email: row.email },
          });
        }
      });
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/invites/accept',
    {
      bodyLimit: 8 * 1024,
      schema: {
        summary: 'Accept an invite: creates the user and logs them in',
        description: 'Single use; 401 INVALID_TOKEN when the invite is unknown, used, revoked or expired.',
        body: AcceptInviteBody,
        response: { 201: SessionResponse },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const identity = app.identity;
      await identity.rateLimit(reply, [
        { bucket: 'accept-ip', subject: request.ip, limit: identity.limits.acceptInvitePerIp },
      ]);
      const { rows } = await db(() =>
        deps.db.query<InviteLookup>('SELECT * FROM auth_invite_by_hash($1)', [sha256(body.token)]),
      );
      const invite = rows[0];
      if (!invite || invite.accepted_at || invite.revoked_at || invite.expires_at.getTime() <= Date.now()) {
        throw new VigilError('INVALID_TOKEN', 'the invite is unknown, used, revoked or expired');
      }
      const session = await db(() =>
        withTenant(deps.db, { tenantId: invite.tenant_id }, async (c) => {
          // The conditional update is the single-use guarantee: of two concurrent accepts, one wins.
          const spent = await c.query(
            `UPDATE invites SET accepted_at = now()
             WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()`,
            [invite.id],
          );
          if (!spent.rowCount)
            throw new VigilError('INVALID_TOKEN', 'the invite is unknown, used, revoked or expired');
          const user = await insertUser(c, invite.tenant_id, {
            email: invite.email,
            name: body.name,
            password: body.password,
            role: invite.role,
            siteIds: invite.site_ids,
          });
          await c.query('UPDATE invites SET accepted_user_id = $2 WHERE id = $1', [invite.id, user.id]);
          await writeAudit(c, {
            tenantId: invite.tenant_id,
            actor: { userId: user.id, tenantId: invite.tenant_id, role: user.role, actingFrom: null },
            action: 'user.create',
            targetType: 'user',
            targetId: user.id,
            after: { email: user.email, role: user.role, siteIds: user.site_ids, inviteId: invite.id },
            requestId: request.id,
            ip: request.ip,
          });
          return identity.startSession(c, user);
        }),
      );
      return reply.code(201).send(session);
    },
  );
});
