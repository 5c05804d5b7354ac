import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Identity, type IdentityDeps } from './identity.ts';
import { KeyRing } from './keys.ts';
import { decoyHash } from './passwords.ts';
import { DEFAULT_RATE_LIMITS, type RateLimits } from './rate-limit.ts';

export interface IdentityPluginOptions {
  deps: IdentityDeps;
  /** Override rate limits (tests; deployments behind a shared NAT may want more per IP). */
  rateLimits?: Partial<RateLimits>;
}

/** Where signing keys live unless JWT_KEYS_DIR says otherwise. */
export function keysDir(config: IdentityDeps['config']): string {
  return config.JWT_KEYS_DIR ?? join(config.VIGIL_HOME, 'keys');
}

/**
 * Decorates the app (not just this plugin's scope: fastify-plugin) with `identity`,
 * `authenticate` and `request.principal`. Loads the JWT key ring, generating the first key on
 * first start.
 */
export const identityPlugin = fp<IdentityPluginOptions>(
  async (app, { deps, rateLimits }) => {
    const ring = await KeyRing.open(keysDir(deps.config), deps.log);
    const identity = new Identity(deps, ring, { ...DEFAULT_RATE_LIMITS, ...rateLimits }, await decoyHash());
    app.decorate('identity', identity);
    app.decorateRequest('principal', null);
    app.decorate('authenticate', async function authenticate(request: FastifyRequest): Promise<void> {
      request.principal = await identity.authenticate(request);
    });
  },
  { name: 'vigil-identity', fastify: '5.x' },
);
