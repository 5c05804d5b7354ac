import { ApiUser, UserListQuery, UserUpdateBody, VigilError } from '../../schemas/mod.ts';
import { principalOf, type Role } from '../identity/mod.ts';
import { audit, inTenant } from './context.ts';
import { crud, resource, route } from './route-kit.ts';
import { assertSitesVisible } from './sites.repo.ts';
import {
  type UserRow,
  COLUMNS,
  USERS,
  assertAdminRemains,
  deleteUser,
  lockUser,
  summary,
  toApi,
} from './users.repo.ts';

export const userRoutes = resource('users', async (app, { deps }) => {
  const identity = app.identity;

  crud(app, deps, {
    path: '/users',
    table: USERS,
    item: ApiUser,
    show: toApi,
    audit: { type: 'user' },
    lock: (c, id, request) => lockUser(c, id, principalOf(request)),
    // A deleted user's access tokens stop at once.
    changed: (_request, row) => identity.revocations.cutoffUser(row.id),
    list: {
      guard: 'tenant_admin',
      summary: 'List users',
      querystring: UserListQuery,
      column: 'created_at',
      equal: { role: 'role' },
      filter: (q, w) => {
        // Users who may see the site: unrestricted ones and those whose list names it.
        if (q.siteId) w.and(`(site_ids IS NULL OR ${w.p(q.siteId)}::uuid = ANY (site_ids))`);
      },
      check: async (c, q) => {
        if (q.siteId) await assertSitesVisible(c, [q.siteId]);
      },
    },
    get: { guard: 'tenant_admin', summary: 'One user' },
    remove: {
      guard: 'tenant_admin',
      summary: 'Delete a user',
      erase: deleteUser,
      audited: (r) => ({ email: r.email, ...summary(r) }),
    },
  });

  route(app, 'PATCH', '/users/:id', 'tenant_admin', {
    summary: "Change a user's name, role, sites or disabled state",
    description:
      "Role, site and status changes void the user's current access tokens at once; a disabled user's " +
      'sessions end. Only operators and viewers can be restricted to sites.',
    body: UserUpdateBody,
    response: ApiUser,
    handler: async (request) => {
      const { id } = request.params;
      const body = request.body;
      const caller = principalOf(request);
      const row = await inTenant(deps, request, async (c) => {
        const before = await lockUser(c, id, caller);
        const role: Role = body.role ?? before.role;
        if (before.role === 'platform_admin' && body.role !== undefined) {
          throw new VigilError('FORBIDDEN', 'platform admins cannot be changed here');
        }
        let siteIds = body.siteIds === undefined ? before.site_ids : body.siteIds;
        if (role === 'tenant_admin' || role === 'platform_admin') {
          if (body.siteIds && body.siteIds.length > 0) {
            throw new VigilError('VALIDATION_FAILED', 'body/siteIds: admins cannot be restricted to sites');
          }
          siteIds = null;
        }
        if (body.siteIds) await assertSitesVisible(c, body.siteIds);
        const disabled = body.disabled === undefined ? before.disabled_at !== null : body.disabled;
        const { rows } = await c.query<UserRow>(
          `UPDATE users SET name = $2, role = $3, site_ids = $4,
             disabled_at = CASE WHEN $5::boolean THEN COALESCE(disabled_at, now()) ELSE NULL END,
             updated_at = now()
           WHERE id = $1 RETURNING ${COLUMNS}`,
          [id, body.name ?? before.name, role, siteIds, disabled],
        );
        const after = rows[0]!;
        await assertAdminRemains(c);
        if (disabled) await identity.endAllSessions(c, id);
        const action = before.role !== after.role ? 'user.role_change' : 'user.update';
        await audit(c, request, {
          action,
          targetType: 'user',
          targetId: id,
          before: summary(before),
          after: summary(after),
        });
        return { before, after };
      });
      const { before, after } = row;
      const accessChanged =
        before.role !== after.role ||
        JSON.stringify(before.site_ids) !== JSON.stringify(after.site_ids) ||
        (before.disabled_at === null) !== (after.disabled_at === null);
      if (accessChanged) await identity.revocations.cutoffUser(id);
      return toApi(after);
    },
  });
});
