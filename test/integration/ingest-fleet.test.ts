/**
 * `npm run bench:ingest:fleet` in miniature, so the fleet run cannot rot: the bench script
 * itself, in a child process against the real services, with 20 units, a few hundred readings
 * and a two-second paced load. It must finish, report every figure of the fleet run — throughput
 * next to bare JetStream, the paced latency, the heap per actor at each point — and its load must
 * trip none of the five rules. Only the shape and the counts are asserted, never a speed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../bench/lib/child.ts';

const UNITS = 20;
const READINGS = 400;
const PACED_RATE = 200;
const PACED_S = 2;

interface Latency {
  count: number;
  sent: number;
  lost: number;
  p99: number;
}

interface FleetResult {
  readings: number;
  units: number;
  rawReadingsPerS: number;
  endToEndReadingsPerS: number;
  ratioToRaw: number;
  latencyIdleMs: Latency;
  paced: { readings: number; ratePerS: number; endToEndReadingsPerS: number; latencyMs: Latency };
  heap: Array<{
    label: string;
    actors: number;
    heapUsed: number;
    sinceStart: number | null;
    perActor: number | null;
  }>;
  alertsOfLoadUnits: Record<string, number>;
}

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(REPO_ROOT, 'node_modules', '.bin', 'node'),
      ['--import', 'tsx', 'bench/ingest.bench.ts', ...args],
      { cwd: REPO_ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the fleet run, tiny: every figure reported, the load trips no rule', { timeout: 300_000 }, async () => {
  const { code, stdout, stderr } = await runBench([
    '--fleet',
    ...['--units', String(UNITS), '--readings', String(READINGS)],
    ...['--paced-rate', String(PACED_RATE), '--paced-s', String(PACED_S)],
    ...['--idle-probes', '5', '--batch', '100', '--fetch', '100'],
  ]);
  const diagnostics = `exit ${code}\n--- stdout\n${stdout}\n--- stderr\n${stderr.slice(-4000)}`;
  assert.equal(code, 0, diagnostics);
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  assert.ok(line, diagnostics);
  const r = JSON.parse(line.slice('BENCH_RESULT '.length)) as FleetResult;

  assert.equal(r.units, UNITS);
  assert.equal(r.readings, READINGS);
  for (const [name, v] of [
    ['bare JetStream', r.rawReadingsPerS],
    ['end to end', r.endToEndReadingsPerS],
    ['ratio', r.ratioToRaw],
    ['paced end to end', r.paced.endToEndReadingsPerS],
  ] as const)
    assert.ok(Number.isFinite(v) && v > 0, `${name}: ${v}\n${diagnostics}`);

  assert.equal(r.paced.readings, PACED_RATE * PACED_S);
  assert.equal(r.paced.ratePerS, PACED_RATE);
  assert.ok(r.paced.latencyMs.count > 0, diagnostics);
  assert.ok(r.latencyIdleMs.count > 0, diagnostics);

  // The heap before any unit's actor (the probe's alone), with half the units', then all.
  assert.deepEqual(
    r.heap.map((p) => [p.label, p.actors, p.perActor === null]),
    [
      ['before the warm-up', 1, true],
      ['after half the warm-up', UNITS / 2 + 1, true],
      ['after the warm-up', UNITS + 1, false],
      ['after the load', UNITS + 1, false],
      ['after the paced load', UNITS + 1, false],
    ],
  );
  for (const p of r.heap.slice(2)) assert.ok(Number.isFinite(p.perActor), JSON.stringify(p));

  assert.deepEqual(r.alertsOfLoadUnits, {}, 'the load trips none of the fleet rules');
  assert.match(stdout, /FLEET FIGURES \(20 units × 5 rules/);
  assert.match(stdout, /memory per idle actor: +-?\d+ bytes loaded \(20 actors/);
  assert.match(stdout, /p99 publish → SSE alert: +[\d.]+ ms at 200 readings\/s/);
});
