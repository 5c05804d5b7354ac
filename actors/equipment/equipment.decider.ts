import type { AlertEvent, Reading } from '../../schemas/mod.ts';
import { alertEvent, retire } from './alert-events.ts';
import { evaluateReadingRule, metricValue } from './reading-rules.ts';
import { scheduleAt } from './schedule.ts';
import { evaluateTimed, isTimed, silenceEnded, type TimedRule } from './timed-rules.ts';
import {
  unreachable,
  type DeciderRule,
  type EquipmentCommand,
  type EquipmentEvent,
  type EquipmentState,
  type MaintenanceWindow,
  type OpenAlert,
  type Presence,
  type PublishedEvent,
  type RuleState,
  type UnitInfo,
} from './equipment.types.ts';

export type {
  Presence,
  DeciderRule,
  EquipmentCommand,
  EquipmentEvent,
  EquipmentState,
  MaintenanceWindow,
  OpenAlert,
  PublishedEvent,
  RuleState,
  UnitInfo,
} from './equipment.types.ts';

/**
 * The equipment actor's logic: pure `decide(state, command, now) → events` and
 * `evolve(state, event) → state`. No I/O and no clock. Rules on values (threshold, rate) run
 * on the reading's own time; rules on durations (no_data, door_open, defrost_overrun) also
 * run on server time, through timers kept in the state: `nextWakeAt(state)` says when the
 * host must send `Wake`, and every transition is stamped with the exact instant it happened
 * (a condition's start plus a duration), so a late wake, a replay after a restart, a takeover
 * and a backtest all publish the same events with the same ids. `now` otherwise only stamps
 * decisions no reading caused (a rule removed while its alert is open).
 *
 * Per (unit, rule key): normal → pending → firing → recovering → normal, for every kind (see
 * reading-rules.ts and timed-rules.ts). A rule with a schedule is off outside it, in the
 * site's time zone. An alert opened while the unit is in a maintenance window is flagged
 * suppressed: still recorded and published, for the notifiers and dashboards to hold back.
 */

export function initialState(): EquipmentState {
  return { lastTs: null, heaterOn: null, heaterOffAt: null, doorOpen: null, doorClosedAt: null, rules: {} };
}

/** Events that leave the actor (to the EVENTS stream); the rest only move its state. */
export function isPublished(e: EquipmentEvent): e is PublishedEvent {
  switch (e.type) {
    case 'alert.opened':
    case 'alert.updated':
    case 'alert.cleared':
    case 'alert.resolved':
    case 'rule.unevaluable':
    case 'rule.evaluable':
      return true;
    case 'reading.recorded':
    case 'presence.seen':
    case 'condition.pending':
    case 'condition.reset':
    case 'recovery.started':
    case 'recovery.aborted':
    case 'closed.elsewhere':
    case 'acknowledgement.recorded':
    case 'series.updated':
    case 'timer.set':
      return false;
    default:
      return unreachable(e);
  }
}

export type AlertPublished = Extract<PublishedEvent, { data: AlertEvent }>;

/** Published events about an alert (not about a rule's status). */
export function isAlertEvent(e: EquipmentEvent): e is AlertPublished {
  return e.type.startsWith('alert.');
}

/**
 * The earliest server time (epoch ms) at which a time-driven rule must be evaluated again
 * (send `Wake` then), or null when only a reading can change anything.
 */
export function nextWakeAt(state: EquipmentState): number | null {
  let min: number | null = null;
  for (const key in state.timers) {
    const at = state.timers[key]!;
    if (min === null || at < min) min = at;
  }
  return min;
}

/** Events as they are decided, each applied at once so the next decision sees it. */
class Decision {
  state: EquipmentState;
  readonly events: EquipmentEvent[] = [];

  constructor(state: EquipmentState) {
    this.state = state;
  }

  push(events: Iterable<EquipmentEvent>): void {
    for (const e of events) {
      this.events.push(e);
      this.state = evolve(this.state, e);
    }
  }

  timer(ruleKey: string, at: number | null): void {
    if ((this.state.timers?.[ruleKey] ?? null) !== at)
      this.push([{ type: 'timer.set', data: { ruleKey, at } }]);
  }
}

interface RuleContext {
  unit: UnitInfo;
  rules: readonly DeciderRule[];
  maintenance: readonly MaintenanceWindow[];
  presence?: Presence;
}

/** What the host says the watched zone showed, folded in before any rule is evaluated. */
function seePresence(d: Decision, presence: Presence | undefined): void {
  const at = presence?.lastSeenAt;
  if (at !== null && at !== undefined && at > (d.state.presentAt ?? -Infinity))
    d.push([{ type: 'presence.seen', data: { at } }]);
}

