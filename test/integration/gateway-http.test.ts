import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { buildApp } from '../../gateway/mod.ts';
import { gatewayFixture, type GatewayFixture, type TenantFixture } from './gateway-helper.ts';

let fx: GatewayFixture;
let tenant: TenantFixture;

before(async () => {
  fx = await gatewayFixture({ streams: ['telemetry'] });
  tenant = await fx.tenant();
});
after(async () => {
  await fx?.close();
});

async function streamCount(): Promise<number> {
  const info = await fx.deps.jsm.streams.info(fx.deps.names.telemetry.stream);
  return info.state.messages;
}

describe('error envelope', () => {
  const json = { 'content-type': 'application/json' };
  const cases: {
    name: string;
    headers?: Record<string, string>;
    payload?: string;
    url?: string;
    method?: 'GET' | 'POST';
    status: number;
    code: string;
  }[] = [
    { name: 'bad JSON', headers: json, payload: '{"temperature": ', status: 400, code: 'BAD_JSON' },
    { name: 'empty JSON body', headers: json, payload: '', status: 400, code: 'BAD_JSON' },
    {
      name: 'prototype poisoning',
      headers: json,
      payload: '{"__proto__": {"x": 1}}',
      status: 400,
      code: 'BAD_JSON',
    },
    {
      name: 'unknown field',
      headers: json,
      payload: '{"temperature": 1, "colour": "red"}',
      status: 400,
      code: 'UNKNOWN_FIELD',
    },
    {
      name: 'wrong type',
      headers: json,
      payload: '{"temperature": "cold"}',
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'body over the limit',
      headers: json,
      payload: JSON.stringify({ readings: Array.from({ length: 5000 }, () => ({ temperature: 1 })) }),
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    },
    {
      name: 'wrong content type',
      headers: { 'content-type': 'text/plain' },
      payload: 'temperature=1',
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'form content type',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'a=1',
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    { name: 'unknown route', method: 'GET', url: '/v1/nothing-here', status: 404, code: 'NOT_FOUND' },
    {
      name: 'unknown query parameter',
      method: 'GET',
      url: '/v1/stream?colour=red',
      status: 400,
      code: 'UNKNOWN_FIELD',
    },
    {
      name: 'malformed query parameter',
      method: 'GET',
      url: '/v1/stream?lastEventId=abc',
      status: 400,
      code: 'VALIDATION_FAILED',
    },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.status} ${c.code}`, async () => {
      const before = await streamCount();
      const res = await fx.app.inject({
        method: c.method ?? 'POST',
        url: c.url ?? '/v1/telemetry',
        headers: { 'x-api-key': tenant.apiKey, ...c.headers },
        ...(c.payload !== undefined ? { payload: c.payload } : {}),
      });
      assert.equal(res.statusCode, c.status, res.body);
      const body = res.json<{ error: { code: string; message: string; requestId: string } }>();
      assert.equal(body.error.code, c.code);
      assert.equal(typeof body.error.message, 'string');
      assert.equal(body.error.requestId, res.headers['x-request-id']);
      assert.equal(await streamCount(), before, 'a rejected request publishes nothing');
    });
  }

  test('5xx: generic message, no details, the cause only in the log', async () => {
    const app = await buildApp({ config: fx.config, deps: fx.deps });
    app.get('/boom', async () => {
      throw new Error('connect ECONNREFUSED 10.1.2.3:5432 password=hunter2');
    });
    try {
      const res = await app.inject('/boom');
      assert.equal(res.statusCode, 500);
      assert.deepEqual(Object.keys(res.json().error).sort(), ['code', 'message', 'requestId']);
      assert.equal(res.json().error.code, 'INTERNAL');
      assert.equal(res.json().error.message, 'Internal error');
      assert.doesNotMatch(res.body, /ECONNREFUSED|hunter2|10\.1\.2\.3/);
    } finally {
      await app.close();
    }
  });

  test('a sane x-request-id is echoed; a hostile one replaced', async () => {
    const kept = await fx.app.inject({ url: '/health/live', headers: { 'x-request-id': 'edge-7f3a9c21' } });
    assert.equal(kept.headers['x-request-id'], 'edge-7f3a9c21');
    const replaced = await fx.app.inject({ url: '/health/live', headers: { 'x-request-id': 'a b<script>' } });
    assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });
});

describe('health and metrics', () => {
  test('every dependency up: 200 with a latency per check', async () => {
    const res = await fx.app.inject('/health');
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.status, 'ok');
    assert.equal(body.ready, true);
    for (const dep of ['nats', 'postgres', 'clickhouse', 'redis']) {
      assert.equal(body.checks[dep].status, 'up', dep);
      assert.equal(typeof body.checks[dep].latencyMs, 'number');
    }
  });

  test('one dependency down: 503, the others still up, no internals in the body', async () => {
    const deadRedis = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    deadRedis.on('error', () => undefined);
    const app = await buildApp({ config: fx.config, deps: { ...fx.deps, redis: deadRedis } });
    try {
      const res = await app.inject('/health');
      assert.equal(res.statusCode, 503);
      const body = res.json();
      assert.equal(body.ready, false);
      assert.equal(body.live, true);
      assert.equal(body.checks.redis.status, 'down');
      assert.equal(body.checks.redis.error, 'unavailable');
      assert.equal(body.checks.postgres.status, 'up');
      assert.doesNotMatch(res.body, /127\.0\.0\.1|ECONNREFUSED/);
    } finally {
      await app.close();
      deadRedis.disconnect();
    }
  });

  test('/metrics exposes the gateway series in Prometheus format', async () => {
    await fx.app.inject('/health/live');
    const res = await fx.app.inject('/metrics');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    for (const name of [
      'vigil_http_request_duration_seconds_bucket',
      'vigil_sse_clients',
      'vigil_telemetry_accepted_total',
      'vigil_gateway_process_cpu_user_seconds_total',
    ]) {
      assert.match(res.body, new RegExp(`^${name}`, 'm'), name);
    }
    assert.match(
      res.body,
      /vigil_http_request_duration_seconds_count\{method="GET",route="\/health\/live",status="200"\} \d+/,
    );
  });
});

describe('OpenAPI and dashboard', () => {
  test('/openapi.json is OpenAPI 3 with every public route, tagged', async () => {
    const res = await fx.app.inject('/openapi.json');
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.match(doc.openapi, /^3\./);
    for (const [path, method] of [
      ['/health', 'get'],
      ['/metrics', 'get'],
      ['/v1/telemetry', 'post'],
      ['/v1/stream', 'get'],
    ] as const) {
      const op = doc.paths[path]?.[method];
      assert.ok(op, `${method} ${path} documented`);
      assert.ok(op.tags?.length, `${method} ${path} tagged`);
    }
    assert.ok(doc.paths['/v1/telemetry'].post.requestBody, 'telemetry body documented');
    assert.ok(doc.components.securitySchemes.apiKey);
  });

  test('/docs serves Swagger UI from bundled assets', async () => {
    const res = await fx.app.inject('/docs');
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /swagger-ui/i);
    assert.doesNotMatch(res.body, /https?:\/\/(unpkg|cdn)/);
    const bundle = await fx.app.inject('/docs/static/swagger-ui-bundle.js');
    assert.equal(bundle.statusCode, 200);
    assert.match(String(bundle.headers['content-type']), /javascript/);
  });

  test('the dashboard is served with a strict CSP, and nothing outside the allowlist', async () => {
    const page = await fx.app.inject('/');
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    assert.match(page.body, /<script src="\/app\.js"/);
    assert.equal((await fx.app.inject('/app.js')).statusCode, 200);
    assert.equal((await fx.app.inject('/app.css')).statusCode, 200);
    for (const url of ['/index.html/../../deps.ts', '/..%2fdeps.ts', '/public/app.js']) {
      assert.equal((await fx.app.inject(url)).statusCode, 404, url);
    }
  });
});

describe('POST /v1/telemetry', () => {
  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    fx.app.inject({
      method: 'POST',
      url: '/v1/telemetry',
      headers: { 'x-api-key': tenant.apiKey, ...headers },
      payload: payload as object,
    });

  test('a wrong or missing API key: 401 INVALID_API_KEY and nothing published', async () => {
    const before = await streamCount();
    for (const headers of [{ 'x-api-key': 'vk_000000000000_notarealkeynotarealkeynotarealkey' }, {}]) {
      const res = await fx.app.inject({
        method: 'POST',
        url: '/v1/telemetry',
        headers,
        payload: { temperature: 4 },
      });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().error.code, 'INVALID_API_KEY');
    }
    assert.equal(await streamCount(), before);
  });

  test('a revoked key stops working once the cache entry expires (never served from a miss)', async () => {
    const other = await fx.tenant();
    await fx.admin.query('UPDATE equipment_api_keys SET revoked_at = now() WHERE equipment_id = $1', [
      other.equipmentId,
    ]);
    const res = await fx.app.inject({
      method: 'POST',
      url: '/v1/telemetry',
      headers: { 'x-api-key': other.apiKey },
      payload: { temperature: 4 },
    });
    assert.equal(res.statusCode, 401);
  });

  test('a rotated or decommissioned key is refused at once, though it was cached', async () => {
    const other = await fx.tenant();
    const admin = await fx.token({ tenantId: other.tenantId, role: 'tenant_admin', siteIds: null });
    const send = (key: string) =>
      fx.app.inject({
        method: 'POST',
        url: '/v1/telemetry',
        headers: { 'x-api-key': key },
        payload: { temperature: -18 },
      });
    assert.equal((await send(other.apiKey)).statusCode, 202, 'the key is valid and now cached');
    const rotated = await fx.app.inject({
      method: 'POST',
      url: `/v1/equipment/${other.equipmentId}/api-key`,
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(rotated.statusCode, 201, rotated.body);
    // The control message goes through the NATS server and back; flushing waits for that.
    await fx.deps.nc.flush();
    const old = await send(other.apiKey);
    assert.equal(old.statusCode, 401);
    assert.equal(old.json().error.code, 'INVALID_API_KEY');
    const next = rotated.json<{ apiKey: string }>().apiKey;
    assert.equal((await send(next)).statusCode, 202);

    const off = await fx.app.inject({
      method: 'POST',
      url: `/v1/equipment/${other.equipmentId}/decommission`,
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(off.statusCode, 200, off.body);
    await fx.deps.nc.flush();
    assert.equal((await send(next)).statusCode, 401);
  });

  test("a reading is published to the unit's subject (partition appended by the server) → 202", async () => {
    const ts = Date.now() - 5000;
    const res = await post({ ts, temperature: -18.2, door: 'closed' });
    assert.equal(res.statusCode, 202, res.body);
    const body = res.json();
    assert.equal(body.accepted, 1);
    assert.equal(body.duplicates, 0);
    const msg = await fx.deps.jsm.streams.getMessage(fx.deps.names.telemetry.stream, { seq: body.seq });
    assert.ok(msg);
    const prefix = fx.deps.names.telemetry.publish(tenant.tenantId, tenant.equipmentId);
    assert.match(msg.subject, new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.[0-7]$`));
    assert.deepEqual(msg.json(), { ts, temperature: -18.2, door: false });
  });

  test('a reading without ts gets the receive time', async () => {
    const t0 = Date.now();
    const res = await post({ temperature: 3.5 });
    assert.equal(res.statusCode, 202);
    const msg = await fx.deps.jsm.streams.getMessage(fx.deps.names.telemetry.stream, { seq: res.json().seq });
    const { ts } = msg!.json<{ ts: number }>();
    assert.ok(ts >= t0 && ts <= Date.now(), `ts ${ts} is the receive time`);
  });

  test('the same reading twice is stored once (Nats-Msg-Id from its content)', async () => {
    const reading = { ts: Date.now() - 1000, temperature: 5.25 };
    const first = await post(reading);
    const before = await streamCount();
    const again = await post(reading);
    assert.equal(again.statusCode, 202);
    assert.equal(again.json().duplicates, 1);
    assert.equal(again.json().seq, first.json().seq);
    assert.equal(await streamCount(), before);
  });

  test('a batch is published in order; an Idempotency-Key retry adds nothing', async () => {
    const now = Date.now();
    const readings = [0, 1, 2].map((i) => ({ ts: now - 3000 + i, temperature: i }));
    const before = await streamCount();
    const res = await post({ readings }, { 'idempotency-key': 'batch-0001' });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.json().accepted, 3);
    assert.equal(await streamCount(), before + 3);
    const last = await fx.deps.jsm.streams.getMessage(fx.deps.names.telemetry.stream, {
      seq: res.json().seq,
    });
    assert.deepEqual(last!.json(), readings[2]);

    const retry = await post({ readings }, { 'idempotency-key': 'batch-0001' });
    assert.equal(retry.json().duplicates, 3);
    assert.equal(await streamCount(), before + 3);
  });

  test('one bad reading rejects the whole batch, naming each bad index', async () => {
    const before = await streamCount();
    const res = await post({
      readings: [
        { temperature: 1 },
        { temperature: 1000 },
        { temperature: 2 },
        { ts: Date.now() + 86_400_000 },
      ],
    });
    assert.equal(res.statusCode, 400);
    const { error } = res.json();
    assert.equal(error.code, 'VALIDATION_FAILED');
    assert.deepEqual(
      error.details.map((d: { index: number; code: string }) => [d.index, d.code]),
      [
        [1, 'VALUE_OUT_OF_RANGE'],
        [3, 'TIMESTAMP_OUT_OF_RANGE'],
      ],
    );
    assert.equal(await streamCount(), before);
  });

  test('JetStream not accepting (no stream): 503 DEPENDENCY_UNAVAILABLE, safe to retry', async () => {
    const bare = await gatewayFixture({ streams: [] });
    try {
      const t = await bare.tenant();
      const res = await bare.app.inject({
        method: 'POST',
        url: '/v1/telemetry',
        headers: { 'x-api-key': t.apiKey },
        payload: { temperature: 1 },
      });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().error.code, 'DEPENDENCY_UNAVAILABLE');
      assert.equal(res.headers['retry-after'], '1');
    } finally {
      await bare.close();
    }
  });

  test('accepted and rejected readings are counted', async () => {
    const text = (await fx.app.inject('/metrics')).body;
    const accepted = Number(/^vigil_telemetry_accepted_total (\d+)/m.exec(text)?.[1]);
    assert.ok(accepted >= 5, `accepted ${accepted}`);
    assert.match(text, /^vigil_telemetry_rejected_total\{code="INVALID_API_KEY"\} [1-9]/m);
  });
});
