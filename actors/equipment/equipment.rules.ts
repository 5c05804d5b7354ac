import { parseAlertRule, type AlertRuleRow, type ErrorCode } from '../../schemas/mod.ts';
import type { DeciderRule, UnitInfo } from './equipment.types.ts';

/**
 * Which rule applies to a unit, per key: the most specific scope wins (equipment > site >
 * tenant > global), whether or not it is enabled — a disabled equipment-level rule switches
 * the key off for that unit even when a global rule of the same key is enabled.
 */
function specificity(row: AlertRuleRow, unit: UnitInfo): number | null {
  if (row.tenant_id === null) return 0;
  if (row.tenant_id !== unit.tenantId) return null;
  if (row.equipment_id !== null) return row.equipment_id === unit.equipmentId ? 3 : null;
  if (row.site_id !== null) return row.site_id === unit.siteId ? 2 : null;
  return 1;
}

export function applicableRows(rows: readonly AlertRuleRow[], unit: UnitInfo): AlertRuleRow[] {
  const best = new Map<string, { row: AlertRuleRow; rank: number }>();
  for (const row of rows) {
    const rank = specificity(row, unit);
    if (rank === null) continue;
    const current = best.get(row.key);
    if (!current || rank > current.rank) best.set(row.key, { row, rank });
  }
  return [...best.values()].map((b) => b.row).filter((r) => r.enabled);
}

export interface SkippedRule {
  ruleId: string;
  key: string;
  kind: string;
  code: ErrorCode;
  reason: string;
}

export interface ResolvedRules {
  rules: DeciderRule[];
  skipped: SkippedRule[];
}

/** The unit's enabled rules, and the ones it must skip because their stored params are invalid (and why). */
export function rulesForUnit(rows: readonly AlertRuleRow[], unit: UnitInfo): ResolvedRules {
  return rulesOfRows(applicableRows(rows, unit));
}

/** Rules of rows already picked for a unit (`applicableRows`), sorted by key. */
export function rulesOfRows(applicable: readonly AlertRuleRow[]): ResolvedRules {
  const rules: DeciderRule[] = [];
  const skipped: SkippedRule[] = [];
  for (const row of applicable) {
    const parsed = parseAlertRule(row);
    if (parsed.ok) rules.push(parsed.rule);
    else
      skipped.push({
        ruleId: row.id,
        key: row.key,
        kind: row.kind,
        code: parsed.code,
        reason: parsed.reason,
      });
  }
  rules.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { rules, skipped };
}
