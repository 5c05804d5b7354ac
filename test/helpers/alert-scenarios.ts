/**
 * Alert event histories produced by the real decider, for tests of whatever consumes them
 * (the alerts sink, crash tests): a unit, a threshold rule, and readings that walk an alert
 * through every event kind.
 */
import {
  handleEquipmentCommand,
  initialEquipmentState,
  type DeciderRule,
  type EquipmentState,
  type UnitInfo,
} from '../../actors/mod.ts';
import type { AlertEvent, ThresholdParams } from '../../schemas/mod.ts';

/** Warning above 5, critical above 8, no hold; clears at or below 4. */
export function thresholdRule(
  unit: UnitInfo,
  extra: { id?: string; latched?: boolean; params?: Partial<ThresholdParams> } = {},
): DeciderRule {
  return {
    id: extra.id ?? null,
    tenantId: unit.tenantId,
    siteId: null,
    equipmentId: null,
    key: 'high_temp',
    name: 'High temperature',
    latched: extra.latched ?? false,
    enabled: true,
    kind: 'threshold',
    params: {
      metric: 'temperature',
      op: '>',
      levels: [
        { severity: 'critical', value: 8 },
        { severity: 'warning', value: 5 },
      ],
      for_s: 0,
      clear: { value: 4, for_s: 0 },
      ...extra.params,
    },
  };
}

/** The alert events the decider publishes for `temperatures[i]` read at `t0 + i` minutes. */
export function alertEventsFor(
  unit: UnitInfo,
  rule: DeciderRule,
  t0: number,
  temperatures: readonly number[],
): AlertEvent[] {
  return runDecider(unit, rule, t0, temperatures).events;
}

/** `alertEventsFor`, and the actor state the readings leave. */
export function runDecider(
  unit: UnitInfo,
  rule: DeciderRule,
  t0: number,
  temperatures: readonly number[],
): { events: AlertEvent[]; state: EquipmentState } {
  let state: EquipmentState = initialEquipmentState();
  const out: AlertEvent[] = [];
  temperatures.forEach((temperature, i) => {
    const reading = {
      tenantId: unit.tenantId,
      equipmentId: unit.equipmentId,
      ts: t0 + i * 60_000,
      temperature,
    };
    const r = handleEquipmentCommand(
      state,
      { type: 'RecordReading', data: { reading, unit, rules: [rule] } },
      0,
    );
    state = r.state;
    for (const e of r.events) {
      const alert =
        e.type === 'alert.opened' ||
        e.type === 'alert.updated' ||
        e.type === 'alert.cleared' ||
        e.type === 'alert.resolved';
      if (alert) out.push(e.data);
    }
  });
  return { events: out, state };
}

/**
 * Two alerts of one unit: the first opens as a warning, escalates to critical and resolves;
 * the second opens at once after and resolves too.
 */
export const TWO_ALERTS: readonly number[] = [3, 6, 9, 9.5, 3, 3, 7, 2];
