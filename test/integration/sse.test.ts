import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer } from '../../gateway/mod.ts';
import { gatewayFixture, within, type GatewayFixture, type TenantFixture } from './gateway-helper.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { waitFor } from '../helpers/wait.ts';

let fx: GatewayFixture;
let base: string;
let a: TenantFixture;
let b: TenantFixture;

const MAX_STREAMS_PER_USER = 2;

before(async () => {
  fx = await gatewayFixture({
    streams: ['events'],
    sse: { heartbeatMs: 150, maxStreamsPerUser: MAX_STREAMS_PER_USER },
  });
  await fx.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(fx.app.server.address() as AddressInfo).port}`;
  [a, b] = await Promise.all([fx.tenant(), fx.tenant()]);
});
after(async () => {
  await fx?.close();
});

/** Publish an alert event as an actor would; returns its EVENTS stream sequence. */
async function publish(
  t: TenantFixture,
  siteId: string,
  opts: { equipmentId?: string; type?: string; kind?: string } = {},
) {
  const equipmentId = opts.equipmentId ?? t.equipmentId;
  const id = randomUUID();
  const event = {
    id,
    type: opts.type ?? 'alert.opened',
    tenantId: t.tenantId,
    siteId,
    ts: Date.now(),
    data: { alertId: randomUUID(), equipmentId, severity: 'critical', message: `event ${id}` },
  };
  const subject = fx.deps.names.events.subject(t.tenantId, siteId, opts.kind ?? 'alert', equipmentId);
  const ack = await fx.deps.js.publish(subject, JSON.stringify(event), { msgID: id });
  return { seq: ack.seq, event };
}

async function open(
  t: TenantFixture,
  query = '',
  siteIds: string[] | null = null,
  headers: Record<string, string> = {},
) {
  const token = await fx.token({ tenantId: t.tenantId, role: 'viewer', siteIds });
  const client = await SseClient.open(`${base}/v1/stream?access_token=${token}${query}`, { headers });
  assert.equal(client.status, 200);
  // The first frame (retry hint) is written after the consumer exists: from here on nothing is missed.
  await client.until('retry hint', (c) => c.frames.length > 0);
  return client;
}

const ids = (c: SseClient) => c.events.map((f) => Number(f.id));

const countConsumers = async () =>
  (await fx.deps.jsm.streams.info(fx.deps.names.events.stream)).state.consumer_count;

async function metric(line: RegExp): Promise<number> {
  const m = line.exec((await fx.app.inject('/metrics')).body);
  return m ? Number(m[1]) : 0;
}

describe('GET /v1/stream', () => {
  test('events arrive with id = stream sequence, event = type, data = the event; retry hint and heartbeats', async () => {
    const client = await open(a);
    try {
      assert.equal(client.frames[0]?.retry, '2000');
      const e1 = await publish(a, a.siteIds[0]);
      const e2 = await publish(a, a.siteIds[1], { type: 'alert.resolved' });
      await client.until('two events', (c) => c.events.length >= 2);
      assert.deepEqual(ids(client), [e1.seq, e2.seq]);
      assert.deepEqual(
        client.events.map((f) => f.event),
        ['alert.opened', 'alert.resolved'],
      );
      assert.deepEqual(JSON.parse(client.events[0]!.data!), e1.event);
      await client.until('a heartbeat', (c) => c.frames.some((f) => f.comment === 'hb'));
    } finally {
      await client.close();
    }
  });

  test('reconnecting with Last-Event-ID delivers exactly the missed events', async () => {
    const first = await open(a);
    const e1 = await publish(a, a.siteIds[0]);
    const e2 = await publish(a, a.siteIds[0]);
    await first.until('e1, e2', (c) => c.events.length >= 2);
    await first.close();

    const e3 = await publish(a, a.siteIds[0]);
    const e4 = await publish(a, a.siteIds[1]);

    const again = await open(a, '', null, { 'last-event-id': String(e2.seq) });
    const viaQuery = await open(a, `&lastEventId=${e3.seq}`);
    try {
      const e5 = await publish(a, a.siteIds[0]);
      await again.until('e3, e4, e5', (c) => ids(c).includes(e5.seq));
      await viaQuery.until('e4, e5', (c) => ids(c).includes(e5.seq));
      assert.deepEqual(ids(first), [e1.seq, e2.seq]);
      assert.deepEqual(ids(again), [e3.seq, e4.seq, e5.seq]);
      assert.deepEqual(ids(viaQuery), [e4.seq, e5.seq]);
    } finally {
      await Promise.all([again.close(), viaQuery.close()]);
    }
  });

  test("another tenant's events never reach a client", async () => {
    const clientB = await open(b);
    // Even naming tenant A's site by id shows nothing of tenant A: the tenant comes from the token.
    const guess = await open(b, `&site=${a.siteIds[0]}`);
    try {
      await publish(a, a.siteIds[0]);
      await publish(a, a.siteIds[1]);
      const own = await publish(b, b.siteIds[0]);
      // B's own subject carrying the same site token: the guessing client's sentinel.
      const sentinel = await publish(b, a.siteIds[0]);
      // Delivery is in stream order: once the sentinel is here, A's earlier events would have been too.
      await clientB.until('own events', (c) => ids(c).includes(sentinel.seq));
      await guess.until('sentinel', (c) => ids(c).includes(sentinel.seq));
      assert.deepEqual(ids(clientB), [own.seq, sentinel.seq]);
      assert.deepEqual(ids(guess), [sentinel.seq]);
      for (const f of clientB.events) assert.equal(JSON.parse(f.data!).tenantId, b.tenantId);
    } finally {
      await Promise.all([clientB.close(), guess.close()]);
    }
  });

  test('a site-restricted user only receives events of its sites', async () => {
    const restricted = await open(a, '', [a.siteIds[0]]);
    try {
      await publish(a, a.siteIds[1]);
      const mine = await publish(a, a.siteIds[0]);
      await publish(a, a.siteIds[1]);
      const mine2 = await publish(a, a.siteIds[0]);
      await restricted.until('two own-site events', (c) => c.events.length >= 2);
      assert.deepEqual(ids(restricted), [mine.seq, mine2.seq]);
      for (const f of restricted.events) assert.equal(JSON.parse(f.data!).siteId, a.siteIds[0]);
    } finally {
      await restricted.close();
    }
    // Asking for a site outside the restriction answers like any invisible object.
    const token = await fx.token({ tenantId: a.tenantId, role: 'viewer', siteIds: [a.siteIds[0]] });
    const res = await fetch(`${base}/v1/stream?site=${a.siteIds[1]}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
  });

  test('filters: kind and equipment', async () => {
    const otherUnit = randomUUID();
    const byUnit = await open(a, `&equipment=${otherUnit}`);
    const byKind = await open(a, '&kind=occupancy');
    try {
      await publish(a, a.siteIds[0]);
      const unitEvent = await publish(a, a.siteIds[1], { equipmentId: otherUnit });
      const occupancy = await publish(a, a.siteIds[0], { kind: 'occupancy', type: 'occupancy.updated' });
      await byUnit.until('unit event', (c) => c.events.length >= 1);
      await byKind.until('occupancy event', (c) => c.events.length >= 1);
      const last = await publish(a, a.siteIds[1], {
        equipmentId: otherUnit,
        kind: 'occupancy',
        type: 'occupancy.updated',
      });
      await byUnit.until('last', (c) => ids(c).includes(last.seq));
      await byKind.until('last', (c) => ids(c).includes(last.seq));
      assert.deepEqual(ids(byUnit), [unitEvent.seq, last.seq]);
      assert.deepEqual(ids(byKind), [occupancy.seq, last.seq]);
      assert.equal(byKind.events[0]?.event, 'occupancy.updated');
    } finally {
      await Promise.all([byUnit.close(), byKind.close()]);
    }
  });

  test('no token or a bad token: 401 with the error envelope', async () => {
    for (const headers of [{}, { authorization: 'Bearer not.a.jwt' }]) {
      const res = await fetch(`${base}/v1/stream`, { headers });
      assert.equal(res.status, 401);
      const body = (await res.json()) as { error: { code: string } };
      assert.match(body.error.code, /^(UNAUTHENTICATED|INVALID_TOKEN)$/);
    }
    const viaQuery = await fetch(`${base}/v1/stream?access_token=garbage`);
    assert.equal(viaQuery.status, 401);
  });

  test("the client's consumer is removed when it disconnects", async () => {
    const client = await open(a);
    assert.ok((await countConsumers()) >= 1);
    await client.close();
    await waitFor('consumer deleted', async () => (await countConsumers()) === 0, 10_000);
    const metrics = (await fx.app.inject('/metrics')).body;
    assert.match(metrics, /^vigil_sse_clients 0$/m);
  });
});

