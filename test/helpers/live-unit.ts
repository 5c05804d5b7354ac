import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { startActorNode, type ActorNode } from '../../actors/mod.ts';
import { provisionTenant } from '../../gateway/identity/mod.ts';
import { startServer, type RunningServer } from '../../gateway/mod.ts';
import type { ClickHouseClient } from '@clickhouse/client';
import { chSql, createLogger, createPool, migrate, type Config, type Pool } from '../../schemas/mod.ts';
import { natsNamespace, type NatsNamespace } from './nats-namespace.ts';

/** A freezer's high-temperature rule: critical above −5 °C held `forS`, clear below −12 °C held `clearForS`. */
function highTempRule(forS: number, clearForS: number): [string, string, unknown] {
  return [
    'high_temp',
    'threshold',
    {
      metric: 'temperature',
      op: '>',
      levels: [{ severity: 'critical', value: -5 }],
      for_s: forS,
      clear: { value: -12, for_s: clearForS },
    },
  ];
}

/** The freezer's alert rule in both tests: held 30 s to fire, 20 s to clear. */
export const HIGH_TEMP_RULE = highTempRule(30, 20);

/** The dashboard tests' rule: fires and clears at once. */
export const INSTANT_HIGH_TEMP_RULE = highTempRule(0, 0);

export interface LiveUnit {
  admin: Pool;
  tenantId: string;
  siteId: string;
  equipmentId: string;
  /** The owner's login. */
  email: string;
  password: string;
  node: ActorNode;
  server: RunningServer;
}

/**
 * The whole product over the real services, for the end-to-end tests: a tenant with one site
 * and one freezer (setpoint −18 °C) carrying `rules` (`[key, kind, params]`), an actor node and
 * an HTTP server with a 1 s SSE heartbeat. Provisioned through the API's own path.
 */
export interface LiveUnitOptions {
  name: string;
  slug: string;
  password: string;
  rules: ReadonlyArray<[string, string, unknown]>;
}

export async function startLiveUnit(config: Config, opts: LiveUnitOptions): Promise<LiveUnit> {
  await migrate(config);
  const log = createLogger(config, opts.slug);
  const admin = createPool(config, 'admin', 2);
  const app = createPool(config, 'app', 2);
  const email = `owner-${randomBytes(4).toString('hex')}@${opts.slug}.test`;
  const ids = await provisionTenant(
    app,
    {
      name: opts.name,
      slug: `${opts.slug}-${randomBytes(4).toString('hex')}`,
      owner: { email, name: 'Owner', password: opts.password },
    },
    { actor: null },
    async (c, { tenant }) => {
      const site = await c.query<{ id: string }>(
        "INSERT INTO sites (tenant_id, name) VALUES ($1, 'Main') RETURNING id",
        [tenant.id],
      );
      const eq = await c.query<{ id: string }>(
        "INSERT INTO equipment (tenant_id, site_id, name, setpoint) VALUES ($1, $2, 'Freezer', -18) RETURNING id",
        [tenant.id, site.rows[0]!.id],
      );
      for (const [key, kind, params] of opts.rules)
        await c.query(`INSERT INTO alert_rules (tenant_id, key, kind, params) VALUES ($1, $2, $3, $4)`, [
          tenant.id,
          key,
          kind,
          JSON.stringify(params),
        ]);
      return { tenantId: tenant.id, siteId: site.rows[0]!.id, equipmentId: eq.rows[0]!.id };
    },
  );
  await app.end();
  const node = await startActorNode({ config, log, notifierTenants: [ids.tenantId] });
  let server: RunningServer;
  try {
    server = await startServer({ config, log, port: 0, sse: { heartbeatMs: 1000 } });
  } catch (err) {
    // The caller never gets the node to stop: a node left running keeps the test process alive.
    await node.stop();
    throw err;
  }
  return { admin, ...ids, email, password: opts.password, node, server };
}

/** The owner's access token, from a login over HTTP. */
export async function ownerToken(u: LiveUnit): Promise<string> {
  const res = await fetch(`${u.server.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: u.email, password: u.password }),
  });
  assert.equal(res.status, 200, 'the owner logs in');
  return ((await res.json()) as { accessToken: string }).accessToken;
}

export interface LiveUnitFixture {
  fx: NatsNamespace;
  /** Set once the file's `before` hooks ran. */
  unit: LiveUnit;
}

/**
 * `startLiveUnit` for one test file, in its own NATS namespace: started before the file's
 * tests; after them the server and node stop, the namespace goes, and the tenant with its
 * telemetry is deleted. Call at module top level.
 */
export function useLiveUnit(clientName: string, opts: LiveUnitOptions): LiveUnitFixture {
  const f = {} as LiveUnitFixture;
  f.fx = natsNamespace(clientName, {
    beforeDelete: async () => {
      await f.unit?.server.close();
      await f.unit?.node.stop();
    },
  });
  before(async () => {
    f.unit = await startLiveUnit(f.fx.config, opts);
  });
  after(async () => {
    const u = f.unit;
    if (!u) return;
    await u.admin.query('DELETE FROM telemetry WHERE tenant_id = $1', [u.tenantId]);
    await u.admin.query('DELETE FROM tenants WHERE id = $1', [u.tenantId]);
    await u.admin.end();
  });
  return f;
}

/** Deletes a tenant with its cameras' people analytics (ClickHouse keeps no foreign keys). */
export async function deleteCameraTenant(
  admin: Pool,
  ch: ClickHouseClient | undefined,
  tenantId: string,
): Promise<void> {
  const queries = [
    chSql`ALTER TABLE people_events DELETE WHERE tenant_id = ${tenantId}`,
    chSql`ALTER TABLE track_summaries DELETE WHERE tenant_id = ${tenantId}`,
  ];
  for (const query of queries) await ch?.command({ query }).catch(() => undefined);
  await admin.query('DELETE FROM tenants WHERE id = $1', [tenantId]);
}

/** One JSON call to a running server as the holder of `token`: status and body (null for 204). */
export async function callApi<T>(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (res.status === 204 ? null : await res.json()) as T };
}
