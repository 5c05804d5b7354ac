import type { FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  AlertRuleCreateBody,
  AlertRuleListQuery,
  AlertRuleUpdateBody,
  ApiAlertRule,
  DECIDER_KINDS,
  IdParams,
  VigilError,
  assertRuleKindEvaluated,
  assertRuleParams,
} from '../../schemas/mod.ts';
import { principalOf } from '../identity/mod.ts';
import {
  COLUMNS,
  GLOBAL_ONLY,
  SCOPE_SQL,
  getRule,
  globalRow,
  lockRule,
  managesGlobalRules,
  summary,
  toApi,
  type RuleRow,
} from './alert-rules.repo.ts';
import { announce, audit, inTenant } from './context.ts';
import { guards, readOne, readPage, resource, updateById } from './route-kit.ts';
import { assertSitesVisible } from './sites.repo.ts';

export const alertRuleRoutes = resource('alert-rules', async (app, { deps }) => {
  const { reader, admin } = guards(app);
  // Live actors reload the tenant's rules (every tenant's for a global rule) within a second.
  const rulesChanged = (request: FastifyRequest, global: boolean) =>
    announce(deps, request, {
      topic: 'rulesChanged',
      body: { tenantId: global ? null : principalOf(request).tenantId },
    });

  readPage(
    app,
    deps,
    '/alert-rules',
    {
      guard: reader,
      summary: 'List alert rules: global, tenant, site and equipment scopes',
      querystring: AlertRuleListQuery,
      response: ApiAlertRule,
      column: 'created_at',
      select: `SELECT ${COLUMNS} FROM alert_rules`,
      filter: (q, w) => {
        if (q.scope) w.and(SCOPE_SQL[q.scope]);
        if (q.siteId) w.and(`site_id = ${w.p(q.siteId)}`);
        if (q.equipmentId) w.and(`equipment_id = ${w.p(q.equipmentId)}`);
        if (q.key) w.and(`key = ${w.p(q.key)}`);
        if (q.enabled !== undefined) w.and(`enabled = ${w.p(q.enabled)}`);
      },
    },
    toApi,
  );

  const one = { guard: reader, summary: 'One alert rule', response: ApiAlertRule };
  readOne(app, deps, '/alert-rules/:id', one, getRule, toApi);

  app.post(
    '/alert-rules',
    {
      ...admin,
      schema: {
        summary: 'Create a rule for the tenant, one site (siteId) or one unit (equipmentId)',
        description:
          'For each rule key the most specific scope wins: equipment > site > tenant > global. ' +
          'Platform admins (in their own tenant) create global rules with `global: true`. ' +
          `Kinds the alert engine evaluates: ${DECIDER_KINDS.join(', ')}; ` +
          'other kinds are refused with 400 UNSUPPORTED_RULE_KIND.',
        body: AlertRuleCreateBody,
        response: { 201: ApiAlertRule },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const caller = principalOf(request);
      if (body.global && !managesGlobalRules(caller)) throw new VigilError('FORBIDDEN', GLOBAL_ONLY);
      const row = await inTenant(deps, request, async (c) => {
        // Scope first: another tenant's site or unit answers 404 whatever else is wrong.
        if (body.siteId) await assertSitesVisible(c, [body.siteId]);
        if (body.equipmentId) {
          const { rowCount } = await c.query('SELECT 1 FROM equipment WHERE id = $1', [body.equipmentId]);
          if (!rowCount) throw new VigilError('NOT_FOUND', 'equipment not found');
        }
        if (body.siteId && body.equipmentId) {
          throw new VigilError('VALIDATION_FAILED', 'body: give siteId or equipmentId, not both');
        }
        if (body.global && (body.siteId || body.equipmentId)) {
          throw new VigilError('VALIDATION_FAILED', 'body: a global rule has no siteId or equipmentId');
        }
        assertRuleKindEvaluated(body.kind, DECIDER_KINDS);
        const params = JSON.stringify(assertRuleParams(body.kind, body.params));
        const values = [
          body.key,
          body.kind,
          body.name ?? '',
          params,
          body.latched ?? false,
          body.enabled ?? true,
        ];
        const created = body.global
          ? globalRow(
              (
                await c.query<RuleRow>(
                  `SELECT ${COLUMNS} FROM platform_rule_create($1, $2, $3, $4::jsonb, $5, $6)`,
                  values,
                )
              ).rows,
            )
          : (
              await c.query<RuleRow>(
                `INSERT INTO alert_rules (tenant_id, site_id, equipment_id, key, kind, name, params, latched, enabled)
                 VALUES (vigil_current_tenant(), $7, $8, $1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
                [...values, body.siteId ?? null, body.equipmentId ?? null],
              )
            ).rows[0]!;
        await audit(c, request, {
          action: 'rule.create',
          targetType: 'alert_rule',
          targetId: created.id,
          after: summary(created),
        });
        return created;
      });
      await rulesChanged(request, row.tenant_id === null);
      return reply.code(201).send(toApi(row));
    },
  );

  app.patch(
    '/alert-rules/:id',
    {
      ...admin,
      schema: {
        summary: "Change a rule's name, params, latched or enabled",
        description:
          'A stored rule of a kind the alert engine does not evaluate can only be disabled ' +
          '(400 UNSUPPORTED_RULE_KIND otherwise).',
        params: IdParams,
        body: AlertRuleUpdateBody,
        response: { 200: ApiAlertRule },
      },
    },
    async (request) => {
      const { id } = request.params;
      const body = request.body;
      const row = await inTenant(deps, request, async (c) => {
        const before = await lockRule(c, id, principalOf(request));
        // A stored rule of a kind the engine skips may still be switched off (or deleted), not edited.
        if ((body.enabled ?? before.enabled) || body.params !== undefined)
          assertRuleKindEvaluated(before.kind, DECIDER_KINDS);
        const params =
          body.params === undefined ? undefined : JSON.stringify(assertRuleParams(before.kind, body.params));
        let after: RuleRow;
        if (before.tenant_id === null) {
          const { rows } = await c.query<RuleRow>(
            `SELECT ${COLUMNS} FROM platform_rule_update($1, $2, $3::jsonb, $4, $5)`,
            [id, body.name ?? null, params ?? null, body.latched ?? null, body.enabled ?? null],
          );
          after = globalRow(rows);
        } else {
          after = await updateById<RuleRow>(
            c,
            'alert_rules',
            id,
            { ...body, params },
            { name: 'name', params: 'params', latched: 'latched', enabled: 'enabled' },
            COLUMNS,
          );
        }
        await audit(c, request, {
          action: 'rule.update',
          targetType: 'alert_rule',
          targetId: id,
          before: summary(before),
          after: summary(after),
        });
        return after;
      });
      await rulesChanged(request, row.tenant_id === null);
      return toApi(row);
    },
  );

  app.delete(
    '/alert-rules/:id',
    {
      ...admin,
      schema: {
        summary: 'Delete a rule; its open alerts are retired by their actors',
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const before = await inTenant(deps, request, async (c) => {
        const before = await lockRule(c, id, principalOf(request));
        if (before.tenant_id === null) {
          globalRow((await c.query<RuleRow>(`SELECT ${COLUMNS} FROM platform_rule_delete($1)`, [id])).rows);
        } else {
          await c.query('DELETE FROM alert_rules WHERE id = $1', [id]);
        }
        await audit(c, request, {
          action: 'rule.delete',
          targetType: 'alert_rule',
          targetId: id,
          before: summary(before),
        });
        return before;
      });
      await rulesChanged(request, before.tenant_id === null);
      return reply.code(204).send(null);
    },
  );
});
