import type { AlertEvent, AlertRuleOf, Reading, Severity, ThresholdOp } from '../../schemas/mod.ts';
import { alertIdFor } from './alert-id.ts';

/**
 * The equipment actor's logic: pure `decide(state, command, now) → events` and
 * `evolve(state, event) → state`. No I/O and no clock: rule time is the reading's own `ts`;
 * `now` (server time) only stamps decisions that no reading caused (a rule removed while its
 * alert is open). The same code runs live, on replay after a restart, and in backtests.
 *
 * Per (unit, rule key): normal → pending → firing → recovering → normal. Pending resets when
 * the condition turns false; recovering needs the clear threshold (hysteresis) to hold for the
 * clear delay. A latched rule goes firing → latched on clear and stays open until it is
 * acknowledged (or closed by hand); a new breach meanwhile re-fires the same alert. A latched
 * alert acknowledged before its condition clears resolves when it clears. An alert opened
 * while the unit is in a maintenance window is flagged suppressed: still recorded and
 * published, for the notifiers and dashboards to hold back.
 */

export interface UnitInfo {
  tenantId: string;
  siteId: string;
  equipmentId: string;
  setpoint: number | null;
}

/**
 * Rule kinds this decider evaluates. The service skips stored rules of other kinds, with a
 * warning; the API refuses to create them.
 */
export const DECIDER_KINDS = ['threshold'] as const;
export type DeciderRule = AlertRuleOf<(typeof DECIDER_KINDS)[number]>;

/** A maintenance window of the unit, epoch ms, `[start, end)`. */
export interface MaintenanceWindow {
  start: number;
  end: number;
}

export interface OpenAlert {
  id: string;
  ruleId: string | null;
  openedAt: number;
  severity: Severity;
  latched: boolean;
  metric: string;
  /** Opened during a maintenance window; every later event of the alert says so too. */
  suppressed: boolean;
  /** Someone acknowledged it: a latched alert then resolves on clear instead of latching. */
  acknowledged: boolean;
}

export type RuleState =
  | { phase: 'pending'; since: number; severity: Severity }
  | { phase: 'firing'; alert: OpenAlert }
  | { phase: 'recovering'; alert: OpenAlert; since: number }
  | { phase: 'latched'; alert: OpenAlert; since: number | null };

export interface EquipmentState {
  /** Device time of the last reading applied; a reading at or before it changes nothing. */
  lastTs: number | null;
  heaterOn: boolean | null;
  heaterOffAt: number | null;
  doorOpen: boolean | null;
  doorClosedAt: number | null;
  /** Per rule key; a key that is absent is normal. */
  rules: Record<string, RuleState>;
}

export function initialState(): EquipmentState {
  return { lastTs: null, heaterOn: null, heaterOffAt: null, doorOpen: null, doorClosedAt: null, rules: {} };
}

export type EquipmentCommand =
  | {
      type: 'RecordReading';
      data: {
        reading: Reading;
        unit: UnitInfo;
        rules: readonly DeciderRule[];
        /** The unit's maintenance windows; an alert opening inside one is suppressed. */
        maintenance?: readonly MaintenanceWindow[];
      };
    }
  | { type: 'ReconcileRules'; data: { unit: UnitInfo; rules: readonly DeciderRule[] } }
  | { type: 'AcknowledgeAlert'; data: { unit: UnitInfo; ruleKey: string; alertId: string } }
  | { type: 'CloseAlert'; data: { ruleKey: string; alertId: string } };

export type PublishedEvent =
  | { type: 'alert.opened'; data: AlertEvent }
  | { type: 'alert.updated'; data: AlertEvent }
  | { type: 'alert.cleared'; data: AlertEvent }
  | { type: 'alert.resolved'; data: AlertEvent };

export type EquipmentEvent =
  | { type: 'reading.recorded'; data: { ts: number; heater?: boolean; door?: boolean } }
  | { type: 'condition.pending'; data: { ruleKey: string; since: number; severity: Severity } }
  | { type: 'condition.reset'; data: { ruleKey: string } }
  | { type: 'recovery.started'; data: { ruleKey: string; since: number } }
  | { type: 'recovery.aborted'; data: { ruleKey: string } }
  | { type: 'closed.elsewhere'; data: { ruleKey: string; alertId: string } }
  | { type: 'acknowledgement.recorded'; data: { ruleKey: string; alertId: string } }
  | PublishedEvent;

