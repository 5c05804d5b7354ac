/**
 * Fuzzing, CI-sized (issue 10): generated malformed telemetry over NATS and HTTP, and generated
 * bad bodies, queries and path parameters for every route of the OpenAPI document. No crash, no
 * 5xx; every bad NATS message is in the DLQ with a reason, every good one is stored in
 * PostgreSQL and ClickHouse. `bench/fuzz.bench.ts` runs the same generators at 1M messages.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import { startActorNode, type ActorNode } from '../../actors/mod.ts';
import {
  chSql,
  createClickHouse,
  createLogger,
  createPool,
  loadConfig,
  migrate,
  type Pool,
} from '../../schemas/mod.ts';
import {
  connectNats,
  deleteNamespace,
  ensureStreams,
  jetstream,
  jetstreamManager,
  names as namesFor,
  type JetStreamClient,
  type JetStreamManager,
  type Names,
  type NatsConnection,
} from '../../streams/mod.ts';
import { apiFixture, type ApiFixture, type World } from '../helpers/app.ts';
import { deadLetters, settled, type DeadLetter } from '../helpers/dead-letters.ts';
import { detectionsConsumer, type DetectionsConsumer } from '../helpers/detections-consumer.ts';
import { badBodies, detectionsCases, prng, telemetryCases } from '../helpers/fuzz.ts';
import { routeTable, sample, urlFor } from '../helpers/openapi.ts';
import { waitFor } from '../helpers/wait.ts';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261130);

/** The DLQ entries of one source stream, by that stream's sequence. */
async function deadLettersOf(
  js: JetStreamClient,
  jsm: JetStreamManager,
  names: Names,
  stream: string,
): Promise<Map<number, DeadLetter>> {
  return (await deadLetters(js, jsm, names)).get(stream) ?? new Map();
}

/** Every bad message dead-lettered once with a stable code (never INTERNAL) and a reason; no good one. */
function assertAccounted(
  dlq: Map<number, DeadLetter>,
  bad: Map<number, string>,
  good: readonly number[],
): void {
  const missing = [...bad].filter(([seq]) => !dlq.has(seq)).map(([, kind]) => kind);
  assert.deepEqual(missing, [], 'bad messages not in the DLQ');
  for (const [seq, kind] of bad) {
    const entry = dlq.get(seq)!;
    assert.notEqual(entry.code, 'INTERNAL', `${kind}: ${entry.reason}`);
    assert.ok(entry.reason.length > 0, kind);
  }
  assert.deepEqual(
    good.filter((seq) => dlq.has(seq)).map((seq) => dlq.get(seq)),
    [],
    'good messages dead-lettered',
  );
  assert.equal(dlq.size, bad.size);
}

async function waitSettled(jsm: JetStreamManager, stream: string): Promise<void> {
  await waitFor(`consumers of ${stream} settled`, () => settled(jsm, stream), 120_000).catch(() =>
    assert.fail(`consumers of ${stream} did not settle`),
  );
}