describe('the token behind an open stream', () => {
  test('the stream ends when the access token expires', async () => {
    const dropped = () => metric(/^vigil_sse_dropped_total\{reason="token_expired"\} (\d+)$/m);
    const before = await dropped();
    // Issued long enough ago that it has about two seconds left.
    const issued = await fx.app.identity.tokens.issue(
      { userId: randomUUID(), tenantId: a.tenantId, role: 'viewer', siteIds: null, familyId: null },
      Date.now() - (fx.config.JWT_ACCESS_TTL_S - 2) * 1000,
    );
    const client = await SseClient.open(`${base}/v1/stream?access_token=${issued.token}`);
    try {
      assert.equal(client.status, 200);
      await client.until('stream ended at expiry', (c) => c.ended);
      assert.equal(await dropped(), before + 1);
    } finally {
      await client.close();
    }
    // Reconnecting with the expired token is refused, even within the verifier's clock tolerance.
    const again = await fetch(`${base}/v1/stream?access_token=${issued.token}`);
    assert.equal(again.status, 401);
  });

  test('logout, a user cutoff (disable, role change) and a tenant cutoff (suspension) end the stream', async () => {
    const t = await fx.tenant();
    const revokers: [string, (token: string, userId: string) => Promise<void>][] = [
      [
        'logout',
        async (token) => {
          const res = await fetch(`${base}/v1/auth/logout`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}` },
          });
          assert.equal(res.status, 204);
        },
      ],
      ['user cutoff', (_token, userId) => fx.app.identity.revocations.cutoffUser(userId)],
      ['tenant cutoff', () => fx.app.identity.revocations.cutoffTenant(t.tenantId)],
    ];
    for (const [name, revoke] of revokers) {
      const userId = randomUUID();
      const token = await fx.token({ tenantId: t.tenantId, role: 'viewer', siteIds: null, userId });
      const client = await SseClient.open(`${base}/v1/stream?access_token=${token}`);
      try {
        assert.equal(client.status, 200, name);
        await client.until(`${name}: retry hint`, (c) => c.frames.length > 0);
        const before = await publish(t, t.siteIds[0]);
        await client.until(`${name}: event before revocation`, (c) => ids(c).includes(before.seq));
        await revoke(token, userId);
        await client.until(`${name}: stream ended`, (c) => c.ended);
        const afterwards = await publish(t, t.siteIds[0]);
        assert.ok(!ids(client).includes(afterwards.seq), `${name}: an event after revocation arrived`);
      } finally {
        await client.close();
      }
    }
    assert.ok((await metric(/^vigil_sse_dropped_total\{reason="token_revoked"\} (\d+)$/m)) >= 3);
  });
});

describe('stream resources', () => {
  test('a client that leaves while its stream is being set up leaves no consumer behind', async () => {
    await waitFor('no consumers from earlier tests', async () => (await countConsumers()) === 0, 10_000);
    const consumers = fx.deps.js.consumers;
    const realGet = consumers.get.bind(consumers);
    let reached!: () => void;
    const inSetup = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let created!: () => void;
    const consumerCreated = new Promise<void>((resolve) => (created = resolve));
    // Hold the handler inside consumer setup until the client is gone.
    consumers.get = (async (...args: Parameters<typeof realGet>) => {
      reached();
      await gate;
      const consumer = await realGet(...args);
      created();
      return consumer;
    }) as typeof consumers.get;
    const token = await fx.token({ tenantId: a.tenantId, role: 'viewer', siteIds: null });
    let serverSide: Socket | undefined;
    fx.app.server.once('connection', (s: Socket) => (serverSide = s));
    const socket = connect((fx.app.server.address() as AddressInfo).port, '127.0.0.1');
    socket.on('error', () => undefined);
    try {
      socket.write(`GET /v1/stream?access_token=${token} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await within(10_000, 'handler in consumer setup', inSetup);
      assert.ok(serverSide, 'the server saw the connection');
      const closed = new Promise((resolve) => serverSide!.once('close', resolve));
      socket.destroy();
      await within(10_000, 'server saw the client leave', closed);
    } finally {
      consumers.get = realGet;
      release();
    }
    // The consumer was created after the client left: it must be deleted, not left to pull forever.
    await within(10_000, 'consumer created', consumerCreated);
    await waitFor('consumer deleted', async () => (await countConsumers()) === 0, 10_000);
    assert.equal(await metric(/^vigil_sse_clients (\d+)$/m), 0);
  });

  test(`a user holds at most ${MAX_STREAMS_PER_USER} streams; one more is 429, closing one frees its slot`, async () => {
    const userId = randomUUID();
    const token = await fx.token({ tenantId: a.tenantId, role: 'viewer', siteIds: null, userId });
    const url = `${base}/v1/stream?access_token=${token}`;
    const held: SseClient[] = [];
    try {
      for (let i = 0; i < MAX_STREAMS_PER_USER; i++) held.push(await SseClient.open(url));
      assert.deepEqual(
        held.map((c) => c.status),
        Array<number>(MAX_STREAMS_PER_USER).fill(200),
      );
      const over = await fetch(url);
      assert.equal(over.status, 429);
      assert.equal(((await over.json()) as { error: { code: string } }).error.code, 'RATE_LIMITED');
      // Another user is not affected.
      await (await open(a)).close();

      await held.shift()!.close();
      // The server frees the slot when it sees the disconnect.
      await waitFor(
        'slot freed',
        async () => {
          const next = await SseClient.open(url);
          if (next.status === 200) {
            held.push(next);
            return true;
          }
          await next.close();
          return false;
        },
        10_000,
      );
    } finally {
      await Promise.all(held.map((c) => c.close()));
    }
  });
});

describe('shutdown', () => {
  test('closing the server ends open streams and leaves shared connections open', async () => {
    const server = await startServer({ config: fx.config, deps: fx.deps, host: '127.0.0.1', port: 0 });
    const token = await fx.token({ tenantId: a.tenantId, role: 'viewer', siteIds: null });
    const client = await SseClient.open(`${server.url}/v1/stream?access_token=${token}`);
    try {
      assert.equal(client.status, 200);
      await client.until('retry hint', (c) => c.frames.length > 0);
      await within(10_000, 'server closed', server.close());
      await client.until('stream ended by the server', (c) => c.ended);
      assert.equal(fx.deps.nc.isClosed(), false, "deps passed in are the caller's to close");
    } finally {
      await client.close();
    }
  });
});

describe('slow clients', () => {
  let slow: GatewayFixture;
  let slowBase: string;
  let t: TenantFixture;

  before(async () => {
    slow = await gatewayFixture({ streams: ['events'], sse: { maxBufferedBytes: 256 * 1024 } });
    await slow.app.listen({ host: '127.0.0.1', port: 0 });
    slowBase = `http://127.0.0.1:${(slow.app.server.address() as AddressInfo).port}`;
    t = await slow.tenant();
  });
  after(async () => {
    await slow?.close();
  });

  test('a client that stops reading is dropped, not buffered for', async () => {
    const token = await slow.token({ tenantId: t.tenantId, role: 'viewer', siteIds: null });
    const abort = new AbortController();
    // Headers are read, the body never: the socket fills up, then the server's buffer does.
    const res = await fetch(`${slowBase}/v1/stream?access_token=${token}`, { signal: abort.signal });
    assert.equal(res.status, 200);
    const pad = 'x'.repeat(60 * 1024);
    const subject = slow.deps.names.events.subject(t.tenantId, t.siteIds[0], 'alert', t.equipmentId);
    const dropped = async () =>
      /^vigil_sse_dropped_total\{reason="slow_client"\} 1$/m.test((await slow.app.inject('/metrics')).body);
    try {
      await within(
        60_000,
        'slow client dropped',
        (async () => {
          for (let i = 0; !(await dropped()); i++) {
            const event = {
              id: `e${i}`,
              type: 'alert.updated',
              tenantId: t.tenantId,
              siteId: t.siteIds[0],
              ts: Date.now(),
              data: { pad },
            };
            await slow.deps.js.publish(subject, JSON.stringify(event));
            if (i % 20 === 19) await sleep(20);
          }
        })(),
      );
      assert.match((await slow.app.inject('/metrics')).body, /^vigil_sse_clients 0$/m);
    } finally {
      abort.abort();
    }
  });
});

describe('a stalled client beside a normal one', () => {
  const MAX_BUFFERED = 256 * 1024;
  const PAD = 60 * 1024;
  let fx2: GatewayFixture;
  let port: number;
  let t: TenantFixture;

  before(async () => {
    fx2 = await gatewayFixture({ streams: ['events'], sse: { maxBufferedBytes: MAX_BUFFERED } });
    await fx2.app.listen({ host: '127.0.0.1', port: 0 });
    port = (fx2.app.server.address() as AddressInfo).port;
    t = await fx2.tenant();
  });
  after(async () => {
    await fx2?.close();
  });

  const metric = async (re: RegExp): Promise<number | null> => {
    const m = re.exec((await fx2.app.inject('/metrics')).body);
    return m ? Number(m[1]) : null;
  };

  test('the stalled one is dropped at the bound, the normal one gets every event and stays', async () => {
    const viewer = { tenantId: t.tenantId, role: 'viewer' as const, siteIds: null };
    const normal = await SseClient.open(
      `http://127.0.0.1:${port}/v1/stream?access_token=${await fx2.token(viewer)}`,
    );
    // The stalled client sends its request and never reads a byte: the socket stays paused.
    const stalled: Socket = connect(port, '127.0.0.1');
    stalled.on('error', () => undefined);
    stalled.write(
      `GET /v1/stream?access_token=${await fx2.token(viewer)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
    );
    stalled.pause();
    try {
      await normal.until('retry hint', (c) => c.frames.length > 0);
      await waitFor(
        'both streams open',
        async () => (await metric(/^vigil_sse_clients (\d+)$/m)) === 2,
        10_000,
      );
      const subject = fx2.deps.names.events.subject(t.tenantId, t.siteIds[0], 'alert', t.equipmentId);
      const published: number[] = [];
      const dropped = async (): Promise<boolean> =>
        (await metric(/^vigil_sse_dropped_total\{reason="slow_client"\} (\d+)$/m)) === 1;
      await within(
        60_000,
        'stalled client dropped',
        (async () => {
          for (let i = 0; !(await dropped()); i++) {
            const event = {
              id: `s${i}`,
              type: 'alert.updated',
              tenantId: t.tenantId,
              siteId: t.siteIds[0],
              ts: Date.now(),
              data: { pad: 'x'.repeat(PAD) },
            };
            published.push((await fx2.deps.js.publish(subject, JSON.stringify(event))).seq);
            // Paced, so the normal client (read by this same process) keeps up.
            if (i % 5 === 4) await sleep(20);
          }
        })(),
      );
      // One more after the drop: the normal client is still served.
      published.push(await publish_(t, fx2));
      await normal.until('every event', (c) => ids(c).length >= published.length, 30_000);
      assert.deepEqual(ids(normal), published);
      assert.equal(normal.ended, false);
      assert.equal(await metric(/^vigil_sse_clients (\d+)$/m), 1);
      // What the gateway held for the stalled client: never more than the bound plus one event.
      const held = await metric(/^vigil_sse_slow_client_buffered_bytes (\d+)$/m);
      assert.ok(held !== null && held > MAX_BUFFERED && held <= MAX_BUFFERED + PAD + 1024, `held ${held}`);
    } finally {
      stalled.destroy();
      await normal.close();
    }
  });
});

describe('revocation reaches open streams at once', () => {
  let quiet: GatewayFixture;
  let quietBase: string;
  let t: TenantFixture;

  before(async () => {
    // Heartbeats far apart: the stream must end because it was told, not at the next re-check.
    quiet = await gatewayFixture({ streams: ['events'], sse: { heartbeatMs: 600_000 } });
    await quiet.app.listen({ host: '127.0.0.1', port: 0 });
    quietBase = `http://127.0.0.1:${(quiet.app.server.address() as AddressInfo).port}`;
    t = await quiet.tenant();
  });
  after(async () => {
    await quiet?.close();
  });

  test('logout, a user cutoff and a tenant cutoff end the stream without waiting for a heartbeat', async () => {
    const revokers: [string, (token: string, userId: string) => Promise<void>][] = [
      [
        'logout',
        async (token) => {
          const res = await fetch(`${quietBase}/v1/auth/logout`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}` },
          });
          assert.equal(res.status, 204);
        },
      ],
      ['user cutoff', (_token, userId) => quiet.app.identity.revocations.cutoffUser(userId)],
      ['tenant cutoff', () => quiet.app.identity.revocations.cutoffTenant(t.tenantId)],
    ];
    for (const [name, revoke] of revokers) {
      const userId = randomUUID();
      const token = await quiet.token({ tenantId: t.tenantId, role: 'viewer', siteIds: null, userId });
      // A bystander of another user in the same tenant, open throughout (until the tenant cutoff).
      const other = await quiet.token({ tenantId: t.tenantId, role: 'viewer', siteIds: null });
      const client = await SseClient.open(`${quietBase}/v1/stream?access_token=${token}`);
      const bystander = await SseClient.open(`${quietBase}/v1/stream?access_token=${other}`);
      try {
        await client.until(`${name}: retry hint`, (c) => c.frames.length > 0);
        await bystander.until(`${name}: bystander retry hint`, (c) => c.frames.length > 0);
        await revoke(token, userId);
        await client.until(`${name}: stream ended`, (c) => c.ended);
        if (name !== 'tenant cutoff') {
          const next = await publish_(t, quiet);
          await bystander.until(`${name}: bystander still served`, (c) => ids(c).includes(next));
          assert.equal(bystander.ended, false);
        }
      } finally {
        await client.close();
        await bystander.close();
      }
    }
  });
});

/** Publish an alert event on a fixture of this file other than the shared one. */
async function publish_(t: TenantFixture, on: GatewayFixture): Promise<number> {
  const id = randomUUID();
  const event = {
    id,
    type: 'alert.opened',
    tenantId: t.tenantId,
    siteId: t.siteIds[0],
    ts: Date.now(),
    data: { alertId: randomUUID(), equipmentId: t.equipmentId, severity: 'critical', message: `event ${id}` },
  };
  const subject = on.deps.names.events.subject(t.tenantId, t.siteIds[0], 'alert', t.equipmentId);
  return (await on.deps.js.publish(subject, JSON.stringify(event), { msgID: id })).seq;
}
