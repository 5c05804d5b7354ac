/**
 * Issue 12's crash test, CI-sized: an actor node (a child process) SIGKILLed live with units
 * mid-pending, during recovery and during a backlog replay, restarted each time; then
 * PostgreSQL and ClickHouse rows, alerts and timelines equal an uninterrupted run of the same
 * input, and once the last node serves no alert is ever seen in a state the uninterrupted run
 * never had. The long form is bench/crash.bench.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import {
  chReadings,
  crashInput,
  dropCrashTenant,
  pgReadings,
  runReference,
  runWithCrashes,
  seedCrashTenant,
  type CrashEnv,
  type CrashTenant,
} from '../../bench/lib/crash.ts';
import { createClickHouse, createPool, loadConfig, type Pool } from '../../schemas/mod.ts';
import {
  connectNats,
  deleteNamespace,
  jetstream,
  jetstreamManager,
  names as namesFor,
  type NatsConnection,
} from '../../streams/mod.ts';
import { alertOutcomes, type AlertOutcome } from '../helpers/alert-state.ts';

const run = randomBytes(3).toString('hex');
const nsRef = `cr${run}`;
const nsCrash = `cc${run}`;
const config = loadConfig(process.env, { LOG_LEVEL: 'silent' });
const UNITS = 10;
const PER_UNIT = 90;
const T0 = Math.floor((Date.now() - 2 * 3_600_000) / 60_000) * 60_000;

let nc: NatsConnection;
let admin: Pool;
let ch: ClickHouseClient;
let env: CrashEnv;
const tenants: CrashTenant[] = [];

before(async () => {
  nc = await connectNats(config, 'crash-test');
  admin = createPool(config, 'admin', 2);
  ch = createClickHouse(config);
  env = {
    config,
    js: jetstream(nc),
    jsm: await jetstreamManager(nc),
    admin,
    ch,
    logDir: join(tmpdir(), `vigil-crash-test-${run}`),
  };
});

after(async () => {
  for (const ns of [nsRef, nsCrash]) await deleteNamespace(env.jsm, namesFor(ns)).catch(() => undefined);
  for (const t of tenants) await dropCrashTenant(admin, t.tenantId);
  await nc?.drain();
  await admin?.end();
  await ch?.close();
});

// Five node starts in child processes: longer than the suite's default per-test limit.
test(
  'killed live mid-pending, during recovery and during a backlog replay: nothing anyone can see changes',
  { timeout: 600_000 },
  async (t) => {
    const input = crashInput(UNITS, PER_UNIT, T0);
    const ref = await seedCrashTenant(admin, `crash-ref-${run}`, UNITS);
    const crash = await seedCrashTenant(admin, `crash-run-${run}`, UNITS);
    tenants.push(ref, crash);

    await runReference(env, nsRef, ref, input);
    const expected = await alertOutcomes(admin, ref.units);
    // The input exercises what the crash must not disturb: escalations and resolutions.
    assert.ok(expected.length >= UNITS, `only ${expected.length} alerts in the reference`);
    assert.ok(expected.some((a) => a.timeline.some((t) => t.action === 'updated')));
    assert.ok(expected.some((a) => a.status === 'resolved'));
    const byKey = new Map(expected.map((a) => [a.key, a]));

    const seenWrong: string[] = [];
    const check = (seen: AlertOutcome): void => {
      const want = byKey.get(seen.key);
      if (!want) seenWrong.push(`alert ${seen.key} that the uninterrupted run never opened`);
      else if (
        seen.status === 'resolved' &&
        (want.status !== 'resolved' || seen.resolvedAt !== want.resolvedAt)
      )
        seenWrong.push(
          `alert ${seen.key} resolved at ${seen.resolvedAt}, in the reference ${want.resolvedAt}`,
        );
      else if (
        seen.threshold !== null &&
        !want.timeline.some((t) => (t.data as { threshold?: number }).threshold === seen.threshold)
      )
        seenWrong.push(`alert ${seen.key} with threshold ${seen.threshold}`);
    };
    const figures = await runWithCrashes(env, nsCrash, crash, input, {
      watch: async () => {
        for (const a of await alertOutcomes(admin, crash.units)) check(a);
      },
    });

    assert.deepEqual(seenWrong, [], 'states seen after the last restart served');
    assert.deepEqual(await alertOutcomes(admin, crash.units), expected);
    const pgWant = await pgReadings(admin, ref);
    assert.equal(pgWant.length, input.length);
    assert.deepEqual(await pgReadings(admin, crash), pgWant);
    const chWant = await chReadings(ch, ref);
    assert.equal(chWant.rows.length, input.length);
    assert.deepEqual((await chReadings(ch, crash)).rows, chWant.rows);
    t.diagnostic(
      `alerts resolved ahead of their snapshots at the replay kill: ${figures.resolvedAheadAtReplayKill}`,
    );
    assert.equal(figures.restartToServingMs.length, 3);
    assert.ok(figures.heldStoredMs >= 0, 'every reading published before the last restart was stored');
  },
);
