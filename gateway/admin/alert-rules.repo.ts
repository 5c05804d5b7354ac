import {
  VigilError,
  type AlertRuleKind,
  type ApiAlertRule,
  type PoolClient,
  type RuleScope,
} from '../../schemas/mod.ts';
import type { Principal } from '../identity/mod.ts';
import { iso } from './context.ts';
import { timeKey } from './pagination.ts';
import { byId } from './route-kit.ts';

export interface RuleRow {
  id: string;
  tenant_id: string | null;
  site_id: string | null;
  equipment_id: string | null;
  key: string;
  kind: AlertRuleKind;
  name: string;
  params: unknown;
  latched: boolean;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
  _k: string;
}

export const COLUMNS = `id, tenant_id, site_id, equipment_id, key, kind, name, params, latched, enabled, created_at, updated_at,
  ${timeKey('created_at')} AS _k`;
export const getRule = byId<RuleRow>('alert_rules', COLUMNS, 'rule not found');

export function scopeOfRule(r: Pick<RuleRow, 'tenant_id' | 'site_id' | 'equipment_id'>): RuleScope {
  if (r.tenant_id === null) return 'global';
  if (r.equipment_id !== null) return 'equipment';
  if (r.site_id !== null) return 'site';
  return 'tenant';
}

/** SQL per scope, matching `scopeOfRule`. */
export const SCOPE_SQL: Record<RuleScope, string> = {
  global: 'tenant_id IS NULL',
  tenant: 'tenant_id IS NOT NULL AND site_id IS NULL AND equipment_id IS NULL',
  site: 'tenant_id IS NOT NULL AND site_id IS NOT NULL AND equipment_id IS NULL',
  equipment: 'tenant_id IS NOT NULL AND equipment_id IS NOT NULL',
};

export function toApi(r: RuleRow): ApiAlertRule {
  return {
    id: r.id,
    scope: scopeOfRule(r),
    siteId: r.site_id,
    equipmentId: r.equipment_id,
    key: r.key,
    kind: r.kind,
    name: r.name,
    params: r.params,
    latched: r.latched,
    enabled: r.enabled,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/**
 * Platform admins in their own tenant manage global rules; everyone else (a platform admin
 * acting in a tenant included) manages that tenant's rules only.
 */
export function managesGlobalRules(p: Principal): boolean {
  return p.role === 'platform_admin' && !p.actingFrom;
}

export const GLOBAL_ONLY = 'global rules are managed by platform admins';

/** A rule the caller may change, locked. Global rules are visible to all, changeable by platform admins only. */
export async function lockRule(c: PoolClient, id: string, p: Principal): Promise<RuleRow> {
  const row = await getRule(c, id);
  if (row.tenant_id === null) {
    if (!managesGlobalRules(p)) throw new VigilError('FORBIDDEN', GLOBAL_ONLY);
    return row;
  }
  await c.query('SELECT 1 FROM alert_rules WHERE id = $1 FOR UPDATE', [id]);
  return row;
}

/** One changed row from a platform_rule_* function; none means the database refused the caller. */
export function globalRow(rows: RuleRow[]): RuleRow {
  const row = rows[0];
  if (!row) throw new VigilError('FORBIDDEN', GLOBAL_ONLY);
  return row;
}

export function summary(r: RuleRow): Record<string, unknown> {
  return {
    key: r.key,
    kind: r.kind,
    scope: scopeOfRule(r),
    name: r.name,
    params: r.params,
    latched: r.latched,
    enabled: r.enabled,
  };
}
