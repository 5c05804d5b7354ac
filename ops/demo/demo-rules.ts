import type { AlertRuleKind, RuleParamsByKind } from '../../schemas/mod.ts';

/** A tenant-wide rule of the demo: `[key, name, kind, params]`. */
export type DemoRule = {
  [K in AlertRuleKind]: { key: string; name: string; kind: K; params: RuleParamsByKind[K] };
}[AlertRuleKind];

/**
 * The demo tenant's rules: one of every kind. Each fault rule (no_data, door_open,
 * defrost_overrun, rate) is tripped by one of the demo's faulty units (fridge.model.ts
 * `demoFleet`) within minutes and by no healthy unit; `high_temp` also catches the slow
 * pull-down of a healthy freezer after a long door opening or a defrost now and then.
 */
export const DEMO_RULES: readonly DemoRule[] = [
  {
    // Relative to the setpoint, so freezers and chillers share it; defrosts and door openings
    // do not count; hysteresis on the way back.
    key: 'high_temp',
    name: 'Cabinet too warm',
    kind: 'threshold',
    params: {
      metric: 'temperature',
      op: '>',
      relative_to_setpoint: true,
      levels: [
        { severity: 'critical', value: 10 },
        { severity: 'warning', value: 4 },
      ],
      for_s: 10,
      clear: { value: 2, for_s: 10 },
      exclude_defrost: { recovery_s: 120 },
      exclude_door: { grace_s: 30 },
    },
  },
  {
    key: 'unit_silent',
    name: 'Unit not reporting',
    kind: 'no_data',
    params: {
      levels: [
        { severity: 'critical', after_s: 180 },
        { severity: 'warning', after_s: 60 },
      ],
    },
  },
  {
    key: 'door_left_open',
    name: 'Door left open',
    kind: 'door_open',
    params: {
      levels: [
        { severity: 'critical', after_s: 180 },
        { severity: 'warning', after_s: 90 },
      ],
      clear_for_s: 10,
    },
  },
  {
    // A defrost normally ends within two minutes.
    key: 'defrost_overrun',
    name: 'Defrost not ending',
    kind: 'defrost_overrun',
    params: { levels: [{ severity: 'warning', after_s: 240 }], clear_for_s: 10 },
  },
  {
    // Warming faster than a compressor cycle or a door opening explains, outside defrosts.
    key: 'fast_warmup',
    name: 'Warming fast',
    kind: 'rate',
    params: {
      metric: 'temperature',
      direction: 'rising',
      window_s: 300,
      levels: [{ severity: 'warning', per_min: 3 }],
      for_s: 60,
      clear_for_s: 60,
      exclude_defrost: { recovery_s: 180 },
    },
  },
];
