import type { AlertEvent, Reading } from '../../schemas/mod.ts';
import {
  handle,
  initialState,
  isAlertEvent,
  type DeciderRule,
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
}

/**
 * Run rules over history through the live decider: the alert events they would have raised.
 * Pure — the caller loads readings (and should pass draft rules validated by parseAlertRule).
 */
export function backtest(input: BacktestInput): { events: AlertEvent[]; state: EquipmentState } {
  let state = input.state ?? initialState();
  const events: AlertEvent[] = [];
  for (const reading of input.readings) {
    // Only rule-driven decisions happen in a backtest, so server time is the reading's own.
    const r = handle(
      state,
      {
        type: 'RecordReading',
        data: { reading, unit: input.unit, rules: input.rules, maintenance: input.maintenance ?? [] },
      },
      reading.ts,
    );
    for (const e of r.events) if (isAlertEvent(e)) events.push(e.data);
    state = r.state;
  }
  return { events, state };
}
