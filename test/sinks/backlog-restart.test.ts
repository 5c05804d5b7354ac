/**
 * Issue 12, finding 3: after a restart, a telemetry sink that reattached to its durable behind
 * a backlog was served at a fraction of its rate before the restart, while nats-server burnt
 * CPU. On nats-server 2.9.10 (Debian bookworm's), a consumer info request — every reattach
 * makes two — recounts a *filtered* consumer's pending messages by scanning the stream block
 * it is in, message by message against every subject its filter matches; when that block is
 * also the stream's last and the consumer is in its first half, the count comes back with no
 * last sequence, and from then on the server recounts it for every message it delivers
 * (fixed upstream in 2.9.15). The sinks take every message of TELEMETRY, so they need no
 * filter, and an unfiltered consumer's count is arithmetic. This test restarts a sink behind a
 * backlog in one block over 200 units and compares its rate with the rate before the restart.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnitRegistry } from '../../actors/mod.ts';
import { telemetrySinkRunner } from '../../actors/sinks/sink.service.ts';
import { createLogger, createPool, type Pool } from '../../schemas/mod.ts';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { ensureSnapshotBucket, publishReading, type ConsumerRunner } from '../../streams/mod.ts';
import { dropCrashTenant, seedCrashTenant, type CrashTenant } from '../../bench/lib/crash.ts';
import { natsNamespace } from '../helpers/nats-namespace.ts';
import { waitFor } from '../helpers/wait.ts';

const fx = natsNamespace('sink-backlog-test');
const UNITS = 200;
/** About 5 MB of readings: one stream block (8 MB), so the backlog ends in the block the sink is in. */
const BACKLOG = 20_000;
/** The telemetry_ch sink's batching when the finding was seen (it batches up to 10 000 now). */
const BATCH = 1000;
/**
 * Messages over which each runner's rate is taken, after its first batch: four batches, so the
 * two the client had already buffered (its pull is two batches) do not make the rate; and small
 * enough that a held first runner stops below BACKLOG / 2 (2 × BATCH + SPAN − 1 handled, plus at
 * most `max_ack_pending` = 4 × BATCH delivered: 9,999).
 */
const SPAN = 4000;

let admin: Pool;
let tenant: CrashTenant;
let registry: UnitRegistry;

before(async () => {
  admin = createPool(fx.config, 'admin', 2);
  tenant = await seedCrashTenant(admin, `sink-backlog-${fx.ns}`, UNITS);
  registry = new UnitRegistry(admin);
});

after(async () => {
  await dropCrashTenant(admin, tenant.tenantId);
  await admin.end();
});

/**
 * Measures a sink's rate in its own handler: from the end of its first batch to the end of the
 * batch that reaches `BATCH + SPAN` messages. With `hold`, the handler then waits for
 * `release()`, so the runner stops at a known count — at most `2 × BATCH + SPAN` handled, plus
 * what the server had delivered (`max_ack_pending`, 4 batches) — rather than wherever a timer
 * caught it on a fast machine.
 */
function meter(hold: boolean) {
  let seen = 0;
  let from: { n: number; at: number } | null = null;
  let done!: (rate: number) => void;
  const rate = new Promise<number>((resolve) => (done = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const handle = async (batch: readonly unknown[]): Promise<undefined> => {
    const measuring = seen < BATCH + SPAN;
    seen += batch.length;
    if (from === null && seen >= BATCH) from = { n: seen, at: performance.now() };
    else if (from !== null && measuring && seen >= BATCH + SPAN)
      done(((seen - from.n) / (performance.now() - from.at)) * 1000);
    if (hold && !measuring) await released;
    return undefined;
  };
  return { handle, rate, release };
}

async function startSink(
  handle: (batch: readonly unknown[]) => Promise<undefined>,
  name = 'telemetry_backlog',
): Promise<ConsumerRunner<unknown>> {
  const runner = telemetrySinkRunner(
    {
      config: fx.config,
      log: createLogger(fx.config, 'sink-backlog-test'),
      nc: fx.nc,
      js: fx.js,
      jsm: fx.jsm,
      names: fx.names,
      kv: await ensureSnapshotBucket(fx.js, fx.names),
      units: registry,
    },
    name,
    { handle, batchSize: BATCH, lingerMs: 100 },
  );
  await runner.start();
  return runner as ConsumerRunner<unknown>;
}

/** Waits for a meter's rate; a starved runner is what this test looks for, so it gets long. */
function rateOf(m: ReturnType<typeof meter>): Promise<number> {
  return Promise.race([
    m.rate,
    sleep(120_000, undefined, { ref: false }).then(() => {
      throw new Error('no rate after 120 s');
    }),
  ]);
}

test('a telemetry sink restarted behind a backlog is served about as fast as before the restart', async (t) => {
  const t0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < BACKLOG; i++) {
    inFlight.push(
      publishReading(fx.js, fx.names, tenant.tenantId, tenant.units[i % UNITS]!, {
        ts: t0 + Math.floor(i / UNITS) * 1000,
        temperature: 4 + (i % 7) / 10,
      }),
    );
    if (inFlight.length >= 500) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);

  const firstMeter = meter(true);
  const first = await startSink(firstMeter.handle);
  const before = await rateOf(firstMeter);
  const stopped = first.stop();
  firstMeter.release();
  await stopped;
  const handledBefore = first.stats().processed;
  // Restarted in the first half of the block: the case the recount got wrong.
  assert.ok(handledBefore < BACKLOG / 2, `first runner stopped at ${handledBefore}`);

  const secondMeter = meter(false);
  const second = await startSink(secondMeter.handle);
  try {
    const after = await rateOf(secondMeter);
    t.diagnostic(
      `stopped at ${handledBefore}; readings/s before the restart ${before.toFixed(0)}, after it ${after.toFixed(0)}`,
    );
    assert.ok(
      after >= 0.3 * before,
      `after the restart ${after.toFixed(0)} readings/s, before it ${before.toFixed(0)} readings/s`,
    );
    await waitFor(
      'the backlog stored',
      async () => handledBefore + second.stats().processed >= BACKLOG,
      120_000,
    );
    assert.equal(handledBefore + second.stats().processed, BACKLOG, 'each reading handled once');
  } finally {
    await second.stop();
  }
});

test('a sink durable made with the stream subject as its filter loses the filter in place, keeping its position', async () => {
  for (let i = 0; i < 10; i++)
    await publishReading(fx.js, fx.names, tenant.tenantId, tenant.units[i]!, {
      ts: Date.now(),
      temperature: 4,
    });
  const durable = fx.names.consumer('telemetry_legacy');
  await fx.jsm.consumers.add(fx.names.telemetry.stream, {
    durable_name: durable,
    filter_subject: fx.names.telemetry.all,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
  });
  const legacy = await fx.js.consumers.get(fx.names.telemetry.stream, durable);
  const held = await legacy.fetch({ max_messages: 10, expires: 5000 });
  // Acked and confirmed: a plain ack is processed by the server after the info below may be.
  for await (const m of held) await m.ackAck();
  const acked = await fx.jsm.consumers.info(fx.names.telemetry.stream, durable);
  assert.equal(acked.ack_floor.stream_seq, 10);

  const runner = await startSink(async () => undefined, 'telemetry_legacy');
  await runner.stop();
  const info = await fx.jsm.consumers.info(fx.names.telemetry.stream, durable);
  assert.equal(info.config.filter_subject ?? '', '', 'filter dropped');
  assert.equal(info.created, acked.created, 'the same durable, not a new one');
  assert.ok(info.ack_floor.stream_seq >= 10, `ack floor ${info.ack_floor.stream_seq}`);
});
