import type { AlertRuleOf, Reading, Severity, ThresholdOp } from '../../schemas/mod.ts';
import { fmt, finished, opened, retire, ruleStatus, alertEvent } from './alert-events.ts';
import { addSample, slopePerMinute } from './rate.ts';
import {
  unreachable,
  type EquipmentEvent,
  type EquipmentState,
  type MaintenanceWindow,
  type OpenAlert,
  type RuleState,
  type UnitInfo,
} from './equipment.types.ts';

/**
 * Rules driven by reading values, on the reading's own time: `threshold` (a metric against
 * levels, absolute or relative to the setpoint) and `rate` (a metric's slope over a window).
 * Both walk normal → pending → firing → recovering → normal: pending resets when the
 * condition turns false; recovering needs the clear condition (hysteresis) to hold for the
 * clear delay. A latched rule goes firing → latched on clear and stays open until it is
 * acknowledged (or closed by hand); a new breach meanwhile re-fires the same alert.
 */

export type ReadingRule = AlertRuleOf<'threshold'> | AlertRuleOf<'rate'>;

interface Observation {
  value: number;
  /** The most severe level the value breaches, if any. */
  breach: { severity: Severity; threshold: number } | null;
  /** The value is on the safe side of the clear threshold. */
  cleared: boolean;
  clearThreshold: number;
}

type Observed =
  { kind: 'unknown' } | { kind: 'unevaluable' } | { kind: 'excluded' } | ({ kind: 'value' } & Observation);

export function metricValue(reading: Reading, metric: string): number | undefined {
  switch (metric) {
    case 'temperature':
      return reading.temperature;
    case 'pressure':
      return reading.pressure;
    case 'setpoint':
      return reading.setpoint;
    default:
      return reading.metrics?.[metric];
  }
}

function holds(value: number, op: ThresholdOp, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    default:
      return unreachable(op);
  }
}

const NEGATED: Record<ThresholdOp, string> = { '>': '<=', '>=': '<', '<': '>=', '<=': '>' };

/** Defrost (heater on) or an open door, plus their recovery windows, hide a reading from a rule. */
function excluded(rule: ReadingRule, s: EquipmentState, ts: number): boolean {
  const defrost = rule.params.exclude_defrost;
  if (defrost) {
    if (s.heaterOn) return true;
    if (s.heaterOffAt !== null && ts - s.heaterOffAt < defrost.recovery_s * 1000) return true;
  }
  const door = rule.kind === 'threshold' ? rule.params.exclude_door : undefined;
  if (door) {
    if (s.doorOpen) return true;
    if (s.doorClosedAt !== null && ts - s.doorClosedAt < door.grace_s * 1000) return true;
  }
  return false;
}

/** The unit's setpoint: the one its controller last reported, else the configured one. */
export function setpointOf(s: EquipmentState, unit: UnitInfo): number | null {
  return s.setpoint ?? unit.setpoint;
}

function observeThreshold(rule: AlertRuleOf<'threshold'>, value: number, base: number): Observation {
  const p = rule.params;
  let breach: Observation['breach'] = null;
  for (const level of p.levels) {
    if (holds(value, p.op, base + level.value)) {
      breach = { severity: level.severity, threshold: base + level.value };
      break;
    }
  }
  const lowest = p.levels[p.levels.length - 1]!.value;
  const rising = p.op === '>' || p.op === '>=';
  const clearOffset =
    p.clear.value ??
    (p.clear.delta === undefined ? lowest : rising ? lowest - p.clear.delta : lowest + p.clear.delta);
  const clearThreshold = base + clearOffset;
  return { value, breach, cleared: !holds(value, p.op, clearThreshold), clearThreshold };
}

/** The rate as signed units per minute; levels and clear compare its magnitude in the rule's direction. */
function observeRate(rule: AlertRuleOf<'rate'>, slope: number): Observation {
  const p = rule.params;
  const sign = p.direction === 'rising' ? 1 : -1;
  const along = slope * sign;
  let breach: Observation['breach'] = null;
  for (const level of p.levels) {
    if (along >= level.per_min) {
      breach = { severity: level.severity, threshold: sign * level.per_min };
      break;
    }
  }
  const clearAt = p.clear_per_min ?? p.levels[p.levels.length - 1]!.per_min;
  return { value: slope, breach, cleared: along < clearAt, clearThreshold: sign * clearAt };
}

