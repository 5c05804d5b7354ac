import { ATTENDED_SLACK_MS, type AlertRuleOf, type Severity } from '../../schemas/mod.ts';
import { alertEvent, finished, opened, retire, ruleStatus } from './alert-events.ts';
import { scheduleAt } from './schedule.ts';
import {
  unreachable,
  type EquipmentEvent,
  type EquipmentState,
  type MaintenanceWindow,
  type OpenAlert,
  type Presence,
  type PublishedEvent,
  type UnitInfo,
} from './equipment.types.ts';

/**
 * Rules driven by how long a condition has held: `no_data` (no reading, or no value of one
 * metric), `door_open` (door open continuously), `defrost_overrun` (heater on). Each level
 * fires `after_s` after the condition started, so every transition has an exact instant —
 * the condition's start plus a duration — and the events are stamped with it, whichever
 * reading or timer noticed it first. A replay, a takeover after a crash or a backtest
 * therefore publishes the same alerts with the same ids and times as the uninterrupted run.
 *
 * The decider evaluates these rules at each reading (on its own time) and at each timer the
 * rule asks for (server time): the next level's instant, the end of a clear delay, or a
 * schedule boundary.
 *
 * `unattended_door` is `door_open` joined with the unit's watched camera zone: its condition
 * holds while the door is open and nobody has been seen in the zone since it opened. Presence
 * comes from the host with each command (what the zone showed up to now), so an episode in
 * which someone turns up at any time is attended and never fires — or, if it already fired,
 * clears when they are seen. Unlike the other kinds its instants depend on when the host
 * learnt of the people, so a replay may differ from the live run by the camera's lag.
 */

export type TimedRule =
  | AlertRuleOf<'no_data'>
  | AlertRuleOf<'door_open'>
  | AlertRuleOf<'defrost_overrun'>
  | AlertRuleOf<'unattended_door'>;

/** How long an unattended_door rule waits before asking again while the host catches up on people events. */
export const PRESENCE_WAIT_MS = 5_000;

const RANK: Record<Severity, number> = { info: 1, warning: 2, critical: 3 };

export function isTimed(rule: { kind: string }): rule is TimedRule {
  return (
    rule.kind === 'no_data' ||
    rule.kind === 'door_open' ||
    rule.kind === 'defrost_overrun' ||
    rule.kind === 'unattended_door'
  );
}

/** What the alert is about: the silent metric (or `reading`), `door`, `heater`. */
export function watchedMetric(rule: TimedRule): string {
  switch (rule.kind) {
    case 'no_data':
      return rule.params.metric ?? 'reading';
    case 'door_open':
    case 'unattended_door':
      return 'door';
    case 'defrost_overrun':
      return 'heater';
    default:
      return unreachable(rule);
  }
}

/** When the condition started, or null when it does not hold. */
function conditionSince(rule: TimedRule, s: EquipmentState): number | null {
  switch (rule.kind) {
    case 'no_data':
      return rule.params.metric ? (s.heard?.[rule.params.metric] ?? null) : s.lastTs;
    case 'door_open':
      return s.doorOpen ? (s.doorOpenedAt ?? null) : null;
    case 'defrost_overrun':
      return s.heaterOn ? (s.heaterOnAt ?? null) : null;
    case 'unattended_door': {
      const opened = s.doorOpen ? (s.doorOpenedAt ?? null) : null;
      // Someone seen at any time since the door opened (or just before): the episode is attended.
      return opened !== null && (s.presentAt ?? -Infinity) < opened - ATTENDED_SLACK_MS ? opened : null;
    }
    default:
      return unreachable(rule);
  }
}

/** When a condition that no longer holds ended (door closed, heater off). */
function conditionEnd(rule: TimedRule, s: EquipmentState): number | null {
  if (rule.kind === 'door_open') return s.doorClosedAt;
  if (rule.kind === 'defrost_overrun') return s.heaterOffAt;
  // Door closed, or someone came to it while it stood open.
  if (rule.kind === 'unattended_door') return s.doorOpen ? (s.presentAt ?? null) : s.doorClosedAt;
  return null;
}

function describe(rule: TimedRule, seconds: number): string {
  switch (rule.kind) {
    case 'no_data':
      return `no ${rule.params.metric ?? 'reading'} for ${seconds}s`;
    case 'door_open':
      return `door open for ${seconds}s`;
    case 'defrost_overrun':
      return `heater on (defrost) for ${seconds}s`;
    case 'unattended_door':
      return `door open for ${seconds}s with nobody at the unit`;
    default:
      return unreachable(rule);
  }
}

function alertOf(e: PublishedEvent): OpenAlert {
  const d = e.data as Extract<PublishedEvent, { type: 'alert.opened' }>['data'];
  return {
    id: d.data.alertId,
    ruleId: d.data.ruleId,
    openedAt: d.data.openedAt,
    severity: d.data.severity,
    latched: d.data.latched,
    metric: d.data.metric,
    suppressed: d.data.suppressed,
    acknowledged: false,
  };
}

export interface TimedOutcome {
  events: EquipmentEvent[];
  /** When to evaluate the rule again without a reading (server time), or null: at the next reading. */
  timer: number | null;
}

function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/**
 * The rule's transitions up to instant `t` (a reading's time, or the timer that fell due),
 * given the unit's state at `t`; `presence` is what the host knows of the watched zone.
 */
