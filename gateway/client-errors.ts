import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyServerOptions } from 'fastify';
import { ERRORS, type Config, type ErrorCode } from '../schemas/mod.ts';

/**
 * Requests that never become requests: a client too slow to send its headers or its body, or
 * bytes that are not HTTP. Node answers these on the socket, before Fastify sees a request; by
 * default the body is Fastify's own shape. Here they get the one error envelope too.
 */

const BY_NODE_CODE: Record<string, ErrorCode> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
};

/** Fastify's `clientErrorHandler`: answer in the envelope, then close the connection. */
function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const code = BY_NODE_CODE[err.code ?? ''] ?? 'BAD_REQUEST';
  const { status, message } = ERRORS[code];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/**
 * Server options that bound how long a client may hold a connection without completing a
 * request. Fastify leaves the request timeout off: a request that announces a body and sends
 * part of it would stay open for ever. Node checks the deadlines every
 * `connectionsCheckingInterval` (30 s by default, longer than the timeouts themselves).
 */
export function clientTimeoutOptions(
  config: Pick<Config, 'VIGIL_REQUEST_TIMEOUT_MS' | 'VIGIL_HEADERS_TIMEOUT_MS'>,
): Pick<FastifyServerOptions, 'requestTimeout' | 'clientErrorHandler'> & {
  http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number };
} {
  const requestTimeout = config.VIGIL_REQUEST_TIMEOUT_MS;
  // Node refuses a headers timeout longer than the request timeout.
  const headersTimeout = Math.min(config.VIGIL_HEADERS_TIMEOUT_MS, requestTimeout);
  return {
    requestTimeout,
    http: {
      headersTimeout,
      requestTimeout,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
    clientErrorHandler,
  };
}
