import type { RulePhaseView } from '../../schemas/mod.ts';
import type { EquipmentState } from './equipment.types.ts';

/**
 * What a dashboard sees of an equipment actor's state: per rule key, its lifecycle phase, the
 * alert it holds open and its timer. Pure: the actor node builds `equipment.state` events with
 * it, the gateway builds `GET /v1/equipment/{id}/state` from the state the owner sends.
 */

export interface EquipmentStateView {
  lastReadingAt: number | null;
  door: boolean | null;
  heater: boolean | null;
  setpoint: number | null;
  /** Every rule key the state knows of plus `ruleKeys`, sorted. */
  rules: RulePhaseView[];
}

function ruleView(state: EquipmentState, ruleKey: string, unevaluable: ReadonlySet<string>): RulePhaseView {
  const rs = state.rules[ruleKey];
  const timerAt = state.timers?.[ruleKey] ?? null;
  const evaluable = !unevaluable.has(ruleKey);
  if (!rs) {
    return {
      ruleKey,
      phase: 'normal',
      severity: null,
      since: null,
      alertId: null,
      acknowledged: false,
      timerAt,
      evaluable,
    };
  }
  if (rs.phase === 'pending') {
    return {
      ruleKey,
      phase: 'pending',
      severity: rs.severity,
      since: rs.since,
      alertId: null,
      acknowledged: false,
      timerAt,
      evaluable,
    };
  }
  return {
    ruleKey,
    phase: rs.phase,
    severity: rs.alert.severity,
    since: rs.phase === 'firing' ? null : rs.since,
    alertId: rs.alert.id,
    acknowledged: rs.alert.acknowledged,
    timerAt,
    evaluable,
  };
}

/**
 * The view of `state`. `ruleKeys` adds rules the state has nothing on (normal, no timer); without
 * it, only keys the state holds something for are listed.
 */
export function viewState(state: EquipmentState, ruleKeys: Iterable<string> = []): EquipmentStateView {
  const unevaluable = new Set(state.unevaluable ?? []);
  const keys = new Set<string>(ruleKeys);
  for (const k of Object.keys(state.rules)) keys.add(k);
  for (const k of Object.keys(state.timers ?? {})) keys.add(k);
  for (const k of unevaluable) keys.add(k);
  return {
    lastReadingAt: state.lastTs,
    door: state.doorOpen,
    heater: state.heaterOn,
    setpoint: state.setpoint ?? null,
    rules: [...keys].sort().map((k) => ruleView(state, k, unevaluable)),
  };
}

/**
 * What an `equipment.state` event reports changing: per rule, phase, severity, alert and
 * acknowledgement, and which rules cannot be evaluated. Timers, `since` of a pending phase and
 * the carried door/heater values move with readings and are deliberately left out, so a unit
 * that only keeps reporting causes no event. Cheap when nothing alert-relevant moved: the
 * decider keeps the `rules` object and the `unevaluable` list when they do not change.
 */
export function phaseChanged(before: EquipmentState, after: EquipmentState): boolean {
  if (before.rules === after.rules && before.unevaluable === after.unevaluable) return false;
  return phaseSignature(before) !== phaseSignature(after);
}

function phaseSignature(state: EquipmentState): string {
  const parts: string[] = [];
  for (const key of Object.keys(state.rules).sort()) {
    const rs = state.rules[key]!;
    parts.push(
      rs.phase === 'pending'
        ? `${key}:pending:${rs.severity}`
        : `${key}:${rs.phase}:${rs.alert.severity}:${rs.alert.id}:${rs.alert.acknowledged ? 1 : 0}`,
    );
  }
  parts.push(`!${[...(state.unevaluable ?? [])].sort().join(',')}`);
  return parts.join('|');
}
