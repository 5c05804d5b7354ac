/**
 * The long fuzz run (issue 10), in three phases, each skipped at 0:
 * - telemetry over NATS: FUZZ_MESSAGES (default 1 000 000) generated messages, a share of them
 *   malformed, to an actor node running every consumer; every bad message must be in the DLQ
 *   with a reason (none INTERNAL), every good one in PostgreSQL and ClickHouse;
 * - detections over NATS (`--detections`, default 200 000): the DETECTIONS stream's consumer loop
 *   with its decoder, as a camera actor is fed; the same accounting;
 * - telemetry over HTTP (`--http`, default 50 000): the same generator's messages as request
 *   bodies of `POST /v1/telemetry` on the gateway: no 5xx, bad ones refused inside the error
 *   envelope, good ones accepted.
 * Prints the counts; the node never crashed.
 *
 *   VIGIL_PORT_OFFSET=… tsx bench/fuzz.bench.ts [--messages N] [--detections N] [--http N]
 *                                              [--bad-share 0.3] [--seed S]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chSql, createClickHouse, createPool, loadConfig, migrate } from '../schemas/mod.ts';
import {
  connectNats,
  deleteNamespace,
  ensureStreams,
  jetstream,
  jetstreamManager,
  names as namesFor,
} from '../streams/mod.ts';
import { apiFixture } from '../test/helpers/app.ts';
import { deadLetters, settled, type DeadLetter } from '../test/helpers/dead-letters.ts';
import { detectionsConsumer } from '../test/helpers/detections-consumer.ts';
import { detectionsCases, prng, telemetryCases } from '../test/helpers/fuzz.ts';
import { ChildNode, REPO_ROOT } from './lib/child.ts';
import { dropTenant, seedTenant } from './lib/seed.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const MESSAGES = arg('messages', Number(process.env['FUZZ_MESSAGES'] ?? 1_000_000));
const DETECTIONS = arg('detections', 200_000);
const HTTP = arg('http', 50_000);
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

const rng = prng(SEED);
const out: string[] = [];

/** Waits until every consumer of `stream` has acknowledged everything. */
async function drained(stream: string): Promise<void> {
  while (!(await settled(jsm, stream))) await sleep(1000);
}

/** Keeps a stream's backlog bounded: the consumers are what is measured, not the buffer. */
async function throttle(stream: string): Promise<void> {
  for (;;) {
    let pending = 0;
    for await (const c of jsm.consumers.list(stream)) pending += c.num_pending;
    if (pending < 100_000) return;
    await sleep(500);
  }
}

function accounting(
  dlq: Map<number, DeadLetter> | undefined,
  badSeqs: Set<number>,
): { inDlq: number; forGood: number; noReason: number; internal: number; codes: string } {
  const codes = new Map<string, number>();
  let inDlq = 0;
  let forGood = 0;
  let noReason = 0;
  for (const [seq, e] of dlq ?? []) {
    codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
    if (!e.reason) noReason++;
    if (badSeqs.has(seq)) inDlq++;
    else forGood++;
  }
  return {
    inDlq,
    forGood,
    noReason,
    internal: codes.get('INTERNAL') ?? 0,
    codes: [...codes]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  };
}

const kindsLine = (kinds: Map<string, number>): string => [...kinds].map(([k, v]) => `${k} ${v}`).join('; ');

const telemetryBad = new Set<number>();
const detectionsBad = new Set<number>();

async function telemetryPhase(): Promise<() => Promise<void>> {
  const started = performance.now();
  // Good readings: unique, 1 ms apart from 20 minutes ago (a million span under 12 minutes of
  // device time, so the seeded tenant's hour-long no_data rule never comes due mid-run).
  // The clock ticks inside the generator, once per case that asks for a time, so no two good
  // readings share a (unit, ts) key: a shared key would be stored once, by design.
  const t0 = Date.now() - 1_200_000;
  let tick = 0;
  let goodCount = 0;
  const badKinds = new Map<string, number>();
  let published = 0;
  for (let done = 0; done < MESSAGES; done += CHUNK) {
    const cases = telemetryCases(rng, Math.min(CHUNK, MESSAGES - done), BAD_SHARE, () => t0 + tick++);
    await Promise.all(
      cases.map((c) => {
        const unit = tenant.unitIds[(c.good ? goodCount++ : published) % tenant.unitIds.length]!;
        published++;
        if (!c.good) badKinds.set(c.kind, (badKinds.get(c.kind) ?? 0) + 1);
        return js.publish(names.telemetry.publish(tenant.tenantId, unit), c.bytes).then((a) => {
          if (!c.good) telemetryBad.add(a.seq);
        });
      }),
    );
    await throttle(names.telemetry.stream);
  }
  const publishMs = performance.now() - started;
  await drained(names.telemetry.stream);
  const totalMs = performance.now() - started;
  return async () => {
    const pg = await admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM telemetry WHERE tenant_id = $1',
      [tenant.tenantId],
    );
    const chRes = await ch.query({
      query: chSql`SELECT count() AS n FROM telemetry FINAL WHERE tenant_id = ${tenant.tenantId}`,
      format: 'JSONEachRow',
    });
    const [chRow] = await chRes.json<{ n: string }>();
    const a = accounting(dlq.get(names.telemetry.stream), telemetryBad);
    const health =
      await actor.call<Record<string, { consumer?: { processed: number; rejected: number } }>>('health');
    out.push(
      `telemetry over NATS: ${published} messages (seed ${SEED}, bad share ${BAD_SHARE}) in ${(totalMs / 1000).toFixed(0)} s ` +
        `(published in ${(publishMs / 1000).toFixed(0)} s)`,
      `  good: ${goodCount}; PostgreSQL rows ${pg.rows[0]!.n}; ClickHouse rows (FINAL) ${Number(chRow?.n)}`,
      `  bad: ${telemetryBad.size}; in the DLQ ${a.inDlq}; DLQ entries for good messages ${a.forGood}; ` +
        `without a reason ${a.noReason}; INTERNAL ${a.internal}`,
      `  DLQ codes: ${a.codes}`,
      `  sink counters: pg processed ${health['telemetry-pg']?.consumer?.processed} rejected ${health['telemetry-pg']?.consumer?.rejected}; ` +
        `ch processed ${health['telemetry-ch']?.consumer?.processed} rejected ${health['telemetry-ch']?.consumer?.rejected}`,
      `  bad kinds: ${kindsLine(badKinds)}`,
    );
  };
}