describe('fuzzing telemetry over NATS', () => {
  const ns = `t${randomBytes(4).toString('hex')}`;
  // Hundreds of rejections are the point: their warnings would drown the suite's output.
  const config = loadConfig(process.env, { VIGIL_NS: ns, LOG_LEVEL: 'silent' });
  const names = namesFor(ns);
  const tenantId = randomUUID();
  const otherTenant = randomUUID();
  const siteId = randomUUID();
  const otherSite = randomUUID();
  const units = Array.from({ length: 6 }, () => randomUUID());
  const otherUnit = randomUUID();
  let admin: Pool;
  let ch: ClickHouseClient;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let node: ActorNode | null = null;

  before(async () => {
    await migrate(config);
    admin = createPool(config, 'admin', 2);
    ch = createClickHouse(config);
    for (const [t, s, slug] of [
      [tenantId, siteId, `fz-${ns}`],
      [otherTenant, otherSite, `fo-${ns}`],
    ] as const) {
      await admin.query('INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $2)', [t, slug]);
      await admin.query('INSERT INTO sites (id, tenant_id, name) VALUES ($1, $2, $3)', [s, t, 'Site']);
    }
    for (const [u, t, s] of [...units.map((u) => [u, tenantId, siteId]), [otherUnit, otherTenant, otherSite]])
      await admin.query(
        `INSERT INTO equipment (id, tenant_id, site_id, name, kind) VALUES ($1, $2, $3, 'Unit', 'chiller')`,
        [u, t, s],
      );
    nc = await connectNats(config, 'fuzz-test');
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
    node = await startActorNode({
      config,
      log: createLogger(config, 'fuzz-test'),
      nodeID: `${ns}-a`,
      notifierTenants: [tenantId, otherTenant],
    });
  });

  after(async () => {
    await node?.stop();
    if (jsm) await deleteNamespace(jsm, names);
    await nc?.drain();
    if (admin) {
      await admin.query('DELETE FROM telemetry WHERE tenant_id = ANY($1::uuid[])', [[tenantId, otherTenant]]);
      await admin.query('DELETE FROM tenants WHERE id = ANY($1::uuid[])', [[tenantId, otherTenant]]);
      await admin.end();
    }
    if (ch) {
      await ch.command({ query: chSql`ALTER TABLE telemetry DELETE WHERE tenant_id = ${tenantId}` });
      await ch.close();
    }
  });

  test('every bad message is dead-lettered with a reason, every good one stored, nothing crashes', async () => {
    const rng = prng(SEED);
    const T0 = Date.now() - 3_600_000;
    let g = 0;
    const cases = telemetryCases(rng, 600, 0.4, () => T0 + g++ * 1000);
    const bad = new Map<number, string>();
    const good: Array<{ seq: number; unit: string }> = [];
    let goodIndex = 0;
    for (const c of cases) {
      if (c.good) {
        const unit = units[goodIndex++ % units.length]!;
        const ack = await js.publish(names.telemetry.publish(tenantId, unit), c.bytes);
        good.push({ seq: ack.seq, unit });
      } else {
        const ack = await js.publish(names.telemetry.publish(tenantId, units[0]!), c.bytes);
        bad.set(ack.seq, c.kind);
      }
    }
    // Bad addresses: a unit token that is no id, an unknown unit, another tenant's unit.
    const valid = new TextEncoder().encode(JSON.stringify({ temperature: 1 }));
    for (const [kind, subject] of [
      ['subject: not an id', `${ns}.tele.${tenantId}.not-an-id`],
      ['subject: unknown unit', names.telemetry.publish(tenantId, randomUUID())],
      ['subject: another tenant’s unit', names.telemetry.publish(tenantId, otherUnit)],
    ] as const) {
      bad.set((await js.publish(subject, valid)).seq, kind);
    }

    await waitSettled(jsm, names.telemetry.stream);

    const dlq = await deadLettersOf(js, jsm, names, names.telemetry.stream);
    assertAccounted(
      dlq,
      bad,
      good.map((x) => x.seq),
    );

    const { rows } = await admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM telemetry WHERE tenant_id = $1',
      [tenantId],
    );
    assert.equal(rows[0]!.n, good.length);
    const rs = await ch.query({
      query: chSql`SELECT count() AS n FROM telemetry FINAL WHERE tenant_id = ${tenantId}`,
      format: 'JSONEachRow',
    });
    const [chCount] = await rs.json<{ n: string }>();
    assert.equal(Number(chCount?.n), good.length);

    const health = await node!.health();
    assert.equal(health['telemetry-pg']?.consumer.running, true);
    assert.equal(health['telemetry-pg']?.consumer.processed, good.length);
  });
});

describe('fuzzing detections over NATS', () => {
  const ns = `t${randomBytes(4).toString('hex')}`;
  const config = loadConfig(process.env, { VIGIL_NS: ns, LOG_LEVEL: 'silent' });
  const names = namesFor(ns);
  const tenantId = randomUUID();
  const cameras = Array.from({ length: 4 }, () => randomUUID());
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let consumer: DetectionsConsumer | null = null;

  before(async () => {
    nc = await connectNats(config, 'fuzz-detections');
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
    await ensureStreams(jsm, names);
    consumer = detectionsConsumer({ js, jsm, names, config, name: 'fuzz-detections' });
    await consumer.runner.start();
  });

  after(async () => {
    await consumer?.runner.stop();
    if (jsm) await deleteNamespace(jsm, names);
    await nc?.drain();
  });

  test('every bad frame is dead-lettered with a reason, every good one handled, nothing crashes', async () => {
    const rng = prng(SEED);
    const T0 = Date.now() - 600_000;
    let g = 0;
    const bad = new Map<number, string>();
    const good: number[] = [];
    // Over the stream's size limit: the server refuses the publish itself (the publisher is
    // told, nothing is stored), so the consumer never sees it.
    const refusedAtPublish = new Set<string>();
    for (const c of detectionsCases(rng, 400, 0.5, () => T0 + g++ * 200)) {
      const camera = cameras[g % cameras.length]!;
      const ack = await js
        .publish(names.detections.publish(tenantId, camera), c.bytes)
        .catch((err: unknown) => {
          if (c.good || !/maximum/.test(String(err))) throw err;
          refusedAtPublish.add(c.kind);
          return null;
        });
      if (!ack) continue;
      if (c.good) good.push(ack.seq);
      else bad.set(ack.seq, c.kind);
    }
    assert.deepEqual([...refusedAtPublish], ['over 64 KiB']);
    bad.set((await js.publish(`${ns}.det.${tenantId}.not-a-token!`, '{}')).seq, 'subject: bad camera token');
    await waitSettled(jsm, names.detections.stream);
    assertAccounted(await deadLettersOf(js, jsm, names, names.detections.stream), bad, good);
    assert.equal(consumer!.handled(), good.length);
    assert.equal(consumer!.runner.stats().running, true);
  });
});

