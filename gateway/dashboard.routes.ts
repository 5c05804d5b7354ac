import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Level } from './http-logging.ts';

const PUBLIC_DIR = join(import.meta.dirname, 'public');

/**
 * The dashboard is a few static files: the live page (with its camera panel) and the store
 * metrics page, their shared session module and style sheets. A fixed allowlist (no path from the request ever reaches the
 * filesystem) and contents read once at boot.
 */
const FILES: { url: string; file: string; type: string }[] = [
  { url: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { url: '/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { url: '/app.css', file: 'app.css', type: 'text/css; charset=utf-8' },
  { url: '/store-metrics', file: 'metrics.html', type: 'text/html; charset=utf-8' },
  { url: '/metrics.js', file: 'metrics.js', type: 'text/javascript; charset=utf-8' },
  { url: '/session.js', file: 'session.js', type: 'text/javascript; charset=utf-8' },
  { url: '/cameras.js', file: 'cameras.js', type: 'text/javascript; charset=utf-8' },
  { url: '/cameras.css', file: 'cameras.css', type: 'text/css; charset=utf-8' },
];

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  // blob: the camera overlays, fetched with the bearer token and shown through object URLs.
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export const dashboardRoutes: FastifyPluginAsync<{ logLevel: Level }> = async (app, { logLevel }) => {
  for (const { url, file, type } of FILES) {
    const body = await readFile(join(PUBLIC_DIR, file));
    app.get(
      url,
      {
        schema: {
          tags: ['dashboard'],
          hide: true,
          response: { 200: Type.String({ description: type }) },
        },
        logLevel,
      },
      async (_request, reply) =>
        reply
          .type(type)
          .header('content-security-policy', CSP)
          .header('x-content-type-options', 'nosniff')
          .header('cache-control', 'no-cache')
          .send(body),
    );
  }
};