/**
 * Every timer of a time-driven rule that falls due before `limit` (a reading's time; or up to
 * and including it, for a wake), each evaluated at its own instant, earliest first — the
 * order a host with exact timers would have woken the actor in.
 */
function runTimers(d: Decision, ctx: RuleContext, limit: number, inclusive: boolean): void {
  if (!d.state.timers) return;
  // Each evaluation moves its rule's timer strictly forward; the bound only guards against a bug.
  for (let i = 0; i < 64 * ctx.rules.length; i++) {
    let due: { rule: TimedRule; at: number } | null = null;
    for (const rule of ctx.rules) {
      const at = d.state.timers?.[rule.key];
      if (at === undefined || !isTimed(rule) || (due && at >= due.at)) continue;
      if (at < limit || (inclusive && at === limit)) due = { rule, at };
    }
    if (!due) return;
    const outcome = evaluateTimed(due.rule, d.state, due.at, ctx.unit, ctx.maintenance, ctx.presence);
    d.push(outcome.events);
    d.timer(due.rule.key, outcome.timer);
  }
}

/** Rule keys with state or timers that no rule claims any more end, at `ts`. */
function retireRemoved(d: Decision, ctx: RuleContext, ts: number): void {
  for (const [key, rs] of Object.entries(d.state.rules)) {
    if (!ctx.rules.some((r) => r.key === key))
      d.push(retire(key, rs, ctx.unit, ts, 'rule removed or disabled'));
  }
  for (const key in d.state.timers) if (!ctx.rules.some((r) => r.key === key)) d.timer(key, null);
}

function recordReading(d: Decision, reading: Reading, ctx: RuleContext): void {
  const ts = reading.ts;
  runTimers(d, ctx, ts, false);
  let heard: string[] | undefined;
  for (const rule of ctx.rules) {
    if (rule.kind !== 'no_data') continue;
    const m = rule.params.metric;
    const carries = m === undefined || metricValue(reading, m) !== undefined;
    // The silence ends before the reading moves the clock it is measured from.
    if (carries) d.push(silenceEnded(rule, d.state, ts, ctx.unit));
    if (m !== undefined && (carries || d.state.heard?.[m] === undefined)) (heard ??= []).push(m);
  }
  d.push([
    {
      type: 'reading.recorded',
      data: {
        ts,
        ...(reading.heater === undefined ? {} : { heater: reading.heater }),
        ...(reading.door === undefined ? {} : { door: reading.door }),
        ...(reading.setpoint === undefined ? {} : { setpoint: reading.setpoint }),
        ...(heard ? { heard } : {}),
      },
    },
  ]);
  retireRemoved(d, ctx, ts);
  for (const rule of ctx.rules) {
    if (isTimed(rule)) {
      const outcome = evaluateTimed(rule, d.state, ts, ctx.unit, ctx.maintenance, ctx.presence);
      d.push(outcome.events);
      d.timer(rule.key, outcome.timer);
      continue;
    }
    const schedule = rule.params.schedule;
    if (schedule && !scheduleAt(schedule, ctx.unit.timeZone ?? 'UTC', ts).active) {
      const rs = d.state.rules[rule.key];
      if (rs) d.push(retire(rule.key, rs, ctx.unit, ts, "outside the rule's active schedule"));
      continue;
    }
    d.push(evaluateReadingRule(rule, reading, ctx.unit, d.state, ctx.maintenance));
  }
}

