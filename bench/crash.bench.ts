/**
 * `npm run bench:crash` — issue 12's crash test in its long form: the same readings through an
 * uninterrupted actor node and through one SIGKILLed live (units mid-pending), during recovery
 * and during a backlog replay, each in a child process. Prints, per run and as medians: restart
 * → every partition serving, the last restart → every reading published before it stored in
 * both stores, and whether alerts, timelines and both stores ended identical. Asserts nothing.
 *
 *   npm run bench:crash -- --units 200 --per-unit 300 --rate 800 --runs 3
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { alertOutcomes } from '../test/helpers/alert-state.ts';
import { createClickHouse, createPool, loadConfig, migrate } from '../schemas/mod.ts';
import {
  connectNats,
  deleteNamespace,
  jetstream,
  jetstreamManager,
  names as namesFor,
} from '../streams/mod.ts';
import {
  chReadings,
  crashInput,
  dropCrashTenant,
  pgReadings,
  runReference,
  runWithCrashes,
  seedCrashTenant,
  type CrashEnv,
} from './lib/crash.ts';
import { NatsWatch } from './lib/nats-watch.ts';
import { phaseTable } from './lib/start-phases.ts';

const { values } = parseArgs({
  options: {
    units: { type: 'string', default: '200' },
    'per-unit': { type: 'string', default: '300' },
    rate: { type: 'string', default: '800' },
    runs: { type: 'string', default: '3' },
  },
});
const units = Number(values.units);
const perUnit = Number(values['per-unit']);
const runs = Number(values.runs);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
}

const say = (line: string): void => void process.stderr.write(`[crash] ${line}\n`);

const config = loadConfig(process.env, { LOG_LEVEL: 'warn' });
await migrate(config);
const nc = await connectNats(config, 'bench-crash');
const admin = createPool(config, 'admin', 2);
const ch = createClickHouse(config);
const env: CrashEnv = {
  config,
  js: jetstream(nc),
  jsm: await jetstreamManager(nc),
  admin,
  ch,
  logDir: join(tmpdir(), 'vigil-bench-crash'),
  rate: Number(values.rate),
  progress: say,
};
const serving: number[] = [];
const steps: Array<Record<string, number | null>> = [];
const held: number[] = [];
const verdicts: string[] = [];
const watches: string[] = [];
try {
  for (let run = 1; run <= runs; run++) {
    const id = randomBytes(3).toString('hex');
    const t0 = Math.floor((Date.now() - 24 * 3_600_000) / 60_000) * 60_000;
    const input = crashInput(units, perUnit, t0);
    const ref = await seedCrashTenant(admin, `bench-crash-ref-${id}`, units);
    const crash = await seedCrashTenant(admin, `bench-crash-run-${id}`, units);
    try {
      say(`run ${run}: ${input.length} readings over ${units} units at ${values.rate}/s — reference`);
      const streams = (ns: string): string[] => [namesFor(ns).telemetry.stream, namesFor(ns).events.stream];
      const verbose = process.env['BENCH_WATCH'] === 'verbose' ? say : null;
      const refWatch = new NatsWatch(env.jsm, streams(`br${id}`), 2000, verbose);
      await runReference(env, `br${id}`, ref, input, { watch: () => refWatch.sample() });
      say(`run ${run}: reference: ${refWatch.summary()}`);
      say(`run ${run}: with kills`);
      const crashWatch = new NatsWatch(env.jsm, streams(`bc${id}`), 2000, verbose);
      const f = await runWithCrashes(env, `bc${id}`, crash, input, { watch: () => crashWatch.sample() });
      say(`run ${run}: after the last restart: ${crashWatch.summary()}`);
      watches.push(
        `run ${run}: reference: ${refWatch.summary()}\n  after the last restart: ${crashWatch.summary()}`,
      );
      serving.push(...f.restartToServingMs);
      steps.push(...f.restartSteps);
      held.push(f.heldStoredMs);
      const same = {
        alerts: isDeepStrictEqual(
          await alertOutcomes(admin, crash.units),
          await alertOutcomes(admin, ref.units),
        ),
        postgres: isDeepStrictEqual(await pgReadings(admin, crash), await pgReadings(admin, ref)),
        clickhouse: isDeepStrictEqual((await chReadings(ch, crash)).rows, (await chReadings(ch, ref)).rows),
      };
      const verdict = `run ${run}: restart→serving ${f.restartToServingMs.map((ms) => ms.toFixed(0)).join(', ')} ms; held stored ${f.heldStoredMs.toFixed(0)} ms after restart; alerts resolved ahead of their snapshots at the replay kill ${f.resolvedAheadAtReplayKill}; identical ${JSON.stringify(same)}`;
      const { sinks, loopMaxMs } = f.afterLastRestart;
      const redeliveries = Object.entries(sinks)
        .map(([name, c]) => `${name} ${c.redelivered} (${c.expiredWhileHeld} expired while it held them)`)
        .join(', ');
      const loop = loopMaxMs
        .slice(0, 20)
        .map((ms) => ms.toFixed(0))
        .join(' ');
      verdicts.push(verdict);
      say(verdict);
      say(`run ${run}: last restarted node: redeliveries ${redeliveries}`);
      say(`run ${run}: its worst event-loop delay per second, first 20 s (ms): ${loop}`);
    } finally {
      for (const ns of [`br${id}`, `bc${id}`])
        await deleteNamespace(env.jsm, namesFor(ns)).catch(() => undefined);
      await dropCrashTenant(admin, ref.tenantId);
      await dropCrashTenant(admin, crash.tenantId);
    }
  }
} finally {
  await nc.drain();
  await admin.end();
  await ch.close();
}
process.stdout.write(
  [
    ...verdicts,
    ...watches,
    `median restart → all partitions serving: ${median(serving).toFixed(0)} ms (${serving.length} restarts)`,
    `median last restart → held readings stored: ${median(held).toFixed(0)} ms (${held.length} runs)`,
    'restarts: each step ended, ms since the spawn (median, restarts)',
    ...phaseTable(steps),
  ].join('\n') + '\n',
);