describe('fuzzing every route of the OpenAPI document', () => {
  let fx: ApiFixture;
  let W: World;

  before(async () => {
    fx = await apiFixture();
    // Readings posted by the fuzzer are published: the fixture's namespace needs its streams.
    await ensureStreams(fx.deps.jsm, fx.deps.names);
    W = await fx.world();
  });
  after(async () => {
    if (fx) await deleteNamespace(fx.deps.jsm, fx.deps.names);
    await fx?.close();
  });

  test('generated bad bodies, queries and path parameters: no 5xx, always the error envelope', async () => {
    const rng = prng(SEED);
    const failures: string[] = [];
    let sent = 0;
    const check = async (what: string, res: { statusCode: number; body: string }): Promise<void> => {
      sent++;
      if (res.statusCode >= 500) failures.push(`${what}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      else if (res.statusCode >= 400) {
        let code: unknown;
        try {
          code = (JSON.parse(res.body) as { error?: { code?: unknown } }).error?.code;
        } catch {
          code = undefined;
        }
        if (typeof code !== 'string') failures.push(`${what}: ${res.statusCode} outside the envelope`);
      }
    };
    const routes = routeTable(fx.app).filter((r) => !r.streaming && !r.nonJsonBody);
    assert.ok(routes.length > 30, `only ${routes.length} routes documented`);
    for (const route of routes) {
      const device = route.path === '/v1/telemetry';
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (device) headers['x-api-key'] = W.apiKeys[0];
      else headers['authorization'] = `Bearer ${W.admin.token}`;
      const url = urlFor(route, W.equipment[0]);
      const name = `${route.method} ${route.path}`;
      if (route.body) {
        const valid = sample(route.body, W.equipment[0]) as Record<string, unknown>;
        for (const b of badBodies(route.body, valid, rng)) {
          const res = await fx.app.inject({
            method: route.method as 'POST',
            url,
            headers,
            payload: b.payload,
          });
          await check(`${name} ${b.kind}`, res);
        }
      }
      for (const param of [
        '%00',
        'a%00b',
        '..%2F..%2Fetc',
        'x'.repeat(5000),
        '%F0%28%8C%28',
        '-1',
        '1e400',
      ]) {
        const hostileUrl = route.pathParams.length
          ? route.path.replace(/\{[^}]+\}/g, param)
          : `${url}${url.includes('?') ? '&' : '?'}limit=${param}&cursor=${param}`;
        const res = await fx.app.inject({
          method: route.method as 'GET',
          url: hostileUrl,
          headers,
          ...(route.body ? { payload: JSON.stringify(sample(route.body, W.equipment[0])) } : {}),
        });
        await check(`${name} ${hostileUrl.slice(0, 80)}`, res);
      }
    }
    // Device telemetry over HTTP: the NATS generator's messages as request bodies.
    let g = 0;
    for (const c of telemetryCases(rng, 200, 0.6, () => Date.now() - 60_000 + g++)) {
      const res = await fx.app.inject({
        method: 'POST',
        url: '/v1/telemetry',
        headers: { 'content-type': 'application/json', 'x-api-key': W.apiKeys[1] },
        payload: Buffer.from(c.bytes),
      });
      await check(`telemetry ${c.kind}`, res);
      if (!c.good && res.statusCode < 400) failures.push(`telemetry ${c.kind}: accepted (${res.statusCode})`);
      if (c.good && res.statusCode >= 300)
        failures.push(`telemetry ${c.kind}: refused (${res.statusCode} ${res.body})`);
    }
    assert.deepEqual(failures, [], `${failures.length} of ${sent} requests failed`);
    assert.ok(sent > 500, `only ${sent} requests`);
  });
});
