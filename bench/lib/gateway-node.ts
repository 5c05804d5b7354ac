/**
 * Child process of the ingest bench: the gateway on an ephemeral loopback port, in namespace
 * VIGIL_NS. Ready with its URL and an access token for BENCH_TENANT_ID (a tenant admin, as
 * the identity module issues them after a login), which the bench uses for `/v1/stream`.
 * BENCH_SSE_STREAMS_PER_USER raises the per-user stream limit (the SSE memory bench opens
 * thousands with one token); `call('memory')` returns the process's memory usage.
 */
import { randomUUID } from 'node:crypto';
import { startServer, type RunningServer } from '../../gateway/mod.ts';
import { createLogger, loadConfig } from '../../schemas/mod.ts';
import { failToParent, loopDelayMonitor, serveParent } from './child.ts';

async function main(): Promise<void> {
  const tenantId = process.env['BENCH_TENANT_ID'];
  const loopDelay = loopDelayMonitor();
  let server: RunningServer;
  let token: string;
  try {
    if (!tenantId) throw new Error('BENCH_TENANT_ID is not set');
    const config = loadConfig();
    const streamsPerUser = Number(process.env['BENCH_SSE_STREAMS_PER_USER'] ?? 0);
    server = await startServer({
      config,
      log: createLogger(config, 'bench-gateway'),
      host: '127.0.0.1',
      port: 0,
      ...(streamsPerUser > 0 ? { sse: { maxStreamsPerUser: streamsPerUser } } : {}),
    });
    token = (
      await server.app.identity.tokens.issue({
        userId: randomUUID(),
        tenantId,
        role: 'tenant_admin',
        siteIds: null,
        familyId: null,
      })
    ).token;
  } catch (err) {
    failToParent(err);
  }
  serveParent(
    { url: server.url, token },
    {
      calls: { cpu: () => process.cpuUsage(), loopDelay, memory: () => process.memoryUsage() },
      stop: () => server.close(),
    },
  );
}

await main();
