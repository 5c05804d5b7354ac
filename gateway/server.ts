import type { FastifyInstance } from 'fastify';
import { createLogger, loadConfig, type Config, type Logger } from '../schemas/mod.ts';
import { buildApp } from './app.ts';
import { connectGatewayDeps, type GatewayDeps } from './deps.ts';
import type { SseOptions } from './stream.routes.ts';

export interface StartServerOptions {
  config?: Config;
  log?: Logger;
  /** Shared dependencies; when given, the caller owns them and `close()` leaves them open. */
  deps?: GatewayDeps;
  sse?: Partial<SseOptions>;
  /** Override config HOST / PORT (PORT 0 = any free port). */
  host?: string;
  port?: number;
}

export interface RunningServer {
  app: FastifyInstance;
  deps: GatewayDeps;
  /** Base URL, e.g. http://127.0.0.1:8088 */
  url: string;
  /** Stop accepting, end SSE streams, finish in-flight requests, then close owned connections. */
  close(): Promise<void>;
}

export async function startServer(opts: StartServerOptions = {}): Promise<RunningServer> {
  const config = opts.config ?? loadConfig();
  const log = opts.log ?? createLogger(config, 'gateway');
  const ownsDeps = !opts.deps;
  const deps = opts.deps ?? (await connectGatewayDeps(config, log));
  let app: FastifyInstance;
  try {
    app = await buildApp({ config, deps, ...(opts.sse ? { sse: opts.sse } : {}) });
    await app.listen({ host: opts.host ?? config.HOST, port: opts.port ?? config.PORT });
  } catch (err) {
    if (ownsDeps) await deps.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? config.PORT);
  const host = opts.host ?? config.HOST;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        await app.close();
      } finally {
        if (ownsDeps) await deps.close();
      }
    })();
    return closing;
  };
  return { app, deps, url, close };
}

/** `npx tsx gateway/server.ts`: run the gateway until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config, 'gateway');
  let server: RunningServer;
  try {
    server = await startServer({ config, log });
  } catch (err) {
    log.fatal({ err }, 'gateway failed to start');
    process.exitCode = 1;
    return;
  }
  log.info({ url: server.url }, 'gateway listening');

  const SHUTDOWN_GRACE_MS = 10_000;
  const stop = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'shutting down');
    // A stuck connection must not keep a stopped service alive forever.
    const force = setTimeout(() => {
      log.error({ graceMs: SHUTDOWN_GRACE_MS }, 'shutdown grace period over; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    server.close().then(
      () => log.info('gateway stopped'),
      (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.main) await main();
