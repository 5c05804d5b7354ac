import { Type } from '@sinclair/typebox';
import {
  ChangePasswordBody,
  LoginBody,
  LogoutBody,
  MeResponse,
  RefreshBody,
  SessionResponse,
  VigilError,
  assertValid,
  withTenant,
} from '../../schemas/mod.ts';
import {
  db,
  hashPassword,
  homeTenant,
  principalOf,
  sessionUser,
  verifyPassword,
  writeAudit,
  type UserRow,
} from '../identity/mod.ts';
import { resource, route } from './route-kit.ts';

/** Credentials are small: a tight body limit on the endpoints anyone can call. */
const AUTH_BODY_LIMIT = 8 * 1024;

export const authRoutes = resource('auth', async (app, { deps }) => {
  const identity = app.identity;

  route(app, 'POST', '/auth/login', 'public', {
    bodyLimit: AUTH_BODY_LIMIT,
    summary: 'Log in with email and password',
    description:
      'Rate limited per client address and per account (429 RATE_LIMITED with Retry-After); every ' +
      'spelling of an email that reaches the same account counts against the same limit.',
    body: LoginBody,
    response: SessionResponse,
    handler: async (request, reply) => {
      const body = request.body;
      await identity.rateLimit(reply, [
        { bucket: 'login-ip', subject: request.ip, limit: identity.limits.loginPerIp },
      ]);
      // The account is looked up before its limit is counted: the bucket is the account, not the
      // spelling of its email. The lookup is one indexed query; the password hash comes after.
      const attempt = await db(() => identity.findLogin(body.email));
      await identity.rateLimit(reply, [
        { bucket: 'login-account', subject: attempt.limitKey, limit: identity.limits.loginPerEmail },
      ]);
      const session = await db(() => identity.login(attempt, body.password, body.tenant));
      request.log.info({ userId: session.user.id, tenantId: session.user.tenantId }, 'login');
      return session;
    },
  });

  route(app, 'POST', '/auth/refresh', 'public', {
    bodyLimit: AUTH_BODY_LIMIT,
    summary: 'Exchange a refresh token for a new session',
    description:
      'Refresh tokens are single use: the response carries the next one. Presenting a spent token again ' +
      'revokes every token of its session (401).',
    body: RefreshBody,
    response: SessionResponse,
    handler: async (request, reply) => {
      await identity.rateLimit(reply, [
        { bucket: 'refresh-ip', subject: request.ip, limit: identity.limits.refreshPerIp },
      ]);
      return db(() => identity.refresh(request.body.refreshToken, request));
    },
  });

  route(app, 'POST', '/auth/logout', 'authenticated', {
    bodyLimit: AUTH_BODY_LIMIT,
    summary: 'End the session',
    description:
      "Revokes the access token and its session's refresh tokens. Optional JSON body " +
      '`{ "refreshToken": "..." }` names another session of the same user to end as well.',
    response: Type.Null(),
    status: 204,
    handler: async (request) => {
      // The body is optional, so it is checked here rather than by the route schema.
      const body =
        request.body === undefined || request.body === null ? {} : assertValid(LogoutBody, request.body);
      await db(() => identity.logout(principalOf(request), body.refreshToken));
      return null;
    },
  });

  route(app, 'GET', '/auth/me', 'authenticated', {
    summary: 'The current user and tenant',
    response: MeResponse,
    handler: async (request) => {
      const p = principalOf(request);
      const user = await db(() =>
        withTenant(deps.db, { tenantId: homeTenant(p) }, async (c) => {
          const { rows } = await c.query<UserRow>(
            'SELECT id, tenant_id, email::text AS email, name, role, site_ids FROM users WHERE id = $1',
            [p.userId],
          );
          return rows[0];
        }),
      );
      const tenant = await db(() =>
        withTenant(deps.db, { tenantId: p.tenantId }, async (c) => {
          const { rows } = await c.query<{ id: string; name: string; slug: string; is_platform: boolean }>(
            'SELECT id, name, slug, is_platform FROM tenants WHERE id = $1',
            [p.tenantId],
          );
          return rows[0];
        }),
      );
      if (!user || !tenant) throw new VigilError('INVALID_TOKEN');
      return {
        user: sessionUser(user),
        tenant: { id: tenant.id, name: tenant.name, slug: tenant.slug, isPlatform: tenant.is_platform },
        actingFrom: p.actingFrom ?? null,
      };
    },
  });

  route(app, 'POST', '/auth/password', 'authenticated', {
    bodyLimit: AUTH_BODY_LIMIT,
    summary: 'Change your password',
    description: 'Ends every session of the user, this one included: log in again with the new password.',
    body: ChangePasswordBody,
    response: Type.Null(),
    status: 204,
    handler: async (request, reply) => {
      const p = principalOf(request);
      const body = request.body;
      await identity.rateLimit(reply, [
        { bucket: 'password-user', subject: p.userId, limit: identity.limits.loginPerEmail },
      ]);
      const tenantId = homeTenant(p);
      await db(() =>
        withTenant(deps.db, { tenantId }, async (c) => {
          const { rows } = await c.query<{ password_hash: string }>(
            'SELECT password_hash FROM users WHERE id = $1',
            [p.userId],
          );
          const current = rows[0];
          if (!current || !(await verifyPassword(current.password_hash, body.currentPassword))) {
            throw new VigilError('INVALID_CREDENTIALS', 'current password is wrong');
          }
          await c.query('UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1', [
            p.userId,
            await hashPassword(body.newPassword),
          ]);
          await identity.endAllSessions(c, p.userId);
          await writeAudit(c, {
            tenantId,
            actor: { ...p, tenantId, actingFrom: null },
            action: 'user.password_change',
            targetType: 'user',
            targetId: p.userId,
            requestId: request.id,
            ip: request.ip,
          });
        }),
      );
      await identity.revocations.cutoffUser(p.userId);
      return null;
    },
  });
});