function run(state: EquipmentState, command: EquipmentCommand, now: number): Decision {
  const d = new Decision(state);
  switch (command.type) {
    case 'RecordReading': {
      const { reading, unit, rules, maintenance = [], presence } = command.data;
      // Duplicates and late readings: rule time never goes backwards.
      if (state.lastTs !== null && reading.ts <= state.lastTs) return d;
      seePresence(d, presence);
      recordReading(d, reading, { unit, rules, maintenance, presence });
      return d;
    }
    case 'Wake': {
      const { unit, rules, maintenance = [], presence } = command.data;
      seePresence(d, presence);
      runTimers(d, { unit, rules, maintenance, presence }, now, true);
      return d;
    }
    case 'ReconcileRules': {
      const { unit, rules } = command.data;
      const byKey = new Map(rules.map((r) => [r.key, r]));
      for (const [key, rs] of Object.entries(state.rules)) {
        const rule = byKey.get(key);
        if (!rule) d.push(retire(key, rs, unit, now, 'rule removed or disabled'));
        else if (rs.phase === 'latched' && !rule.latched)
          d.push(retire(key, rs, unit, now, 'rule no longer latched'));
      }
      for (const key in d.state.timers) if (!byKey.has(key)) d.timer(key, null);
      // A new time-driven rule starts its timer now, not at the unit's next reading: a unit
      // already silent must still be noticed. Its instants come from the state, not from `now`.
      if (state.lastTs !== null) {
        for (const rule of rules) {
          if (!isTimed(rule) || d.state.timers?.[rule.key] !== undefined || d.state.rules[rule.key]) continue;
          const outcome = evaluateTimed(rule, d.state, Math.max(now, state.lastTs), unit, []);
          d.push(outcome.events);
          d.timer(rule.key, outcome.timer);
        }
      }
      return d;
    }
    case 'AcknowledgeAlert': {
      const { unit, ruleKey, alertId } = command.data;
      const rs = state.rules[ruleKey];
      if (!rs || rs.phase === 'pending' || rs.alert.id !== alertId) return d;
      // Cleared and waiting for exactly this: released now, by a decision no reading caused.
      if (rs.phase === 'latched') {
        d.push([
          alertEvent('alert.resolved', unit, { ...rs.alert, acknowledged: true }, now, ruleKey, {
            severity: rs.alert.severity,
            value: null,
            threshold: null,
            message: 'latched alert released by acknowledgement',
          }),
        ]);
      } else if (!rs.alert.acknowledged) {
        d.push([{ type: 'acknowledgement.recorded', data: { ruleKey, alertId } }]);
      }
      return d;
    }
    case 'CloseAlert': {
      const { ruleKey, alertId } = command.data;
      const rs = state.rules[ruleKey];
      if (!rs || rs.phase === 'pending' || rs.alert.id !== alertId) return d;
      d.push([{ type: 'closed.elsewhere', data: { ruleKey, alertId } }]);
      return d;
    }
    default:
      return unreachable(command);
  }
}

export function decide(state: EquipmentState, command: EquipmentCommand, now: number): EquipmentEvent[] {
  return run(state, command, now).events;
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

/** `map` with `key` set, or removed when `value` is null; an empty map is dropped (snapshots stay small). */
function withEntry<T>(
  map: Record<string, T> | undefined,
  key: string,
  value: T | null,
): Record<string, T> | undefined {
  const next = { ...map };
  if (value === null) delete next[key];
  else next[key] = value;
  for (const _ in next) return next;
  return undefined;
}

function withRule(state: EquipmentState, key: string, rs: RuleState | null): EquipmentState {
  const rules = { ...state.rules };
  if (rs) rules[key] = rs;
  else delete rules[key];
  return { ...state, rules };
}

export function evolve(state: EquipmentState, event: EquipmentEvent): EquipmentState {
  switch (event.type) {
    case 'presence.seen':
      return { ...state, presentAt: event.data.at };
    case 'reading.recorded': {
      const { ts, heater, door, setpoint, heard } = event.data;
      const next = { ...state, lastTs: ts };
      if (heater !== undefined) {
        if (!heater && state.heaterOn) next.heaterOffAt = ts;
        if (heater && !state.heaterOn) next.heaterOnAt = ts;
        next.heaterOn = heater;
      }
      if (door !== undefined) {
        if (!door && state.doorOpen) next.doorClosedAt = ts;
        if (door && !state.doorOpen) next.doorOpenedAt = ts;
        next.doorOpen = door;
      }
      if (setpoint !== undefined) next.setpoint = setpoint;
      if (heard) {
        next.heard = { ...state.heard };
        for (const m of heard) next.heard[m] = ts;
      }
      return next;
    }
    case 'series.updated': {
      const { ruleKey, samples } = event.data;
      return { ...state, series: withEntry(state.series, ruleKey, samples) };
    }
    case 'timer.set': {
      const { ruleKey, at } = event.data;
      return { ...state, timers: withEntry(state.timers, ruleKey, at) };
    }
    case 'rule.unevaluable': {
      const key = event.data.data.ruleKey;
      return { ...state, unevaluable: [...(state.unevaluable ?? []).filter((k) => k !== key), key] };
    }
    case 'rule.evaluable': {
      const key = event.data.data.ruleKey;
      const rest = (state.unevaluable ?? []).filter((k) => k !== key);
      const next = { ...state };
      if (rest.length) next.unevaluable = rest;
      else delete next.unevaluable;
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
  const d = run(state, command, now);
  return { events: d.events, state: d.state };
}