export function evaluateTimed(
  rule: TimedRule,
  s: EquipmentState,
  t: number,
  unit: UnitInfo,
  maintenance: readonly MaintenanceWindow[],
  presence?: Presence,
): TimedOutcome {
  const key = rule.key;
  let rs = s.rules[key];
  const events: EquipmentEvent[] = [];
  if (rule.kind === 'unattended_door') {
    // Without a watched zone the rule cannot tell attended from unattended: say so, never fire.
    const inert = s.unevaluable?.includes(key) ?? false;
    if (!unit.watchZoneId) {
      if (!inert) events.push(ruleStatus('rule.unevaluable', rule, unit, t, 'no_watched_zone'));
      return { events, timer: null };
    }
    if (inert) events.push(ruleStatus('rule.evaluable', rule, unit, t, 'no_watched_zone'));
  }
  let activeSince: number | null = null;
  let scheduleNext: number | null = null;
  if (rule.params.schedule) {
    const at = scheduleAt(rule.params.schedule, unit.timeZone ?? 'UTC', t);
    if (!at.active) {
      if (rs) events.push(...retire(key, rs, unit, t, "outside the rule's active schedule"));
      return { events, timer: at.next };
    }
    activeSince = at.since;
    scheduleNext = at.next;
  }
  if (rs?.phase === 'latched' && !rule.latched) {
    events.push(...retire(key, rs, unit, t, 'rule no longer latched'));
    rs = undefined;
  }
  const done = (next: number | null): TimedOutcome => ({ events, timer: earliest(next, scheduleNext) });
  const clearMs = rule.kind === 'no_data' ? 0 : (rule.params.clear_for_s ?? 0) * 1000;
  let since = conditionSince(rule, s);
  // A schedule counts the condition from the start of the active window at the earliest.
  if (since !== null && activeSince !== null) since = Math.max(since, activeSince);

  if (since === null) {
    if (!rs || rs.phase === 'latched') return { events, timer: null };
    if (rs.phase === 'pending') {
      events.push({ type: 'condition.reset', data: { ruleKey: key } });
      return { events, timer: null };
    }
    const ended = rs.phase === 'recovering' ? rs.since : (conditionEnd(rule, s) ?? t);
    const clears = ended + clearMs;
    if (clears <= t) {
      const cleared = clearMs
        ? `${watchedMetric(rule)} back to normal for ${clearMs / 1000}s`
        : `${watchedMetric(rule)} back to normal`;
      events.push(finished(rule, unit, rs.alert, clears, null, null, cleared));
      return { events, timer: null };
    }
    if (rs.phase === 'firing')
      events.push({ type: 'recovery.started', data: { ruleKey: key, since: ended } });
    return done(clears);
  }

  // The condition holds since `since`: levels from the least severe (shortest) up.
  const levels = [...rule.params.levels].reverse();
  const instant = (afterS: number): number => since + afterS * 1000;
  const next = levels.find((l) => instant(l.after_s) > t);
  const nextAt = next ? instant(next.after_s) : null;
  const reached = levels.filter((l) => instant(l.after_s) <= t);
  let alert: OpenAlert;
  if (!rs || rs.phase === 'pending' || rs.phase === 'latched') {
    // An alert about nobody being there opens only once every sighting up to now is known.
    if (rule.kind === 'unattended_door' && reached.length > 0 && !presence?.complete)
      return done(t + PRESENCE_WAIT_MS);
    const first = reached[0];
    if (!first) {
      // no_data has no pending phase: its condition restarts with every reading.
      if (!rs && rule.kind !== 'no_data')
        events.push({
          type: 'condition.pending',
          data: { ruleKey: key, since, severity: levels[0]!.severity },
        });
      return done(nextAt);
    }
    const at = instant(first.after_s);
    const fields = {
      severity: first.severity,
      value: first.after_s,
      threshold: first.after_s,
      message: describe(rule, first.after_s),
    };
    if (rs?.phase === 'latched') {
      events.push(
        alertEvent('alert.updated', unit, rs.alert, at, key, {
          ...fields,
          previousSeverity: rs.alert.severity,
          message: `condition returned: ${fields.message}`,
        }),
      );
      alert = { ...rs.alert, severity: first.severity };
    } else {
      const e = opened(rule, unit, watchedMetric(rule), at, maintenance, fields);
      events.push(e);
      alert = alertOf(e);
    }
  } else {
    if (rs.phase === 'recovering') events.push({ type: 'recovery.aborted', data: { ruleKey: key } });
    alert = rs.alert;
  }
  // Severity only climbs while the condition holds; each level at its own instant.
  for (const level of reached) {
    if (RANK[level.severity] <= RANK[alert.severity]) continue;
    events.push(
      alertEvent('alert.updated', unit, alert, instant(level.after_s), key, {
        severity: level.severity,
        previousSeverity: alert.severity,
        value: level.after_s,
        threshold: level.after_s,
        message: `severity ${alert.severity} → ${level.severity}: ${describe(rule, level.after_s)}`,
      }),
    );
    alert = { ...alert, severity: level.severity };
  }
  return done(nextAt);
}

/**
 * A reading that carries what a no_data rule waits for ends the silence: an open alert
 * resolves (or latches) at the reading's time.
 */
export function silenceEnded(
  rule: AlertRuleOf<'no_data'>,
  s: EquipmentState,
  ts: number,
  unit: UnitInfo,
): EquipmentEvent[] {
  const rs = s.rules[rule.key];
  if (!rs || rs.phase === 'pending' || rs.phase === 'latched') return [];
  const last = rule.params.metric ? s.heard?.[rule.params.metric] : s.lastTs;
  const silent = last == null ? null : Math.round((ts - last) / 1000);
  const text = `${watchedMetric(rule)} received${silent === null ? '' : ` after ${silent}s`}`;
  return [finished(rule, unit, rs.alert, ts, silent, null, text)];
}
