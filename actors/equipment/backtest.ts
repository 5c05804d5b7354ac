import type { AlertEvent, Reading } from '../../schemas/mod.ts';
import {
  handle,
  initialState,
  isAlertEvent,
  type DeciderRule,
  type EquipmentEvent,
  type EquipmentState,
  type MaintenanceWindow,
  type UnitInfo,
} from './equipment.decider.ts';

export interface BacktestInput {
  unit: UnitInfo;
  rules: readonly DeciderRule[];
  /** Stored readings of the unit, oldest first. */
  readings: Iterable<Reading>;
  /** State to start from; default a unit with no history. */
  state?: EquipmentState;
  /** The unit's maintenance windows: alerts opening inside one come out suppressed, as live. */
  maintenance?: readonly MaintenanceWindow[];
  /**
   * End of the range (epoch ms): timers due after the last reading up to here fire too, as
   * the live host's wake-ups would have (a unit that fell silent before the end still alerts).
   */
  until?: number;
}

export interface BacktestOutput {
  events: AlertEvent[];
  state: EquipmentState;
  /** Rule keys the unit could not evaluate at some point (a relative rule with no setpoint). */
  unevaluable: string[];
}

/**
 * Run rules over history through the live decider: the alert events they would have raised.
 * Pure — the caller loads readings (and should pass draft rules validated by parseAlertRule).
 * Readings run every timer due before them at its own instant, so the result equals the live
 * run with wake-ups, instant for instant.
 */
export function backtest(input: BacktestInput): BacktestOutput {
  let state = input.state ?? initialState();
  const events: AlertEvent[] = [];
  const unevaluable = new Set<string>();
  const collect = (out: EquipmentEvent[]): void => {
    for (const e of out) {
      if (isAlertEvent(e)) events.push(e.data);
      else if (e.type === 'rule.unevaluable') unevaluable.add(e.data.data.ruleKey);
    }
  };
  const maintenance = input.maintenance ?? [];
  for (const reading of input.readings) {
    // Only rule-driven decisions happen in a backtest, so server time is the reading's own.
    const r = handle(
      state,
      { type: 'RecordReading', data: { reading, unit: input.unit, rules: input.rules, maintenance } },
      reading.ts,
    );
    collect(r.events);
    state = r.state;
  }
  if (input.until !== undefined) {
    const r = handle(
      state,
      { type: 'Wake', data: { unit: input.unit, rules: input.rules, maintenance } },
      input.until,
    );
    collect(r.events);
    state = r.state;
  }
  return { events, state, unevaluable: [...unevaluable] };
}

/**
 * How much history before a backtest's range the rule needs to start in the state the live
 * engine would have been in (a pending `for`, a rate window, a condition already running).
 */
export function warmupMs(rule: DeciderRule): number {
  switch (rule.kind) {
    case 'threshold':
      return (rule.params.for_s + rule.params.clear.for_s) * 1000;
    case 'rate':
      return (rule.params.window_s + rule.params.for_s) * 1000;
    case 'no_data':
    case 'door_open':
    case 'defrost_overrun':
    case 'unattended_door':
      return rule.params.levels[0]!.after_s * 1000;
    default: {
      const unknown: never = rule;
      return unknown;
    }
  }
}