function breachText(rule: ReadingRule, value: number, threshold: number): string {
  if (rule.kind === 'threshold')
    return `${rule.params.metric} ${fmt(value)} ${rule.params.op} ${fmt(threshold)}`;
  const p = rule.params;
  return `${p.metric} ${p.direction} ${fmt(Math.abs(value))}/min >= ${fmt(Math.abs(threshold))}/min over ${p.window_s}s`;
}

function clearText(rule: ReadingRule, o: Observation): string {
  if (rule.kind === 'threshold')
    return `${rule.params.metric} ${fmt(o.value)} ${NEGATED[rule.params.op]} ${fmt(o.clearThreshold)}`;
  return `${rule.params.metric} ${rule.params.direction} ${fmt(Math.abs(o.value))}/min < ${fmt(Math.abs(o.clearThreshold))}/min`;
}

function open(
  rule: ReadingRule,
  unit: UnitInfo,
  o: Observation,
  ts: number,
  maintenance: readonly MaintenanceWindow[],
): EquipmentEvent {
  const breach = o.breach!;
  const held = rule.params.for_s ? ` for ${rule.params.for_s}s` : '';
  return opened(rule, unit, rule.params.metric, ts, maintenance, {
    severity: breach.severity,
    value: o.value,
    threshold: breach.threshold,
    message: `${breachText(rule, o.value, breach.threshold)}${held}`,
  });
}

function updated(
  rule: ReadingRule,
  unit: UnitInfo,
  alert: OpenAlert,
  o: Observation,
  ts: number,
  why: string,
): EquipmentEvent {
  const breach = o.breach!;
  return alertEvent('alert.updated', unit, alert, ts, rule.key, {
    severity: breach.severity,
    previousSeverity: alert.severity,
    value: o.value,
    threshold: breach.threshold,
    message: `${why}: ${breachText(rule, o.value, breach.threshold)}`,
  });
}

function finish(
  rule: ReadingRule,
  unit: UnitInfo,
  alert: OpenAlert,
  o: Observation,
  ts: number,
): EquipmentEvent {
  return finished(rule, unit, alert, ts, o.value, o.clearThreshold, clearText(rule, o));
}

/**
 * What the reading says about the rule. A rate rule's window moves with every reading it
 * sees: `series` is the samples to keep (null: drop them; undefined: unchanged).
 */
function observe(
  rule: ReadingRule,
  reading: Reading,
  unit: UnitInfo,
  s: EquipmentState,
): { observed: Observed; series?: number[] | null } {
  const p = rule.params;
  if (rule.kind === 'threshold' && rule.params.relative_to_setpoint && setpointOf(s, unit) === null)
    return { observed: { kind: 'unevaluable' } };
  const value = metricValue(reading, p.metric);
  if (value === undefined) return { observed: { kind: 'unknown' } };
  if (excluded(rule, s, reading.ts)) {
    // A rate across a defrost is the defrost's: the window starts again after it.
    const had = rule.kind === 'rate' && s.series?.[rule.key] !== undefined;
    return had ? { observed: { kind: 'excluded' }, series: null } : { observed: { kind: 'excluded' } };
  }
  if (rule.kind === 'threshold') {
    const base = rule.params.relative_to_setpoint ? setpointOf(s, unit)! : 0;
    return { observed: { kind: 'value', ...observeThreshold(rule, value, base) } };
  }
  const windowMs = rule.params.window_s * 1000;
  const series = addSample(s.series?.[rule.key] ?? [], reading.ts, value, windowMs);
  const slope = slopePerMinute(series, windowMs);
  if (slope === null) return { observed: { kind: 'unknown' }, series };
  return { observed: { kind: 'value', ...observeRate(rule, slope) }, series };
}

