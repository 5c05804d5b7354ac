/**
 * Memory of idle equipment actors' decider state, and the decider's own speed, with the
 * ingest bench's five rules (one of every kind, bench/lib/seed.ts). Prints bytes per actor (heap, after GC) and per
 * snapshot (JSON), and readings/s through `handle` on one core.
 *
 *   node --expose-gc --import tsx bench/actor-memory.bench.ts [--units 10000]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import {
  handleEquipmentCommand,
  initialEquipmentState,
  type DeciderRule,
  type EquipmentState,
  type UnitInfo,
} from '../actors/mod.ts';
import { parseAlertRule } from '../schemas/mod.ts';
import { BENCH_QUIET_RULES, BENCH_RULE } from './lib/seed.ts';

const { values } = parseArgs({ options: { units: { type: 'string' } } });
const units = Number(values.units ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const T = '11111111-1111-4111-8111-111111111111';
const S = '22222222-2222-4222-8222-222222222222';
const rows: Array<readonly [string, string, unknown]> = [
  ['bench_high_temp', 'threshold', BENCH_RULE],
  ...BENCH_QUIET_RULES,
];
const rules: DeciderRule[] = rows.map(([key, kind, params], i) => {
  const parsed = parseAlertRule({
    id: `00000000-0000-4000-8000-00000000000${i}`,
    tenant_id: T,
    site_id: null,
    equipment_id: null,
    key,
    kind,
    name: key,
    params,
    latched: false,
    enabled: true,
  });
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.rule;
});

const uuid = (n: number): string => `33333333-3333-4333-8333-${n.toString(16).padStart(12, '0')}`;
const T0 = Date.UTC(2025, 0, 1);
/** Readings per actor before it goes idle: enough to fill the rate window's samples. */
const WARM = 30;

gc();
const before = process.memoryUsage().heapUsed;
const states: EquipmentState[] = [];
const infos: UnitInfo[] = [];
let handled = 0;
const started = performance.now();
for (let u = 0; u < units; u++) {
  const unit: UnitInfo = { tenantId: T, siteId: S, equipmentId: uuid(u), setpoint: 3, timeZone: 'UTC' };
  let state = initialEquipmentState();
  for (let i = 0; i < WARM; i++) {
    const reading = {
      tenantId: T,
      equipmentId: unit.equipmentId,
      ts: T0 + i * 30_000,
      temperature: 3 + (i % 3) * 0.1,
      door: false,
      heater: false,
      compressor: i % 2 === 0,
      fan: true,
    };
    state = handleEquipmentCommand(
      state,
      { type: 'RecordReading', data: { reading, unit, rules } },
      reading.ts,
    ).state;
    handled++;
  }
  states.push(state);
  infos.push(unit);
}
const elapsed = performance.now() - started;
gc();
const after = process.memoryUsage().heapUsed;
const snapshot = JSON.stringify(states[0]).length;
const perActor = (after - before) / units;
console.log(`decider state of ${units} idle actors, 5 rules each (one per kind), after ${WARM} readings:`);
console.log(`  heap per actor (state + unit info): ${Math.round(perActor)} bytes`);
console.log(`  snapshot (JSON state) per actor:    ${snapshot} bytes`);
console.log(
  `  decider throughput: ${Math.round(handled / (elapsed / 1000))} readings/s on one core (${handled} readings)`,
);
// Keep the states reachable until measured.
if (states.length + infos.length < 0) console.log('unreachable');
