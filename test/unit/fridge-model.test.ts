import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  demoFleet,
  initialState,
  reading,
  seededRng,
  step,
  type FridgeSpec,
} from '../../ops/demo/fridge.model.ts';

function run(spec: FridgeSpec, seconds: number, seed = 1) {
  const rng = seededRng(seed);
  let s = initialState(spec, rng);
  const out = [];
  for (let i = 0; i < seconds; i++) {
    s = step(spec, s, 1, rng);
    out.push(reading(spec, s, i * 1000));
  }
  return out;
}

test('a healthy freezer cycles its compressor and holds near the setpoint', () => {
  const spec = { ...demoFleet(2)[1]!, doorOpenRate: 0, defrostEveryS: 1e9 };
  const out = run(spec, 1800).slice(600);
  const temps = out.map((r) => r.temperature);
  assert.ok(Math.max(...temps) < spec.setpoint + 4, `max ${Math.max(...temps)}`);
  assert.ok(Math.min(...temps) > spec.setpoint - 4, `min ${Math.min(...temps)}`);
  const starts = out.filter((r, i) => i > 0 && r.compressor && !out[i - 1]!.compressor).length;
  assert.ok(starts >= 2, `compressor starts: ${starts}`);
});

test('a defrost turns the heater on, the compressor off, and warms the cabinet', () => {
  const spec = { ...demoFleet(2)[1]!, doorOpenRate: 0, defrostEveryS: 300, defrostForS: 90 };
  const out = run(spec, 900);
  const defrosting = out.filter((r) => r.heater);
  assert.ok(defrosting.length >= 90);
  assert.ok(defrosting.every((r) => !r.compressor));
});

test('the failing unit warms past its setpoint by 10 °C within 150 s', () => {
  const spec = demoFleet(1)[0]!;
  const out = run(spec, 150);
  assert.ok(out.at(-1)!.temperature > spec.setpoint + 10, `temperature ${out.at(-1)!.temperature}`);
});

test('the same seed gives the same telemetry', () => {
  const spec = demoFleet(3)[2]!;
  assert.deepEqual(run(spec, 200, 42), run(spec, 200, 42));
});
