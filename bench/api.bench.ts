/**
 * Authenticated, tenant-scoped reads per second, next to a bare Fastify hello-world measured
 * in the same run on the same machine — the ceiling any route here could reach.
 *
 *   npm run bench:api            (BENCH_SECONDS=5 BENCH_CONCURRENCY=16 by default)
 *
 * Each scoped read does the whole path: JWT signature check (EdDSA), the Redis revocation
 * lookup, a PostgreSQL transaction with the tenant set (RLS) and the query, JSON out.
 * The load generator is a keep-alive HTTP/1.1 loop in this process (no extra packages); it
 * shares the CPU with the servers, so both figures are measured under the same handicap.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { buildApp, connectGatewayDeps } from '../gateway/mod.ts';
import { provisionTenant } from '../gateway/identity/mod.ts';
import { createLogger, createPool, loadConfig, migrate, type SessionResponse } from '../schemas/mod.ts';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 16);

interface Result {
  requests: number;
  errors: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Keep `concurrency` requests in flight on kept-alive sockets for `ms`; count 2xx answers. */
async function load(
  url: string,
  headers: Record<string, string>,
  ms: number,
  concurrency: number,
): Promise<Result> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + ms;
  const one = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const req = request(url, { agent, headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode && res.statusCode < 300) latencies.push(performance.now() - started);
          else errors++;
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end();
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await one();
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    requests: latencies.length,
    errors,
    perSecond: latencies.length / elapsedS,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

const config = loadConfig(process.env, {
  VIGIL_NS: `bench${randomBytes(3).toString('hex')}`,
  LOG_LEVEL: 'warn',
});
await migrate(config);
const log = createLogger(config, 'bench-api');
const deps = await connectGatewayDeps(config, log);
const app = await buildApp({ config, deps });
// Request logging would measure pino, not the API.
app.log.level = 'warn';
const appPool = createPool(config, 'app', 2);
const bare = Fastify({ logger: false });
bare.get('/hello', async () => ({ hello: 'world' }));

let tenantId: string | null = null;
try {
  const [apiUrl, bareUrl] = await Promise.all([listen(app), listen(bare)]);
  const slug = `bench-${randomBytes(4).toString('hex')}`;
  const email = `${slug}@example.com`;
  const password = randomBytes(12).toString('base64url');
  const created = await provisionTenant(
    appPool,
    { name: slug, slug, owner: { email, name: 'Bench', password } },
    { actor: null },
  );
  tenantId = created.tenant.id;
  const login = await fetch(`${apiUrl}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const session = (await login.json()) as SessionResponse;
  const auth = { authorization: `Bearer ${session.accessToken}` };
  const site = (await (
    await fetch(`${apiUrl}/v1/sites`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Bench site', timezone: 'UTC' }),
    })
  ).json()) as { id: string };
  for (let i = 0; i < 20; i++) {
    await fetch(`${apiUrl}/v1/equipment`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ siteId: site.id, name: `Unit ${i}` }),
    });
  }

  const runs: [string, string, Record<string, string>][] = [
    ['bare Fastify hello-world', `${bareUrl}/hello`, {}],
    ['GET /v1/sites/:id (authenticated, tenant-scoped)', `${apiUrl}/v1/sites/${site.id}`, auth],
    ['GET /v1/equipment?limit=20 (authenticated, tenant-scoped)', `${apiUrl}/v1/equipment?limit=20`, auth],
  ];
  const results: { name: string; r: Result }[] = [];
  for (const [name, url, headers] of runs) {
    await load(url, headers, 1000, CONCURRENCY); // warm-up: JIT, pools, connections
    results.push({ name, r: await load(url, headers, SECONDS * 1000, CONCURRENCY) });
  }
  const ceiling = results[0]!.r.perSecond;
  console.log(
    `\nAPI read throughput — ${SECONDS} s per run, ${CONCURRENCY} concurrent keep-alive connections\n`,
  );
  console.log(
    'run'.padEnd(60),
    'req/s'.padStart(9),
    'of bare'.padStart(8),
    'p50 ms'.padStart(8),
    'p99 ms'.padStart(8),
    'errors'.padStart(7),
  );
  for (const { name, r } of results) {
    console.log(
      name.padEnd(60),
      r.perSecond.toFixed(0).padStart(9),
      `${((100 * r.perSecond) / ceiling).toFixed(0)}%`.padStart(8),
      r.p50Ms.toFixed(2).padStart(8),
      r.p99Ms.toFixed(2).padStart(8),
      String(r.errors).padStart(7),
    );
  }
  console.log();
} finally {
  await Promise.allSettled([app.close(), bare.close()]);
  if (tenantId) {
    const admin = createPool(config, 'admin', 1);
    await admin.query('DELETE FROM tenants WHERE id = $1', [tenantId]).finally(() => admin.end());
  }
  await appPool.end();
  await deps.close();
}
