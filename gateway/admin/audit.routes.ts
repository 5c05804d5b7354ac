import { ApiAuditEntry, AuditListQuery, Page } from '../../schemas/mod.ts';
import { inTenant, iso } from './context.ts';
import { resource, route } from './route-kit.ts';
import { Where, decodeCursor, page } from './pagination.ts';

interface AuditRow {
  id: number;
  at: Date;
  action: string;
  target_type: string;
  target_id: string | null;
  actor_user_id: string | null;
  actor_tenant_id: string | null;
  actor_role: string | null;
  before: unknown;
  after: unknown;
  request_id: string | null;
  _k: string;
}

export const auditRoutes = resource('audit', async (app, { deps }) => {
  route(app, 'GET', '/audit-log', 'tenant_admin', {
    summary: "The tenant's audit log, newest first",
    description:
      'Who changed what: tenants, sites, users and roles, invites, equipment and API keys, rules, maintenance, ' +
      'and every request a platform admin made in the tenant (platform.act_as).',
    querystring: AuditListQuery,
    response: Page(ApiAuditEntry),
    handler: async (request) => {
      const q = request.query;
      const limit = q.limit ?? 50;
      const cursor = decodeCursor(q.cursor, 'int');
      const w = new Where();
      if (cursor) w.and(`id < ${w.p(cursor.id)}::bigint`);
      // `user` matches every user.* action; `user.update` exactly that one.
      if (q.action)
        w.and(q.action.includes('.') ? `action = ${w.p(q.action)}` : `action LIKE ${w.p(`${q.action}.%`)}`);
      if (q.targetType) w.and(`target_type = ${w.p(q.targetType)}`);
      if (q.targetId) w.and(`target_id = ${w.p(q.targetId)}`);
      if (q.actorUserId) w.and(`actor_user_id = ${w.p(q.actorUserId)}`);
      return inTenant(deps, request, async (c) => {
        const { rows } = await c.query<AuditRow>(
          `SELECT id, at, action, target_type, target_id, actor_user_id, actor_tenant_id, actor_role, before, after,
                  request_id, id::text AS _k
           FROM audit_log ${w.sql} ORDER BY id DESC LIMIT ${w.p(limit + 1)}`,
          w.params,
        );
        return page(rows, limit, (r) => ({
          id: r.id,
          at: iso(r.at),
          action: r.action,
          targetType: r.target_type,
          targetId: r.target_id,
          actorUserId: r.actor_user_id,
          actorTenantId: r.actor_tenant_id,
          actorRole: r.actor_role,
          before: r.before,
          after: r.after,
          requestId: r.request_id,
        }));
      });
    },
  });
});
