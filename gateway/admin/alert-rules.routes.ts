import {
  AlertRuleCreateBody,
  AlertRuleListQuery,
  AlertRuleUpdateBody,
  ApiAlertRule,
  DECIDER_KINDS,
} from '../../schemas/mod.ts';
import { principalOf } from '../identity/mod.ts';
import {
  RULES,
  SCOPE_SQL,
  assertMayCreate,
  deleteRule,
  insertRule,
  lockRule,
  summary,
  toApi,
  updateRule,
} from './alert-rules.repo.ts';
import { announce } from './context.ts';
import { crud, resource } from './route-kit.ts';

export const alertRuleRoutes = resource('alert-rules', async (app, { deps }) => {
  crud(app, deps, {
    path: '/alert-rules',
    table: RULES,
    item: ApiAlertRule,
    show: toApi,
    audit: { type: 'alert_rule', action: 'rule', before: summary, after: summary },
    lock: (c, id, request) => lockRule(c, id, principalOf(request)),
    // Live actors reload the tenant's rules (every tenant's for a global rule) within a second.
    changed: (request, row) =>
      announce(deps, request, {
        topic: 'rulesChanged',
        body: { tenantId: row.tenant_id === null ? null : principalOf(request).tenantId },
      }),
    list: {
      guard: 'viewer',
      summary: 'List alert rules: global, tenant, site and equipment scopes',
      querystring: AlertRuleListQuery,
      column: 'created_at',
      filter: (q, w) => {
        if (q.scope) w.and(SCOPE_SQL[q.scope]);
      },
      equal: { siteId: 'site_id', equipmentId: 'equipment_id', key: 'key', enabled: 'enabled' },
    },
    get: { guard: 'viewer', summary: 'One alert rule' },
    create: {
      guard: 'tenant_admin',
      summary: 'Create a rule for the tenant, one site (siteId) or one unit (equipmentId)',
      description:
        'For each rule key the most specific scope wins: equipment > site > tenant > global. ' +
        'Platform admins (in their own tenant) create global rules with `global: true`. ' +
        `Kinds the alert engine evaluates: ${DECIDER_KINDS.join(', ')}; ` +
        'other kinds are refused with 400 UNSUPPORTED_RULE_KIND.',
      body: AlertRuleCreateBody,
      validate: (body, request) => assertMayCreate(body, principalOf(request)),
      insert: insertRule,
    },
    update: {
      guard: 'tenant_admin',
      summary: "Change a rule's name, params, latched or enabled",
      description:
        'A stored rule of a kind the alert engine does not evaluate can only be disabled ' +
        '(400 UNSUPPORTED_RULE_KIND otherwise).',
      body: AlertRuleUpdateBody,
      write: (c, _id, body, before) => updateRule(c, before, body),
    },
    remove: {
      guard: 'tenant_admin',
      summary: 'Delete a rule; its open alerts are retired by their actors',
      erase: deleteRule,
    },
  });
});
