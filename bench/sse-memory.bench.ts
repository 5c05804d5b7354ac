/**
 * Memory per idle SSE client (issue 10): N clients (default 5 000) connect to `/v1/stream` of a
 * gateway in a child process and read what comes (the retry hint, heartbeats); nothing is
 * published. Printed: the gateway's RSS and heap growth divided by N, the NATS server's growth
 * (each stream is a JetStream consumer there), and the same clients against a bare node:http
 * server holding the same open responses (the machine's floor for an open HTTP response).
 *
 *   VIGIL_PORT_OFFSET=… npm run bench:sse-memory -- [--clients 5000]
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool, loadConfig, migrate } from '../schemas/mod.ts';
import {
  connectNats,
  deleteNamespace,
  ensureStreams,
  jetstreamManager,
  names as namesFor,
} from '../streams/mod.ts';
import { ChildNode, REPO_ROOT } from './lib/child.ts';

const i = process.argv.indexOf('--clients');
const CLIENTS = i >= 0 ? Number(process.argv[i + 1]) : 5000;
const BATCH = 100;

const ns = `ssem${randomBytes(3).toString('hex')}`;
const config = loadConfig(process.env, { VIGIL_NS: ns, LOG_LEVEL: 'warn' });
const names = namesFor(ns);
await migrate(config);
const admin = createPool(config, 'admin', 1);
const nc = await connectNats(config, 'sse-memory-bench');
const jsm = await jetstreamManager(nc);
await ensureStreams(jsm, names);
const tenant = await admin.query<{ id: string }>(
  'INSERT INTO tenants (name, slug) VALUES ($1, $1) RETURNING id',
  [`sse-memory-${ns}`],
);
const tenantId = tenant.rows[0]!.id;
const logDir = join(REPO_ROOT, '.vigil', 'bench');
mkdirSync(logDir, { recursive: true });

/** The NATS server's resident memory (bytes), from its monitoring endpoint; null if unknown. */
async function natsRss(): Promise<number | null> {
  const port = Number(new URL(config.NATS_URL).port) - 4222 + 8222;
  try {
    const res = await fetch(`http://127.0.0.1:${port}/varz`);
    return ((await res.json()) as { mem?: number }).mem ?? null;
  } catch {
    return null;
  }
}

/** Open one stream over a raw socket; resolves once the 200 and the retry hint arrived. */
function open(url: URL, token: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(Number(url.port), url.hostname);
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (!head.includes('retry:')) return;
      s.off('data', onData);
      // From here on the client reads and discards, like an idle dashboard.
      s.on('data', () => undefined);
      if (head.startsWith('HTTP/1.1 200')) resolve(s);
      else reject(new Error(head.slice(0, 200)));
    };
    s.on('data', onData);
    s.on('error', reject);
    s.write(
      `GET ${token ? '/v1/stream' : '/'} HTTP/1.1\r\nHost: ${url.host}\r\n` +
        (token ? `Authorization: Bearer ${token}\r\n` : '') +
        'Accept: text/event-stream\r\n\r\n',
    );
  });
}

interface Memory {
  rss: number;
  heapUsed: number;
}

async function measure(
  label: string,
  script: string,
): Promise<{ rss: number; heap: number; nats: number | null; openMs: number }> {
  const node = await ChildNode.start<{ url: string; token: string }>({
    name: label,
    script,
    env: {
      ...process.env,
      VIGIL_NS: ns,
      LOG_LEVEL: 'warn',
      BENCH_TENANT_ID: tenantId,
      BENCH_SSE_STREAMS_PER_USER: String(CLIENTS + 10),
    },
    logFile: join(logDir, `sse-memory-${ns}-${label}.log`),
    readyTimeoutMs: 120_000,
  });
  const url = new URL(node.ready.url);
  const sockets: Socket[] = [];
  try {
    // Warm up (JIT, pools, the first consumer), then the baseline.
    for (const s of await Promise.all(Array.from({ length: 20 }, () => open(url, node.ready.token))))
      s.destroy();
    await sleep(3000);
    const before = await node.call<Memory>('memory');
    const natsBefore = await natsRss();
    const t0 = performance.now();
    while (sockets.length < CLIENTS) {
      const n = Math.min(BATCH, CLIENTS - sockets.length);
      sockets.push(...(await Promise.all(Array.from({ length: n }, () => open(url, node.ready.token)))));
    }
    const openMs = performance.now() - t0;
    await sleep(5000);
    const after = await node.call<Memory>('memory');
    const natsAfter = await natsRss();
    return {
      rss: (after.rss - before.rss) / CLIENTS,
      heap: (after.heapUsed - before.heapUsed) / CLIENTS,
      nats: natsBefore !== null && natsAfter !== null ? (natsAfter - natsBefore) / CLIENTS : null,
      openMs,
    };
  } finally {
    for (const s of sockets) s.destroy();
    await node.stop();
  }
}

const kib = (b: number | null): string => (b === null ? 'n/a' : `${(b / 1024).toFixed(1)} KiB`);
try {
  const bare = await measure('bare', 'bench/lib/bare-sse-node.ts');
  const vigil = await measure('gateway', 'bench/lib/gateway-node.ts');
  process.stdout.write(
    [
      `${CLIENTS} idle SSE clients (one run each):`,
      `| server | RSS per client | JS heap per client | NATS server RSS per client | time to open all |`,
      `|---|---|---|---|---|`,
      `| bare node:http (floor) | ${kib(bare.rss)} | ${kib(bare.heap)} | - | ${(bare.openMs / 1000).toFixed(1)} s |`,
      `| Vigil gateway | ${kib(vigil.rss)} | ${kib(vigil.heap)} | ${kib(vigil.nats)} | ${(vigil.openMs / 1000).toFixed(1)} s |`,
      '',
    ].join('\n'),
  );
} finally {
  await deleteNamespace(jsm, names).catch(() => undefined);
  await admin.query('DELETE FROM tenants WHERE id = $1', [tenantId]);
  await admin.end();
  await nc.drain();
}
