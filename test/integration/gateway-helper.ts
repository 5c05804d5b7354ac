/**
 * Fixtures for gateway integration tests: a private NATS namespace (own streams), fresh
 * tenants in PostgreSQL, and a built app. Every test file gets its own, so files run in parallel.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { FastifyInstance } from 'fastify';
import type { Config, Pool } from '../../schemas/mod.ts';
import type { GatewayDeps, Principal, SseOptions } from '../../gateway/mod.ts';
import { newApiKey } from '../../gateway/identity/mod.ts';
import { bootGateway } from '../helpers/app.ts';

export interface TenantFixture {
  tenantId: string;
  siteIds: [string, string];
  equipmentId: string;
  /** Equipment on the first site; its API key. */
  apiKey: string;
}

export interface GatewayFixture {
  config: Config;
  deps: GatewayDeps;
  app: FastifyInstance;
  admin: Pool;
  /** Create a tenant with two sites and one unit with an API key. */
  tenant(): Promise<TenantFixture>;
  /** An access token as the identity module issues it. */
  token(p: Omit<Principal, 'userId'> & { userId?: string }): Promise<string>;
  close(): Promise<void>;
}

export interface FixtureOptions {
  streams?: ('telemetry' | 'events')[];
  sse?: Partial<SseOptions>;
}

export async function gatewayFixture(opts: FixtureOptions = {}): Promise<GatewayFixture> {
  const { config, deps, app, admin } = await bootGateway(
    'gateway-test',
    {},
    opts.sse ? { sse: opts.sse } : {},
  );
  const streams: string[] = [];
  for (const s of opts.streams ?? ['telemetry', 'events']) {
    const name = s === 'telemetry' ? deps.names.telemetry.stream : deps.names.events.stream;
    const subjects = [s === 'telemetry' ? deps.names.telemetry.all : deps.names.events.all];
    await deps.jsm.streams.add({
      name,
      subjects,
      storage: StorageType.Memory,
      retention: RetentionPolicy.Limits,
      duplicate_window: 60_000_000_000,
    });
    streams.push(name);
  }
  const tenants: string[] = [];

  return {
    config,
    deps,
    app,
    admin,
    async tenant() {
      const slug = `gw-${randomBytes(5).toString('hex')}`;
      const t = await admin.query<{ id: string }>(
        'INSERT INTO tenants (name, slug) VALUES ($1, $1) RETURNING id',
        [slug],
      );
      const tenantId = t.rows[0]!.id;
      tenants.push(tenantId);
      const sites = await admin.query<{ id: string }>(
        "INSERT INTO sites (tenant_id, name) VALUES ($1, 'north'), ($1, 'south') RETURNING id",
        [tenantId],
      );
      const siteIds = sites.rows.map((r) => r.id) as [string, string];
      const eq = await admin.query<{ id: string }>(
        "INSERT INTO equipment (tenant_id, site_id, name) VALUES ($1, $2, 'freezer 1') RETURNING id",
        [tenantId, siteIds[0]],
      );
      const equipmentId = eq.rows[0]!.id;
      const key = newApiKey();
      await admin.query(
        'INSERT INTO equipment_api_keys (tenant_id, equipment_id, key_hash, prefix) VALUES ($1, $2, $3, $4)',
        [tenantId, equipmentId, key.hash, key.prefix],
      );
      return { tenantId, siteIds, equipmentId, apiKey: key.key };
    },
    async token(p) {
      const issued = await app.identity.tokens.issue({
        userId: p.userId ?? randomUUID(),
        tenantId: p.tenantId,
        role: p.role,
        siteIds: p.siteIds,
        familyId: null,
      });
      return issued.token;
    },
    async close() {
      await app.close();
      for (const name of streams) await deps.jsm.streams.delete(name).catch(() => undefined);
      if (tenants.length) await admin.query('DELETE FROM tenants WHERE id = ANY($1::uuid[])', [tenants]);
      await admin.end();
      await deps.close();
    },
  };
}

/** Resolve within `ms` or fail with `what` (a test must never hang). */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