async function detectionsPhase(): Promise<() => Promise<void>> {
  const started = performance.now();
  const consumer = detectionsConsumer({ js, jsm, names, config, name: 'fuzz-detections' });
  await consumer.runner.start();
  const cameras = Array.from({ length: 16 }, () => randomUUID());
  const t0 = Date.now() - 1_200_000;
  let g = 0;
  let good = 0;
  let published = 0;
  let refused = 0;
  const badKinds = new Map<string, number>();
  for (let done = 0; done < DETECTIONS; done += CHUNK) {
    const cases = detectionsCases(rng, Math.min(CHUNK, DETECTIONS - done), BAD_SHARE, () => t0 + g++ * 5);
    await Promise.all(
      cases.map((c, i) => {
        published++;
        if (!c.good) badKinds.set(c.kind, (badKinds.get(c.kind) ?? 0) + 1);
        const subject = names.detections.publish(tenant.tenantId, cameras[i % cameras.length]!);
        return js.publish(subject, c.bytes).then(
          (a) => {
            if (c.good) good++;
            else detectionsBad.add(a.seq);
          },
          (err: unknown) => {
            // Over the stream's size limit: the server refuses the publish itself.
            if (c.good || !/maximum/.test(String(err))) throw err;
            refused++;
          },
        );
      }),
    );
    await throttle(names.detections.stream);
  }
  await drained(names.detections.stream);
  const totalMs = performance.now() - started;
  const stats = consumer.runner.stats();
  await consumer.runner.stop();
  return async () => {
    const a = accounting(dlq.get(names.detections.stream), detectionsBad);
    out.push(
      `detections over NATS: ${published} messages in ${(totalMs / 1000).toFixed(0)} s`,
      `  good: ${good}; handled by the consumer ${consumer.handled()}; consumer running at the end: ${stats.running}`,
      `  bad: ${detectionsBad.size} stored + ${refused} refused at publish (over the stream's size limit); ` +
        `in the DLQ ${a.inDlq}; DLQ entries for good messages ${a.forGood}; without a reason ${a.noReason}; INTERNAL ${a.internal}`,
      `  DLQ codes: ${a.codes}`,
      `  bad kinds: ${kindsLine(badKinds)}`,
    );
  };
}

async function httpPhase(): Promise<void> {
  const started = performance.now();
  const fx = await apiFixture({ VIGIL_NS: `${ns}h`, LOG_LEVEL: 'silent' });
  try {
    await ensureStreams(fx.deps.jsm, fx.deps.names);
    const W = await fx.world();
    const statuses = new Map<number, number>();
    let fiveXX = 0;
    let outsideEnvelope = 0;
    let badAccepted = 0;
    let goodRefused = 0;
    let g = 0;
    for (let done = 0; done < HTTP; done += CHUNK) {
      for (const c of telemetryCases(
        rng,
        Math.min(CHUNK, HTTP - done),
        BAD_SHARE,
        () => Date.now() - 600_000 + g++,
      )) {
        const res = await fx.app.inject({
          method: 'POST',
          url: '/v1/telemetry',
          headers: { 'content-type': 'application/json', 'x-api-key': W.apiKeys[1] },
          payload: Buffer.from(c.bytes),
        });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        if (res.statusCode >= 500) fiveXX++;
        if (res.statusCode >= 400) {
          let code: unknown;
          try {
            code = (JSON.parse(res.body) as { error?: { code?: unknown } }).error?.code;
          } catch {
            code = undefined;
          }
          if (typeof code !== 'string') outsideEnvelope++;
        }
        if (!c.good && res.statusCode < 400) badAccepted++;
        if (c.good && res.statusCode >= 300) goodRefused++;
      }
    }
    const s = (performance.now() - started) / 1000;
    out.push(
      `telemetry over HTTP: ${HTTP} requests in ${s.toFixed(0)} s; statuses ${[...statuses]
        .sort((a, b) => a[0] - b[0])
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
      `  5xx ${fiveXX}; errors outside the envelope ${outsideEnvelope}; bad accepted ${badAccepted}; good refused ${goodRefused}`,
    );
  } finally {
    await deleteNamespace(fx.deps.jsm, fx.deps.names).catch(() => undefined);
    await fx.close();
  }
}

let dlq = new Map<string, Map<number, DeadLetter>>();
try {
  const reports: Array<() => Promise<void>> = [];
  if (MESSAGES > 0) reports.push(await telemetryPhase());
  if (DETECTIONS > 0) reports.push(await detectionsPhase());
  dlq = await deadLetters(js, jsm, names);
  for (const r of reports) await r();
  if (HTTP > 0) await httpPhase();
  await actor.call('health');
  out.push('actor node answered its health check at the end (no crash, no restart): yes');
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  await actor.stop();
  await deleteNamespace(jsm, names).catch(() => undefined);
  await dropTenant(admin, ch, tenant.tenantId).catch(() => undefined);
  await nc.drain();
  await admin.end();
  await ch.close();
}
