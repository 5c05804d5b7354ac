import type { AlertEvent, Severity } from '../../schemas/mod.ts';
import { alertIdFor } from './alert-id.ts';
import {
  unreachable,
  type DeciderRule,
  type EquipmentEvent,
  type MaintenanceWindow,
  type OpenAlert,
  type PublishedEvent,
  type RuleState,
  type UnitInfo,
} from './equipment.types.ts';

/** Builders of the events every rule kind publishes: one alert lifecycle for all of them. */

export function fmt(n: number): string {
  return String(Math.round(n * 100) / 100);
}

export interface AlertFields {
  severity: Severity;
  previousSeverity?: Severity;
  value: number | null;
  threshold: number | null;
  message: string;
}

/** A published event of `alert`, and the AlertEvent it carries. Its id derives from its cause. */
export function alertEvent(
  type: 'alert.opened' | 'alert.updated' | 'alert.cleared' | 'alert.resolved',
  unit: UnitInfo,
  alert: OpenAlert,
  ts: number,
  ruleKey: string,
  fields: AlertFields,
): PublishedEvent {
  const data: AlertEvent = {
    id: `${alert.id}:${type}:${ts}`,
    type,
    tenantId: unit.tenantId,
    siteId: unit.siteId,
    ts,
    data: {
      alertId: alert.id,
      equipmentId: unit.equipmentId,
      ruleId: alert.ruleId,
      ruleKey,
      severity: fields.severity,
      ...(fields.previousSeverity ? { previousSeverity: fields.previousSeverity } : {}),
      metric: alert.metric,
      value: fields.value,
      threshold: fields.threshold,
      openedAt: alert.openedAt,
      latched: alert.latched,
      suppressed: alert.suppressed,
      message: fields.message,
    },
  };
  return { type, data };
}

function inMaintenance(windows: readonly MaintenanceWindow[], ts: number): boolean {
  return windows.some((w) => w.start <= ts && ts < w.end);
}

/** `alert.opened` of a new alert of `rule`, opened at `ts`. */
export function opened(
  rule: DeciderRule,
  unit: UnitInfo,
  metric: string,
  ts: number,
  maintenance: readonly MaintenanceWindow[],
  fields: AlertFields,
): PublishedEvent {
  const alert: OpenAlert = {
    id: alertIdFor(unit.equipmentId, rule.key, ts),
    ruleId: rule.id,
    openedAt: ts,
    severity: fields.severity,
    latched: rule.latched,
    metric,
    suppressed: inMaintenance(maintenance, ts),
    acknowledged: false,
  };
  return alertEvent('alert.opened', unit, alert, ts, rule.key, fields);
}

/**
 * The condition cleared for good: a latched, unacknowledged alert latches (waits for a
 * person); any other resolves.
 */
export function finished(
  rule: DeciderRule,
  unit: UnitInfo,
  alert: OpenAlert,
  ts: number,
  value: number | null,
  threshold: number | null,
  cleared: string,
): PublishedEvent {
  if (rule.latched && !alert.acknowledged) {
    return alertEvent('alert.cleared', unit, alert, ts, rule.key, {
      severity: alert.severity,
      value,
      threshold,
      message: `condition cleared: ${cleared}; latched until closed`,
    });
  }
  return alertEvent('alert.resolved', unit, alert, ts, rule.key, {
    severity: alert.severity,
    value,
    threshold,
    // A latched rule resolves here only when its alert was acknowledged while active.
    message: `recovered: ${cleared}${rule.latched ? ' (latched, acknowledged)' : ''}`,
  });
}

/** A rule that no longer applies (deleted, disabled, overridden, off schedule) ends its state. */
export function retire(
  key: string,
  rs: RuleState,
  unit: UnitInfo,
  ts: number,
  why: string,
): EquipmentEvent[] {
  switch (rs.phase) {
    case 'pending':
      return [{ type: 'condition.reset', data: { ruleKey: key } }];
    case 'firing':
    case 'recovering':
    case 'latched':
      return [
        alertEvent('alert.resolved', unit, rs.alert, ts, key, {
          severity: rs.alert.severity,
          value: null,
          threshold: null,
          message: why,
        }),
      ];
    default:
      return unreachable(rs);
  }
}

/** Why a rule cannot be evaluated on a unit: what it needs that the unit lacks. */
export type UnevaluableReason = 'no_setpoint' | 'no_watched_zone';

const UNEVALUABLE_TEXT: Record<UnevaluableReason, { off: string; on: string }> = {
  no_setpoint: {
    off: 'is relative to the setpoint, and the unit has none: it cannot fire',
    on: 'is evaluated again: the unit has a setpoint',
  },
  no_watched_zone: {
    off: 'needs a camera zone in front of the unit (watchZoneId), and the unit watches none: it cannot fire',
    on: 'is evaluated again: the unit watches a camera zone',
  },
};

/** `rule.unevaluable` / `rule.evaluable` of `rule` on the unit, shown by the reading at `ts`. */
export function ruleStatus(
  type: 'rule.unevaluable' | 'rule.evaluable',
  rule: DeciderRule,
  unit: UnitInfo,
  ts: number,
  reason: UnevaluableReason = 'no_setpoint',
): PublishedEvent {
  const text = UNEVALUABLE_TEXT[reason];
  return {
    type,
    data: {
      id: `${unit.equipmentId}:${rule.key}:${type}:${ts}`,
      type,
      tenantId: unit.tenantId,
      siteId: unit.siteId,
      ts,
      data: {
        equipmentId: unit.equipmentId,
        ruleId: rule.id,
        ruleKey: rule.key,
        reason,
        message: `rule ${rule.key} ${type === 'rule.unevaluable' ? text.off : text.on}`,
      },
    },
  };
}
