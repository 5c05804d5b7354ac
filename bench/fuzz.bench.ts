/**
 * The long fuzz run (issue 10): FUZZ_MESSAGES (default 1 000 000) generated telemetry messages,
 * a share of them malformed, published over NATS to an actor node running every consumer. At
 * the end: every bad message is in the DLQ with a reason (none INTERNAL), every good one is in
 * PostgreSQL and ClickHouse, the node never crashed. Prints the counts.
 *
 *   VIGIL_PORT_OFFSET=… tsx bench/fuzz.bench.ts [--messages N] [--bad-share 0.3] [--seed S]
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chSql, createClickHouse, createPool, loadConfig, migrate } from '../schemas/mod.ts';
import {
  DLQ_HEADERS,
  connectNats,
  deleteNamespace,
  ensureStreams,
  jetstream,
  jetstreamManager,
  names as namesFor,
} from '../streams/mod.ts';
import { prng, telemetryCases } from '../test/helpers/fuzz.ts';
import { ChildNode, REPO_ROOT } from './lib/child.ts';
import { dropTenant, seedTenant } from './lib/seed.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const MESSAGES = arg('messages', Number(process.env['FUZZ_MESSAGES'] ?? 1_000_000));
const BAD_SHARE = arg('bad-share', 0.3);
const SEED = arg('seed', 20261130);
const CHUNK = 5000;

const ns = `fuzz${randomBytes(3).toString('hex')}`;
const config = loadConfig(process.env, { VIGIL_NS: ns, LOG_LEVEL: 'warn' });
const names = namesFor(ns);
await migrate(config);
const admin = createPool(config, 'admin', 2);
const ch = createClickHouse(config);
const nc = await connectNats(config, 'fuzz-bench');
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
await ensureStreams(jsm, names);
const tenant = await seedTenant(admin, ns, 100);
const logDir = join(REPO_ROOT, '.vigil', 'bench');
mkdirSync(logDir, { recursive: true });
const actor = await ChildNode.start<{ nodeID: string }>({
  name: 'actor node',
  script: 'bench/lib/actor-node.ts',
  env: { ...process.env, VIGIL_NS: ns, LOG_LEVEL: 'warn' },
  logFile: join(logDir, `fuzz-${ns}-actor.log`),
  readyTimeoutMs: 120_000,
});

const started = performance.now();
const rng = prng(SEED);
// Good readings: unique, 1 ms apart from 20 minutes ago (a million span under 12 minutes of
// device time, so the seeded tenant's hour-long no_data rule never comes due mid-run).
const t0 = Date.now() - 1_200_000;
let goodCount = 0;
const badKinds = new Map<string, number>();
const badSeqs = new Set<number>();
let published = 0;
try {
  for (let done = 0; done < MESSAGES; done += CHUNK) {
    const cases = telemetryCases(rng, Math.min(CHUNK, MESSAGES - done), BAD_SHARE, () => t0 + goodCount);
    const acks = cases.map((c) => {
      const unit = tenant.unitIds[(c.good ? goodCount++ : published) % tenant.unitIds.length]!;
      published++;
      if (!c.good) badKinds.set(c.kind, (badKinds.get(c.kind) ?? 0) + 1);
      return js.publish(names.telemetry.publish(tenant.tenantId, unit), c.bytes).then((a) => {
        if (!c.good) badSeqs.add(a.seq);
      });
    });
    await Promise.all(acks);
    // Keep the stream's backlog bounded: the consumers are what is measured, not the buffer.
    for (;;) {
      let pending = 0;
      for await (const c of jsm.consumers.list(names.telemetry.stream)) pending += c.num_pending;
      if (pending < 100_000) break;
      await sleep(500);
    }
  }
  const publishMs = performance.now() - started;
  for (;;) {
    let left = 0;
    for await (const c of jsm.consumers.list(names.telemetry.stream))
      left += c.num_pending + c.num_ack_pending;
    if (left === 0) break;
    await sleep(1000);
  }
  const totalMs = performance.now() - started;

  // The DLQ: one entry per rejected message, with its code and reason.
  const codes = new Map<string, number>();
  let dlqForBad = 0;
  let dlqOther = 0;
  let noReason = 0;
  const dlqInfo = await jsm.streams.info(names.dlq.stream);
  const consumer = await jsm.consumers.add(names.dlq.stream, { ack_policy: 'none' as never });
  const c = await js.consumers.get(names.dlq.stream, consumer.name);
  const it = await c.fetch({ max_messages: dlqInfo.state.messages });
  let seen = 0;
  for await (const m of it) {
    seen++;
    const seq = Number(m.headers?.get(DLQ_HEADERS.seq));
    const code = m.headers?.get(DLQ_HEADERS.code) ?? '';
    codes.set(code, (codes.get(code) ?? 0) + 1);
    if (!(m.headers?.get(DLQ_HEADERS.reason) ?? '')) noReason++;
    if (badSeqs.has(seq)) dlqForBad++;
    else dlqOther++;
    if (seen >= dlqInfo.state.messages) break;
  }
  const pg = await admin.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM telemetry WHERE tenant_id = $1',
    [tenant.tenantId],
  );
  const chRes = await ch.query({
    query: chSql`SELECT count() AS n FROM telemetry FINAL WHERE tenant_id = ${tenant.tenantId}`,
    format: 'JSONEachRow',
  });
  const [chRow] = await chRes.json<{ n: string }>();
  const health =
    await actor.call<Record<string, { consumer?: { processed: number; rejected: number } }>>('health');

  const out = [
    `fuzz run: ${published} messages (seed ${SEED}, bad share ${BAD_SHARE}) in ${(totalMs / 1000).toFixed(0)} s ` +
      `(published in ${(publishMs / 1000).toFixed(0)} s)`,
    `  good: ${goodCount}; PostgreSQL rows ${pg.rows[0]!.n}; ClickHouse rows (FINAL) ${Number(chRow?.n)}`,
    `  bad: ${badSeqs.size}; in the DLQ ${dlqForBad}; DLQ entries for good messages ${dlqOther}; without a reason ${noReason}`,
    `  DLQ codes: ${[...codes]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `  sink counters: pg processed ${health['telemetry-pg']?.consumer?.processed} rejected ${health['telemetry-pg']?.consumer?.rejected}; ` +
      `ch processed ${health['telemetry-ch']?.consumer?.processed} rejected ${health['telemetry-ch']?.consumer?.rejected}`,
    `  actor node answered its health check at the end (no crash, no restart): yes`,
    `  bad kinds: ${[...badKinds].map(([k, v]) => `${k} ${v}`).join('; ')}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  await actor.stop();
  await deleteNamespace(jsm, names).catch(() => undefined);
  await dropTenant(admin, ch, tenant.tenantId).catch(() => undefined);
  await nc.drain();
  await admin.end();
  await ch.close();
}
