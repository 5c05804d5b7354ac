import { Type } from '@sinclair/typebox';
import {
  AcceptInviteBody,
  ApiInvite,
  InviteCreateBody,
  InviteCreated,
  InviteListQuery,
  SessionResponse,
  VigilError,
  withTenant,
} from '../../schemas/mod.ts';
import { db, insertUser, principalOf, sha256, writeAudit } from '../identity/mod.ts';
import { audit, inTenant } from './context.ts';
import { crud, resource, route } from './route-kit.ts';
import { INVITES, toApi, STATUS_SQL, createInvite, type InviteLookup } from './invites.repo.ts';

export const inviteRoutes = resource('invites', async (app, { deps }) => {
  crud(app, deps, {
    path: '/invites',
    table: INVITES,
    item: ApiInvite,
    show: toApi,
    list: {
      guard: 'tenant_admin',
      summary: 'List invites',
      querystring: InviteListQuery,
      column: 'created_at',
      filter: (q, w) => {
        if (q.status) w.and(STATUS_SQL[q.status]);
      },
    },
    get: { guard: 'tenant_admin', summary: 'One invite' },
  });

  route(app, 'POST', '/invites', 'tenant_admin', {
    summary: 'Invite a user',
    description:
      'The token in the response is shown once; send it to the invitee, who accepts at /v1/invites/accept.',
    body: InviteCreateBody,
    response: InviteCreated,
    status: 201,
    handler: async (request) => {
      const p = principalOf(request);
      const created = await inTenant(deps, request, (c) =>
        createInvite(c, p.tenantId, request.body, p, {
          requestId: request.id,
          ip: request.ip,
        }),
      );
      return created;
    },
  });

  route(app, 'DELETE', '/invites/:id', 'tenant_admin', {
    summary: 'Revoke a pending invite',
    response: Type.Null(),
    status: 204,
    handler: async (request) => {
      const { id } = request.params;
      await inTenant(deps, request, async (c) => {
        const row = await INVITES.get(c, id, true);
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
      return null;
    },
  });

  route(app, 'POST', '/invites/accept', 'public', {
    bodyLimit: 8 * 1024,
    summary: 'Accept an invite: creates the user and logs them in',
    description: 'Single use; 401 INVALID_TOKEN when the invite is unknown, used, revoked or expired.',
    body: AcceptInviteBody,
    response: SessionResponse,
    status: 201,
    handler: async (request, reply) => {
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
      return session;
    },
  });
});
