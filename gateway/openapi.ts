import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

const TAGS = [
  { name: 'auth', description: 'Login, token refresh, logout, current user' },
  { name: 'tenants', description: 'Companies / store chains (platform admins; signup when enabled)' },
  { name: 'sites', description: 'Branches and store locations' },
  { name: 'users', description: 'Users of a tenant, their roles and site restrictions' },
  { name: 'invites', description: 'Single-use invitations to join a tenant' },
  { name: 'equipment', description: 'Refrigeration units and their API keys' },
  { name: 'maintenance', description: 'Maintenance records of equipment' },
  { name: 'alerts', description: 'Alerts: list, acknowledge, resolve, snooze, timeline' },
  { name: 'alert-rules', description: 'Alert rules (global, tenant, site, equipment scope) and backtests' },
  { name: 'audit', description: 'Audit log of management actions' },
  { name: 'telemetry', description: 'Device ingestion over HTTP (X-API-Key)' },
  { name: 'events', description: 'Live events over server-sent events' },
  { name: 'ops', description: 'Health and metrics' },
];

/**
 * OpenAPI 3 built from the TypeBox route schemas, served at /openapi.json, with Swagger UI at
 * /docs from the assets bundled in the package (no CDN). Must run before any route is added:
 * the document is collected from Fastify's onRoute hook.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Vigil API',
        version: '1',
        description:
          'Multi-tenant monitoring of refrigeration equipment and retail cameras. Errors always have the body ' +
          '`{ "error": { "code", "message", "details?", "requestId" } }`; codes are stable.',
      },
      tags: TAGS,
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
    // Shared schemas keep their $id as the component name instead of def-0, def-1, ...
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    uiConfig: { deepLinking: true, docExpansion: 'list' },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