/** Events that leave the actor (to the EVENTS stream); the rest only move its state. */
export function isPublished(e: EquipmentEvent): e is PublishedEvent {
  switch (e.type) {
    case 'alert.opened':
    case 'alert.updated':
    case 'alert.cleared':
    case 'alert.resolved':
      return true;
    case 'reading.recorded':
    case 'condition.pending':
    case 'condition.reset':
    case 'recovery.started':
    case 'recovery.aborted':
    case 'closed.elsewhere':
    case 'acknowledgement.recorded':
      return false;
    default:
      return unreachable(e);
  }
}

function unreachable(x: never): never {
  throw new TypeError(`unhandled ${JSON.stringify(x)}`);
}

// ---------------------------------------------------------------- evaluation

interface Observation {
  value: number;
  /** The most severe level the value breaches, if any. */
  breach: { severity: Severity; threshold: number } | null;
  /** The value is on the safe side of the clear threshold. */
  cleared: boolean;
  clearThreshold: number;
}

type Observed = { kind: 'unknown' } | { kind: 'excluded' } | ({ kind: 'value' } & Observation);

function metricValue(reading: Reading, metric: string): number | undefined {
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
function excluded(rule: DeciderRule, s: EquipmentState, ts: number): boolean {
  const defrost = rule.params.exclude_defrost;
  if (defrost) {
    if (s.heaterOn) return true;
    if (s.heaterOffAt !== null && ts - s.heaterOffAt < defrost.recovery_s * 1000) return true;
  }
  const door = rule.params.exclude_door;
  if (door) {
    if (s.doorOpen) return true;
    if (s.doorClosedAt !== null && ts - s.doorClosedAt < door.grace_s * 1000) return true;
  }
  return false;
}

function observe(rule: DeciderRule, reading: Reading, unit: UnitInfo, s: EquipmentState): Observed {
  const p = rule.params;
  const value = metricValue(reading, p.metric);
  if (value === undefined) return { kind: 'unknown' };
  const base = p.relative_to_setpoint ? (reading.setpoint ?? unit.setpoint) : 0;
  // A rule relative to a setpoint the unit does not have cannot say anything.
  if (base === null) return { kind: 'unknown' };
  if (excluded(rule, s, reading.ts)) return { kind: 'excluded' };
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
  return { kind: 'value', value, breach, cleared: !holds(value, p.op, clearThreshold), clearThreshold };
}

// ---------------------------------------------------------------- event builders

function fmt(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/** A published event of `alert`, and the AlertEvent it carries. */
function alertEvent(
  type: PublishedEvent['type'],
  unit: UnitInfo,
  alert: OpenAlert,
  ts: number,
  ruleKey: string,
  fields: {
    severity: Severity;
    previousSeverity?: Severity;
    value: number | null;
    threshold: number | null;
    message: string;
  },
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

function breachText(rule: DeciderRule, value: number, threshold: number): string {
  return `${rule.params.metric} ${fmt(value)} ${rule.params.op} ${fmt(threshold)}`;
}

function clearText(rule: DeciderRule, o: Observation): string {
  return `${rule.params.metric} ${fmt(o.value)} ${NEGATED[rule.params.op]} ${fmt(o.clearThreshold)}`;
}

function inMaintenance(windows: readonly MaintenanceWindow[], ts: number): boolean {
  return windows.some((w) => w.start <= ts && ts < w.end);
}

function open(
  rule: DeciderRule,
  unit: UnitInfo,
  o: Observation,
  ts: number,
  maintenance: readonly MaintenanceWindow[],
): EquipmentEvent {
  const breach = o.breach!;
  const alert: OpenAlert = {
    id: alertIdFor(unit.equipmentId, rule.key, ts),
    ruleId: rule.id,
    openedAt: ts,
    severity: breach.severity,
    latched: rule.latched,
    metric: rule.params.metric,
    suppressed: inMaintenance(maintenance, ts),
    acknowledged: false,
  };
  const held = rule.params.for_s ? ` for ${rule.params.for_s}s` : '';
  return alertEvent('alert.opened', unit, alert, ts, rule.key, {
    severity: breach.severity,
    value: o.value,
    threshold: breach.threshold,
    message: `${breachText(rule, o.value, breach.threshold)}${held}`,
  });
}

function updated(
  rule: DeciderRule,
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
  rule: DeciderRule,
  unit: UnitInfo,
  alert: OpenAlert,
  o: Observation,
  ts: number,
): EquipmentEvent {
  if (rule.latched && !alert.acknowledged) {
    return alertEvent('alert.cleared', unit, alert, ts, rule.key, {
      severity: alert.severity,
      value: o.value,
      threshold: o.clearThreshold,
      message: `condition cleared: ${clearText(rule, o)}; latched until closed`,
    });
  }
  return alertEvent('alert.resolved', unit, alert, ts, rule.key, {
    severity: alert.severity,
    value: o.value,
    threshold: o.clearThreshold,
    // A latched rule resolves here only when its alert was acknowledged while active.
    message: `recovered: ${clearText(rule, o)}${rule.latched ? ' (latched, acknowledged)' : ''}`,
  });
}

/** A rule that no longer applies (deleted, disabled, overridden) resolves what it left open. */
function retire(key: string, rs: RuleState, unit: UnitInfo, ts: number, why: string): EquipmentEvent[] {
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

function evaluateRule(
  rule: DeciderRule,
  rs: RuleState | undefined,
  reading: Reading,
  unit: UnitInfo,
  s: EquipmentState,
  maintenance: readonly MaintenanceWindow[],
): EquipmentEvent[] {
  const key = rule.key;
  const ts = reading.ts;
  if (rs?.phase === 'latched' && !rule.latched) return retire(key, rs, unit, ts, 'rule no longer latched');
  const o = observe(rule, reading, unit, s);
  if (o.kind === 'unknown') return [];
  const reset: EquipmentEvent = { type: 'condition.reset', data: { ruleKey: key } };
  if (o.kind === 'excluded') {
    // A breach that starts in defrost or with the door open is not one; an open alert waits.
    if (rs?.phase === 'pending' || (rs?.phase === 'latched' && rs.since !== null)) return [reset];
    return [];
  }
  const forMs = rule.params.for_s * 1000;
  const clearMs = rule.params.clear.for_s * 1000;
  const pending = (since: number, severity: Severity): EquipmentEvent => ({
    type: 'condition.pending',
    data: { ruleKey: key, since, severity },
  });
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

// ---------------------------------------------------------------- decide / evolve

export function decide(state: EquipmentState, command: EquipmentCommand, now: number): EquipmentEvent[] {
  switch (command.type) {
    case 'RecordReading': {
      const { reading, unit, rules, maintenance = [] } = command.data;
      // Duplicates and late readings: rule time never goes backwards.
      if (state.lastTs !== null && reading.ts <= state.lastTs) return [];
      const recorded: EquipmentEvent = {
        type: 'reading.recorded',
        data: {
          ts: reading.ts,
          ...(reading.heater === undefined ? {} : { heater: reading.heater }),
          ...(reading.door === undefined ? {} : { door: reading.door }),
        },
      };
      const s = evolve(state, recorded);
      const events: EquipmentEvent[] = [recorded];
      // Few rules per unit, usually no rule state: a scan, not a Set built per reading.
      for (const [key, rs] of Object.entries(s.rules)) {
        if (!rules.some((r) => r.key === key))
          events.push(...retire(key, rs, unit, reading.ts, 'rule removed or disabled'));
      }
      for (const rule of rules)
        events.push(...evaluateRule(rule, s.rules[rule.key], reading, unit, s, maintenance));
      return events;
    }
    case 'ReconcileRules': {
      const { unit, rules } = command.data;
      const byKey = new Map(rules.map((r) => [r.key, r]));
      const events: EquipmentEvent[] = [];
      for (const [key, rs] of Object.entries(state.rules)) {
        const rule = byKey.get(key);
        if (!rule) events.push(...retire(key, rs, unit, now, 'rule removed or disabled'));
        else if (rs.phase === 'latched' && !rule.latched)
          events.push(...retire(key, rs, unit, now, 'rule no longer latched'));
      }
      return events;
    }
    case 'AcknowledgeAlert': {
      const { unit, ruleKey, alertId } = command.data;
      const rs = state.rules[ruleKey];
      if (!rs || rs.phase === 'pending' || rs.alert.id !== alertId) return [];
      // Cleared and waiting for exactly this: released now, by a decision no reading caused.
      if (rs.phase === 'latched') {
        return [
          alertEvent('alert.resolved', unit, { ...rs.alert, acknowledged: true }, now, ruleKey, {
            severity: rs.alert.severity,
            value: null,
            threshold: null,
            message: 'latched alert released by acknowledgement',
          }),
        ];
      }
      if (rs.alert.acknowledged) return [];
      return [{ type: 'acknowledgement.recorded', data: { ruleKey, alertId } }];
    }
    case 'CloseAlert': {
      const { ruleKey, alertId } = command.data;
      const rs = state.rules[ruleKey];
      if (!rs || rs.phase === 'pending' || rs.alert.id !== alertId) return [];
      return [{ type: 'closed.elsewhere', data: { ruleKey, alertId } }];
    }
    default:
      return unreachable(command);
  }
}

/** The alert an event describes; what the event does not carry (acknowledged) comes from `before`. */
function openAlertOf(e: AlertEvent, before: RuleState | undefined): OpenAlert {
  const known = before && before.phase !== 'pending' && before.alert.id === e.data.alertId;
  return {
    id: e.data.alertId,
    ruleId: e.data.ruleId,
    openedAt: e.data.openedAt,
    severity: e.data.severity,
    latched: e.data.latched,
    metric: e.data.metric,
    suppressed: e.data.suppressed,
    acknowledged: known ? before.alert.acknowledged : false,
  };
}

function withRule(state: EquipmentState, key: string, rs: RuleState | null): EquipmentState {
  const rules = { ...state.rules };
  if (rs) rules[key] = rs;
  else delete rules[key];
  return { ...state, rules };
}

export function evolve(state: EquipmentState, event: EquipmentEvent): EquipmentState {
  switch (event.type) {
    case 'reading.recorded': {
      const { ts, heater, door } = event.data;
      const next = { ...state, lastTs: ts };
      if (heater !== undefined) {
        if (!heater && state.heaterOn) next.heaterOffAt = ts;
        next.heaterOn = heater;
      }
      if (door !== undefined) {
        if (!door && state.doorOpen) next.doorClosedAt = ts;
        next.doorOpen = door;
      }
      return next;
    }
    case 'condition.pending': {
      const { ruleKey, since, severity } = event.data;
      const rs = state.rules[ruleKey];
      if (rs?.phase === 'latched') return withRule(state, ruleKey, { ...rs, since });
      return withRule(state, ruleKey, { phase: 'pending', since, severity });
    }
    case 'condition.reset': {
      const rs = state.rules[event.data.ruleKey];
      if (rs?.phase === 'latched') return withRule(state, event.data.ruleKey, { ...rs, since: null });
      return withRule(state, event.data.ruleKey, null);
    }
    case 'recovery.started': {
      const rs = state.rules[event.data.ruleKey];
      if (rs?.phase !== 'firing') return state;
      return withRule(state, event.data.ruleKey, {
        phase: 'recovering',
        alert: rs.alert,
        since: event.data.since,
      });
    }
    case 'recovery.aborted': {
      const rs = state.rules[event.data.ruleKey];
      if (rs?.phase !== 'recovering') return state;
      return withRule(state, event.data.ruleKey, { phase: 'firing', alert: rs.alert });
    }
    case 'closed.elsewhere':
      return withRule(state, event.data.ruleKey, null);
    case 'acknowledgement.recorded': {
      const rs = state.rules[event.data.ruleKey];
      if (!rs || rs.phase === 'pending' || rs.alert.id !== event.data.alertId) return state;
      return withRule(state, event.data.ruleKey, { ...rs, alert: { ...rs.alert, acknowledged: true } });
    }
    case 'alert.opened':
    case 'alert.updated': {
      const key = event.data.data.ruleKey;
      return withRule(state, key, { phase: 'firing', alert: openAlertOf(event.data, state.rules[key]) });
    }
    case 'alert.cleared': {
      const key = event.data.data.ruleKey;
      return withRule(state, key, {
        phase: 'latched',
        alert: openAlertOf(event.data, state.rules[key]),
        since: null,
      });
    }
    case 'alert.resolved':
      return withRule(state, event.data.data.ruleKey, null);
    default:
      return unreachable(event);
  }
}

/** Apply a command: the events it causes and the state they lead to. */
export function handle(
  state: EquipmentState,
  command: EquipmentCommand,
  now: number,
): { events: EquipmentEvent[]; state: EquipmentState } {
  const events = decide(state, command, now);
  return { events, state: events.reduce(evolve, state) };
}
