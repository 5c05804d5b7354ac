import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Level } from './http-logging.ts';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of one gateway instance. A registry per app (not prom-client's global
 * one), so several apps in one process — tests — never collide on metric names.
 */
export interface GatewayMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  sseClients: Gauge;
  sseDropped: Counter<'reason'>;
  sseEvents: Counter;
  sseSlowBuffered: Gauge;
  telemetryAccepted: Counter;
  telemetryRejected: Counter<'code'>;
}

export function createGatewayMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vigil_gateway_' });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'vigil_http_request_duration_seconds',
      help: 'HTTP request duration by route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    sseClients: new Gauge({
      name: 'vigil_sse_clients',
      help: 'Connected SSE clients',
      registers: [registry],
    }),
    sseDropped: new Counter({
      name: 'vigil_sse_dropped_total',
      help: 'SSE clients disconnected by the server (slow client, stream failure, token expired or revoked)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    sseEvents: new Counter({
      name: 'vigil_sse_events_total',
      help: 'Events written to SSE clients',
      registers: [registry],
    }),
    sseSlowBuffered: new Gauge({
      name: 'vigil_sse_slow_client_buffered_bytes',
      help: 'Bytes the last client dropped as too slow had waiting in the gateway (bounded by the SSE buffer limit plus one event)',
      registers: [registry],
    }),
    telemetryAccepted: new Counter({
      name: 'vigil_telemetry_accepted_total',
      help: 'Readings accepted by POST /v1/telemetry and published to JetStream',
      registers: [registry],
    }),
    telemetryRejected: new Counter({
      name: 'vigil_telemetry_rejected_total',
      help: 'Readings refused by POST /v1/telemetry, by error code',
      labelNames: ['code'],
      registers: [registry],
    }),
  };
}

/** Root-level hook: every route, including 404s, lands in the request histogram. */
export function installHttpMetrics(app: FastifyInstance, metrics: GatewayMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    // The route template, never the raw URL: ids in paths would explode label cardinality.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}

export const metricsRoutes: FastifyPluginAsync<{ metrics: GatewayMetrics; logLevel: Level }> = async (
  app,
  { metrics, logLevel },
) => {
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['ops'],
        summary: 'Prometheus metrics',
        produces: ['text/plain'],
        response: { 200: Type.String({ description: 'Prometheus text exposition format' }) },
      },
      logLevel,
    },
    async (_request, reply) => {
      const body = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(body);
    },
  );
};
