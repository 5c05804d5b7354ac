import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';

/** A caller-supplied id is kept only when it cannot corrupt a log line or a header. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function genRequestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** Query parameters that carry credentials (EventSource cannot send headers). */
const SECRET_QUERY_PARAMS = ['access_token'];

/** The path and query with secret parameter values replaced, for logs. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  let changed = false;
  for (const name of SECRET_QUERY_PARAMS) {
    if (params.has(name)) {
      params.set(name, '[redacted]');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, q)}?${params.toString()}` : url;
}

/** Fastify's default request serializer logs the raw URL; this one never logs a token. */
export const requestLogSerializers = {
  req(req: FastifyRequest) {
    return {
      method: req.method,
      url: redactUrl(req.url),
      remoteAddress: req.ip,
      userAgent: req.headers['user-agent'],
    };
  },
};

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type Level = (typeof LEVELS)[number];

/**
 * Route log level for high-frequency endpoints (health probes, scrapes, static files): at
 * least `warn`, so their per-request lines stay out of the log, but never below the configured
 * level, so LOG_LEVEL=error or silent still silences them.
 */
export function quietLogLevel(configured: string): Level {
  const i = Math.max(LEVELS.indexOf(configured as Level), LEVELS.indexOf('warn'));
  return LEVELS[i] ?? 'warn';
}
