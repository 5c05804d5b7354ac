/**
 * The whole path, over the real services: a reading sequence published to
 * `tele.<tenant>.<unit>` becomes a PostgreSQL row, a ClickHouse row, an alert row and an alert
 * event that a real HTTP client receives on /v1/stream; the clearing sequence resolves it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ActorNode } from '../../actors/mod.ts';
import type { RunningServer } from '../../gateway/mod.ts';
import { chSql, createClickHouse, type Pool } from '../../schemas/mod.ts';
import { publishReading } from '../../streams/mod.ts';
import { HIGH_TEMP_RULE, startLiveUnit } from '../helpers/live-unit.ts';
import { natsNamespace } from '../helpers/nats-namespace.ts';
import { sseFrames } from '../helpers/sse-client.ts';
import { waitFor } from '../helpers/wait.ts';

const PASSWORD = 'e2e-password-123';
let node: ActorNode;
let server: RunningServer;
const fx = natsNamespace('e2e-device', {
  beforeDelete: async () => {
    await server?.close();
    await node?.stop();
  },
});
const config = fx.config;
let admin: Pool;
let tenantId: string;
let siteId: string;
let equipmentId: string;
let email: string;

before(async () => {
  ({ tenantId, siteId, equipmentId, email, admin, node, server } = await startLiveUnit(config, {
    name: 'E2E Foods',
    slug: 'e2e',
    password: PASSWORD,
    rules: [HIGH_TEMP_RULE],
  }));
});

after(async () => {
  if (tenantId) await admin.query('DELETE FROM tenants WHERE id = $1', [tenantId]);
  await admin?.end();
});

interface AlertFrame {
  id: string;
  event: string;
  data: { type: string; data: { alertId: string; severity: string } };
}

/** A real SSE client: fetch with a streamed body, parsed frame by frame. */
async function* sse(url: string, token: string, signal: AbortSignal): AsyncGenerator<AlertFrame> {
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal,
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  for await (const f of sseFrames(res.body as unknown as AsyncIterable<Uint8Array>))
    if (f.data) yield { id: f.id, event: f.event, data: JSON.parse(f.data) } as AlertFrame;
}

test('a breach held for its duration raises an alert everywhere; clearing resolves it', async () => {
  const login = await fetch(`${server.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  assert.equal(login.status, 200);
  const { accessToken } = (await login.json()) as { accessToken: string };

  const abort = new AbortController();
  const frames = sse(`${server.url}/v1/stream?kind=alert`, accessToken, abort.signal);
  const received: AlertFrame[] = [];
  const collecting = (async () => {
    for await (const f of frames) received.push(f);
  })().catch(() => undefined);
  // Let the stream's consumer exist before the first event.
  await new Promise((r) => setTimeout(r, 300));

  const { js, names } = fx;
  const t0 = Date.now() - 120_000;
  const send = (offsetS: number, temperature: number) =>
    publishReading(js, names, tenantId, equipmentId, {
      ts: t0 + offsetS * 1000,
      temperature,
      compressor: true,
    });

  // Breach: above -5 from t+0 to t+40 (held > 30 s) → opens at t+30.
  for (const s of [0, 10, 20, 30, 40]) await send(s, -2);
  const opened = await waitFor('alert.opened on SSE', async () =>
    received.find((f) => f.event === 'alert.opened'),
  );
  assert.equal(opened.data.data.severity, 'critical');
  assert.match(opened.id, /^\d+$/, 'SSE id is the EVENTS stream sequence');

  const alertRow = await waitFor('active alert row', async () => {
    const { rows } = await admin.query<{ id: string; status: string; site_id: string }>(
      'SELECT id, status, site_id FROM alerts WHERE equipment_id = $1',
      [equipmentId],
    );
    return rows[0];
  });
  assert.equal(alertRow.status, 'active');
  assert.equal(alertRow.site_id, siteId);
  assert.equal(alertRow.id, opened.data.data.alertId);

  // Clearing: below the clear threshold -12 (not just below -5: hysteresis) for ≥ 20 s.
  for (const s of [50, 60, 70, 80]) await send(s, -8);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(
    received.filter((f) => f.event === 'alert.resolved').length,
    0,
    'between thresholds: still open',
  );
  for (const s of [90, 100, 110, 120]) await send(s, -15);
  const resolved = await waitFor('alert.resolved on SSE', async () =>
    received.find((f) => f.event === 'alert.resolved'),
  );
  assert.equal(resolved.data.data.alertId, alertRow.id);
  await waitFor('resolved alert row', async () => {
    const { rows } = await admin.query<{ status: string }>('SELECT status FROM alerts WHERE id = $1', [
      alertRow.id,
    ]);
    return rows[0]?.status === 'resolved' ? true : undefined;
  });

  // Every reading is stored once in each store.
  const pgCount = await waitFor('13 PostgreSQL rows', async () => {
    const { rows } = await admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM telemetry WHERE equipment_id = $1',
      [equipmentId],
    );
    return rows[0]!.n === 13 ? rows[0]!.n : undefined;
  });
  assert.equal(pgCount, 13);
  const ch = createClickHouse(config);
  try {
    const chCount = await waitFor('13 ClickHouse rows', async () => {
      const rs = await ch.query({
        query: chSql`SELECT count() AS n FROM telemetry FINAL WHERE equipment_id = ${equipmentId}`,
        format: 'JSONEachRow',
      });
      const n = Number((await rs.json<{ n: string }>())[0]?.n ?? 0);
      return n === 13 ? n : undefined;
    });
    assert.equal(chCount, 13);
  } finally {
    await ch.close();
  }
  abort.abort();
  await collecting;
});
