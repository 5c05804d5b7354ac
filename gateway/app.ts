import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Config } from '../schemas/mod.ts';
import { adminRoutes } from './admin/mod.ts';
import { dashboardRoutes } from './dashboard.routes.ts';
import type { GatewayDeps } from './deps.ts';
import { clientTimeoutOptions } from './client-errors.ts';
import { frameworkErrorHandler, installErrorHandling } from './error-handler.ts';
import { healthRoutes } from './health.routes.ts';
import { registerMaintenanceMetrics } from './maintenance-jobs.ts';
import { identityPlugin } from './identity/mod.ts';
import { createGatewayMetrics, installHttpMetrics, metricsRoutes } from './metrics.ts';
import { registerOpenApi } from './openapi.ts';
import { genRequestId, quietLogLevel, requestLogSerializers } from './http-logging.ts';
import { streamRoutes, type SseOptions } from './stream.routes.ts';
import { telemetryRoutes } from './telemetry.routes.ts';
import { installTextGuard } from './text-guard.ts';
import { buildValidator } from './validation.ts';

type ValidatorFactory = NonNullable<
  NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']
>;

export interface BuildAppOptions {
  config: Config;
  deps: GatewayDeps;
  /** SSE tuning (heartbeat period, slow-client bound); tests shorten the heartbeat. */
  sse?: Partial<SseOptions>;
}

/**
 * The whole HTTP surface, without listening: tests call `app.inject` or `app.listen` on port 0,
 * `server.ts` listens for real.
 */
export async function buildApp({ config, deps, sse }: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // Typed as Fastify's base logger so the instance is the plain FastifyInstance plugins expect.
    loggerInstance: deps.log.child(
      { component: 'http' },
      { serializers: requestLogSerializers },
    ) as FastifyBaseLogger,
    bodyLimit: config.VIGIL_MAX_BODY_BYTES,
    ...clientTimeoutOptions(config),
    frameworkErrors: frameworkErrorHandler,
    // Every id comes from genRequestId, which accepts a caller's x-request-id only when it is sane.
    requestIdHeader: false,
    genReqId: genRequestId,
    trustProxy: false,
    routerOptions: { ignoreTrailingSlash: true },
    // @fastify/ajv-compiler's types describe the compiler as (schema) => fn; Fastify actually
    // calls it with { schema, httpPart, ... }, which is what ours takes.
    schemaController: {
      compilersFactory: { buildValidator: buildValidator as unknown as ValidatorFactory },
    },
  });

  // JSON only: without this, Fastify parses text/plain into a string and a device posting the
  // wrong content type would get a confusing validation error instead of 415.
  app.removeContentTypeParser('text/plain');

  const metrics = createGatewayMetrics();
  registerMaintenanceMetrics(metrics.registry, deps);
  installErrorHandling(app);
  installTextGuard(app);
  installHttpMetrics(app, metrics);
  await registerOpenApi(app);

  await app.register(healthRoutes, { deps });
  await app.register(metricsRoutes, { metrics, logLevel: quietLogLevel(config.LOG_LEVEL) });
  await app.register(identityPlugin, { deps });
  // The prefix lives on a wrapper context, so a plugin that forwards its options to nested
  // registrations cannot apply it twice (/v1/v1/...).
  await app.register(
    async (v1) => {
      await v1.register(adminRoutes, { deps });
    },
    { prefix: '/v1' },
  );
  await app.register(telemetryRoutes, { prefix: '/v1', deps, metrics });
  await app.register(streamRoutes, { prefix: '/v1', deps, metrics, sse: sse ?? {} });
  await app.register(dashboardRoutes, { logLevel: quietLogLevel(config.LOG_LEVEL) });
  return app;
}
