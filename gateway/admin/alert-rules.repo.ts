import {
  DECIDER_KINDS,
  VigilError,
  assertRuleKindEvaluated,
  assertRuleParams,
  type AlertRuleCreateBody,
  type AlertRuleKind,
  type AlertRuleUpdateBody,
  type ApiAlertRule,
  type PoolClient,
  type RuleScope,
} from '../../schemas/mod.ts';
import type { Principal } from '../identity/mod.ts';
import { iso } from './context.ts';
import { timeKey } from './pagination.ts';
import { assertSitesVisible } from './sites.repo.ts';
import { Table } from './table.ts';

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
export const RULES = new Table<RuleRow>('alert_rules', COLUMNS, 'rule not found');

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
  const row = await RULES.get(c, id);
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

/** Only a platform admin in their own tenant asks for a global rule. */
export function assertMayCreate(body: AlertRuleCreateBody, caller: Principal): void {
  if (body.global && !managesGlobalRules(caller)) throw new VigilError('FORBIDDEN', GLOBAL_ONLY);
}

/** A rule of the tenant, one site or one unit, or (platform admins) a global rule. */
export async function insertRule(c: PoolClient, body: AlertRuleCreateBody): Promise<RuleRow> {
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
  const values = [body.key, body.kind, body.name ?? '', params, body.latched ?? false, body.enabled ?? true];
  if (body.global) {
    const { rows } = await c.query<RuleRow>(
      `SELECT ${COLUMNS} FROM platform_rule_create($1, $2, $3, $4::jsonb, $5, $6)`,
      values,
    );
    return globalRow(rows);
  }
  const { rows } = await c.query<RuleRow>(
    `INSERT INTO alert_rules (tenant_id, site_id, equipment_id, key, kind, name, params, latched, enabled)
     VALUES (vigil_current_tenant(), $7, $8, $1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [...values, body.siteId ?? null, body.equipmentId ?? null],
  );
  return rows[0]!;
}

/**
 * A stored rule of a kind the engine skips may still be switched off (or deleted), not edited.
 * A global rule changes through its platform function, a tenant's rule in place.
 */
export async function updateRule(
  c: PoolClient,
  before: RuleRow,
  body: AlertRuleUpdateBody,
): Promise<RuleRow> {
  if ((body.enabled ?? before.enabled) || body.params !== undefined)
    assertRuleKindEvaluated(before.kind, DECIDER_KINDS);
  const params =
    body.params === undefined ? undefined : JSON.stringify(assertRuleParams(before.kind, body.params));
  if (before.tenant_id === null) {
    const { rows } = await c.query<RuleRow>(
      `SELECT ${COLUMNS} FROM platform_rule_update($1, $2, $3::jsonb, $4, $5)`,
      [before.id, body.name ?? null, params ?? null, body.latched ?? null, body.enabled ?? null],
    );
    return globalRow(rows);
  }
  return RULES.update(
    c,
    before.id,
    { ...body, params },
    { name: 'name', params: 'params', latched: 'latched', enabled: 'enabled' },
  );
}

export async function deleteRule(c: PoolClient, before: RuleRow): Promise<void> {
  if (before.tenant_id === null) {
    globalRow((await c.query<RuleRow>(`SELECT ${COLUMNS} FROM platform_rule_delete($1)`, [before.id])).rows);
  } else {
    await RULES.delete(c, before.id);
  }
}
