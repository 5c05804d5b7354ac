/**
 * The demo shows every rule kind: each faulty demo unit, simulated for twenty minutes through
 * the fridge model (silent stretches dropped, as the simulator drops them), trips its rule
 * when run through the alert engine with the demo's rules; healthy units trip no fault rule.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backtest, type DeciderRule, type UnitInfo } from '../../actors/equipment/mod.ts';
import { assertRuleParams, type Reading } from '../../schemas/mod.ts';
import { DEMO_RULES } from '../../ops/demo/demo-rules.ts';
import { demoFleet, initialState, isSilent, reading, seededRng, step } from '../../ops/demo/fridge.model.ts';
import { E, RULE_ID, S, T, T0 } from '../helpers/equipment-unit.ts';

const MINUTES = 20;
const fleet = demoFleet(12);

const rules: DeciderRule[] = DEMO_RULES.map(
  (r) =>
    ({
      id: RULE_ID,
      tenantId: T,
      siteId: null,
      equipmentId: null,
      key: r.key,
      name: r.name,
      latched: false,
      enabled: true,
      kind: r.kind,
      params: assertRuleParams(r.kind, r.params),
    }) as DeciderRule,
);

/** Rule keys that opened an alert on demo unit `i` in the first MINUTES of the demo. */
function alertsOf(i: number): Set<string> {
  const spec = fleet[i]!;
  const unit: UnitInfo = { tenantId: T, siteId: S, equipmentId: E, setpoint: spec.setpoint };
  const rng = seededRng(100 + i);
  let s = initialState(spec, rng);
  const readings: Reading[] = [];
  for (let t = 1; t <= MINUTES * 60; t++) {
    s = step(spec, s, 1, rng);
    if (!isSilent(spec, s.t))
      readings.push({ tenantId: T, equipmentId: E, ...reading(spec, s, T0 + t * 1000) });
  }
  const out = backtest({ unit, rules, readings, until: T0 + MINUTES * 60_000 });
  return new Set(out.events.filter((e) => e.type === 'alert.opened').map((e) => e.data.ruleKey));
}

describe('demo fleet against the demo rules', () => {
  test('the demo seeds one rule of every kind, each valid', () => {
    assert.deepEqual([...new Set(DEMO_RULES.map((r) => r.kind))].sort(), [
      'defrost_overrun',
      'door_open',
      'no_data',
      'rate',
      'threshold',
    ]);
  });

  const expected: Array<[number, string, string[]]> = [
    [0, 'loses its refrigerant', ['fast_warmup', 'high_temp']],
    [1, 'goes silent', ['unit_silent']],
    [2, 'has its door left ajar', ['door_left_open']],
    [3, 'has a defrost that does not end', ['defrost_overrun']],
  ];
  for (const [i, what, keys] of expected) {
    test(`unit ${i} ${what}: ${keys.join(', ')}`, () => {
      const got = alertsOf(i);
      for (const k of keys) assert.ok(got.has(k), `unit ${i} raised ${[...got].join(', ') || 'nothing'}`);
    });
  }

  test('healthy units trip none of the fault rules', () => {
    const faults = new Set(['unit_silent', 'door_left_open', 'defrost_overrun', 'fast_warmup']);
    const tripped = Array.from({ length: fleet.length - 4 }, (_, k) => [
      k + 4,
      [...alertsOf(k + 4)].filter((key) => faults.has(key)),
    ]);
    assert.deepEqual(
      tripped.filter(([, keys]) => (keys as string[]).length > 0),
      [],
    );
  });
});