function lifecycle(
  rule: ReadingRule,
  rs: RuleState | undefined,
  o: Observation,
  ts: number,
  unit: UnitInfo,
  maintenance: readonly MaintenanceWindow[],
): EquipmentEvent[] {
  const key = rule.key;
  const forMs = rule.params.for_s * 1000;
  const clearMs =
    (rule.kind === 'threshold' ? rule.params.clear.for_s : (rule.params.clear_for_s ?? 0)) * 1000;
  const pending = (since: number, severity: Severity): EquipmentEvent => ({
    type: 'condition.pending',
    data: { ruleKey: key, since, severity },
  });
  const reset: EquipmentEvent = { type: 'condition.reset', data: { ruleKey: key } };
  if (!rs) {
    if (!o.breach) return [];
    return forMs === 0 ? [open(rule, unit, o, ts, maintenance)] : [pending(ts, o.breach.severity)];
  }
  switch (rs.phase) {
    case 'pending':
      if (!o.breach) return [reset];
      if (ts - rs.since >= forMs) return [open(rule, unit, o, ts, maintenance)];
      return o.breach.severity === rs.severity ? [] : [pending(rs.since, o.breach.severity)];
    case 'firing':
      if (o.breach && o.breach.severity !== rs.alert.severity) {
        return [updated(rule, unit, rs.alert, o, ts, `severity ${rs.alert.severity} → ${o.breach.severity}`)];
      }
      if (!o.cleared) return [];
      return clearMs === 0
        ? [finish(rule, unit, rs.alert, o, ts)]
        : [{ type: 'recovery.started', data: { ruleKey: key, since: ts } }];
    case 'recovering': {
      if (!o.cleared) {
        const out: EquipmentEvent[] = [{ type: 'recovery.aborted', data: { ruleKey: key } }];
        if (o.breach && o.breach.severity !== rs.alert.severity) {
          out.push(
            updated(rule, unit, rs.alert, o, ts, `severity ${rs.alert.severity} → ${o.breach.severity}`),
          );
        }
        return out;
      }
      return ts - rs.since >= clearMs ? [finish(rule, unit, rs.alert, o, ts)] : [];
    }
    case 'latched': {
      if (!o.breach) return rs.since === null ? [] : [reset];
      const since = rs.since ?? ts;
      if (ts - since >= forMs) return [updated(rule, unit, rs.alert, o, ts, 'condition returned')];
      return rs.since === null ? [pending(ts, o.breach.severity)] : [];
    }
    default:
      return unreachable(rs);
  }
}

/** The events one reading causes for one threshold or rate rule (the reading already recorded in `s`). */
export function evaluateReadingRule(
  rule: ReadingRule,
  reading: Reading,
  unit: UnitInfo,
  s: EquipmentState,
  maintenance: readonly MaintenanceWindow[],
): EquipmentEvent[] {
  const key = rule.key;
  const ts = reading.ts;
  const rs = s.rules[key];
  if (rs?.phase === 'latched' && !rule.latched) return retire(key, rs, unit, ts, 'rule no longer latched');
  const { observed: o, series } = observe(rule, reading, unit, s);
  const out: EquipmentEvent[] = [];
  if (series !== undefined) out.push({ type: 'series.updated', data: { ruleKey: key, samples: series } });
  const inert = s.unevaluable?.includes(key) ?? false;
  if (o.kind === 'unevaluable') {
    if (!inert) out.push(ruleStatus('rule.unevaluable', rule, unit, ts));
    return out;
  }
  if (inert) out.push(ruleStatus('rule.evaluable', rule, unit, ts));
  if (o.kind === 'unknown') return out;
  if (o.kind === 'excluded') {
    // A breach that starts in defrost or with the door open is not one; an open alert waits.
    if (rs?.phase === 'pending' || (rs?.phase === 'latched' && rs.since !== null))
      out.push({ type: 'condition.reset', data: { ruleKey: key } });
    return out;
  }
  out.push(...lifecycle(rule, rs, o, ts, unit, maintenance));
  return out;
}
