/**
 * Fixtures for identity and management API tests: the real app (buildApp) on a private NATS
 * namespace and Redis prefix, and "worlds" — tenants populated through the API itself, with
 * users of every role (some restricted to one site) and one object of every kind per site.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, connectGatewayDeps, type BuildAppOptions, type GatewayDeps } from '../../gateway/mod.ts';
import { provisionPlatformAdmin, provisionTenant } from '../../gateway/identity/mod.ts';
import {
  createLogger,
  createPool,
  loadConfig,
  migrate,
  type Config,
  type Pool,
  type SessionResponse,
} from '../../schemas/mod.ts';

export const PASSWORD = 'correct horse battery staple';

export interface Actor {
  id: string;
  email: string;
  password: string;
  token: string;
  refreshToken: string;
}

export interface World {
  tenantId: string;
  slug: string;
  sites: [string, string];
  /** One unit per site, in site order. */
  equipment: [string, string];
  apiKeys: [string, string];
  alerts: [string, string];
  maintenance: [string, string];
  /** One camera per site, each with one zone, in site order. */
  cameras: [string, string];
  zones: [string, string];
  /** Tenant-wide rule, then a rule scoped to site 2, then one scoped to unit 2. */
  rules: [string, string, string];
  /** One promotion and one set of insights per site, in site order. */
  promotions: [string, string];
  insights: [string, string];
  pendingInvite: string;
  admin: Actor;
  operator: Actor;
  viewer: Actor;
  /** Restricted to the first site. */
  siteOperator: Actor;
  siteViewer: Actor;
}

export interface ApiFixture {
  config: Config;
  deps: GatewayDeps;
  app: FastifyInstance;
  /** Superuser pool, for setup the API does not offer (alerts) and for checking what was written. */
  admin: Pool;
  call(
    token: string | null,
    method: InjectOptions['method'],
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<LightMyRequestResponse>;
  login(email: string, password?: string): Promise<SessionResponse>;
  world(): Promise<World>;
  platformAdmin(): Promise<Actor & { tenantId: string }>;
  close(): Promise<void>;
}

const unique = (p: string) => `${p}${randomBytes(5).toString('hex')}`;

export function json<T = Record<string, unknown>>(res: LightMyRequestResponse): T {
  return res.json<T>();
}

export interface BootedGateway {
  config: Config;
  deps: GatewayDeps;
  app: FastifyInstance;
  /** Superuser pool (setup and checks the API does not offer). */
  admin: Pool;
}

/**
 * What every gateway fixture starts from: a private NATS namespace and Redis prefix, the schema
 * migrated, the real app built and ready, and a superuser pool. Quiet unless LOG_LEVEL is set
 * for a debugging run.
 */
export async function bootGateway(
  logName: string,
  overrides: Partial<Config> = {},
  build: Omit<BuildAppOptions, 'config' | 'deps'> = {},
): Promise<BootedGateway> {
  const config = loadConfig(process.env, {
    VIGIL_NS: unique('t'),
    ...(process.env['LOG_LEVEL'] ? {} : { LOG_LEVEL: 'silent' }),
    ...overrides,
  });
  await migrate(config);
  const deps = await connectGatewayDeps(config, createLogger(config, logName));
  const app = await buildApp({ config, deps, ...build });
  await app.ready();
  return { config, deps, app, admin: createPool(config, 'admin', 2) };
}

export async function apiFixture(overrides: Partial<Config> = {}): Promise<ApiFixture> {
  const { config, deps, app, admin } = await bootGateway('identity-test', overrides);
  const appPool = createPool(config, 'app', 2);
  const tenants: string[] = [];
  const users: string[] = [];

  async function call(
    token: string | null,
    method: InjectOptions['method'],
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    return app.inject({
      method,
      url,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }),
    });
  }

  function ok<T>(res: LightMyRequestResponse, status: number, what: string): T {
    if (res.statusCode !== status)
      throw new Error(`${what}: expected ${status}, got ${res.statusCode} ${res.body}`);
    return res.json<T>();
  }

  async function login(email: string, password = PASSWORD): Promise<SessionResponse> {
    return ok(await call(null, 'POST', '/v1/auth/login', { email, password }), 200, `login ${email}`);
  }

  async function invited(
    adminToken: string,
    role: 'operator' | 'viewer',
    siteIds: string[] | null,
  ): Promise<Actor> {
    const email = `${unique(role)}@example.com`;
    const inv = ok<{ token: string }>(
      await call(adminToken, 'POST', '/v1/invites', { email, role, siteIds }),
      201,
      'invite',
    );
    const s = ok<SessionResponse>(
      await call(null, 'POST', '/v1/invites/accept', { token: inv.token, name: role, password: PASSWORD }),
      201,
      'accept invite',
    );
    return { id: s.user.id, email, password: PASSWORD, token: s.accessToken, refreshToken: s.refreshToken };
  }

  async function world(): Promise<World> {
    const slug = unique('w-');
    const ownerEmail = `${unique('owner')}@example.com`;
    const { tenant } = await provisionTenant(
      appPool,
      { name: slug, slug, owner: { email: ownerEmail, name: 'Owner', password: PASSWORD } },
      { actor: null },
    );
    tenants.push(tenant.id);
    const s = await login(ownerEmail);
    const adminActor: Actor = {
      id: s.user.id,
      email: ownerEmail,
      password: PASSWORD,
      token: s.accessToken,
      refreshToken: s.refreshToken,
    };
    const t = adminActor.token;
    const sites = [] as unknown as [string, string];
    for (const name of ['north', 'south']) {
      sites.push(
        ok<{ id: string }>(
          await call(t, 'POST', '/v1/sites', { name, timezone: 'Europe/Istanbul' }),
          201,
          'site',
        ).id,
      );
    }
    const equipment = [] as unknown as [string, string];
    const apiKeys = [] as unknown as [string, string];
    for (const siteId of sites) {
      const e = ok<{ equipment: { id: string }; apiKey: { apiKey: string } }>(
        await call(t, 'POST', '/v1/equipment', { siteId, name: 'Freezer', kind: 'freezer', setpoint: -18 }),
        201,
        'equipment',
      );
      equipment.push(e.equipment.id);
      apiKeys.push(e.apiKey.apiKey);
    }
    const params = {
      metric: 'temperature',
      op: '>',
      levels: [{ severity: 'critical', value: -10 }],
      for_s: 60,
      clear: { for_s: 60 },
    };
    const rules = [] as unknown as [string, string, string];
    for (const scope of [{}, { siteId: sites[1] }, { equipmentId: equipment[1] }]) {
      rules.push(
        ok<{ id: string }>(
          await call(t, 'POST', '/v1/alert-rules', { key: 'high_temp', kind: 'threshold', params, ...scope }),
          201,
          'rule',
        ).id,
      );
    }
    const maintenance = [] as unknown as [string, string];
    for (const equipmentId of equipment) {
      maintenance.push(
        ok<{ id: string }>(
          await call(t, 'POST', '/v1/maintenance', {
            equipmentId,
            kind: 'cleaning',
            performedAt: new Date().toISOString(),
          }),
          201,
          'maintenance',
        ).id,
      );
    }
    // Alerts are written by the alert engine, not the API: insert them the way its sink does.
    const alerts = [] as unknown as [string, string];
    for (const [i, equipmentId] of equipment.entries()) {
      const id = randomUUID();
      await admin.query(
        `INSERT INTO alerts (id, tenant_id, site_id, equipment_id, rule_key, severity, opened_at, message)
         VALUES ($1, $2, $3, $4, 'high_temp', 'critical', now(), 'too warm')`,
        [id, tenant.id, sites[i], equipmentId],
      );
      await admin.query(
        `INSERT INTO alert_timeline (tenant_id, alert_id, event_id, at, action) VALUES ($1, $2, $3, now(), 'opened')`,
        [tenant.id, id, `evt:${id}`],
      );
      alerts.push(id);
    }
    // No camera node runs in API tests: the cameras exist in the database only.
    const cameras = [] as unknown as [string, string];
    const zones = [] as unknown as [string, string];
    for (const siteId of sites) {
      const cameraId = ok<{ id: string }>(
        await call(t, 'POST', '/v1/cameras', { siteId, name: 'Door', sourceUrl: 'rtsp://127.0.0.1:9/none' }),
        201,
        'camera',
      ).id;
      cameras.push(cameraId);
      const points = [
        [0.1, 0.1],
        [0.9, 0.1],
        [0.9, 0.9],
      ];
      zones.push(
        ok<{ id: string }>(
          await call(t, 'POST', '/v1/zones', { cameraId, name: 'Floor', kind: 'area', points }),
          201,
          'zone',
        ).id,
      );
    }
    const promotions = [] as unknown as [string, string];
    const insights = [] as unknown as [string, string];
    for (const siteId of sites) {
      const period = { from: '2026-11-23', to: '2026-11-29' };
      promotions.push(
        ok<{ id: string }>(
          await call(t, 'POST', '/v1/promotions', { name: 'Black Friday', ...period, siteIds: [siteId] }),
          201,
          'promotion',
        ).id,
      );
      insights.push(
        ok<{ id: string }>(await call(t, 'POST', '/v1/insights', { siteId, ...period }), 201, 'insights').id,
      );
    }
    const pendingInvite = ok<{ invite: { id: string } }>(
      await call(t, 'POST', '/v1/invites', { email: `${unique('pending')}@example.com`, role: 'viewer' }),
      201,
      'pending invite',
    ).invite.id;
    return {
      tenantId: tenant.id,
      slug,
      sites,
      equipment,
      apiKeys,
      alerts,
      maintenance,
      cameras,
      zones,
      rules,
      promotions,
      insights,
      pendingInvite,
      admin: adminActor,
      operator: await invited(t, 'operator', null),
      viewer: await invited(t, 'viewer', null),
      siteOperator: await invited(t, 'operator', [sites[0]]),
      siteViewer: await invited(t, 'viewer', [sites[0]]),
    };
  }

  async function platformAdmin(): Promise<Actor & { tenantId: string }> {
    const email = `${unique('platform')}@example.com`;
    const { tenantId, user } = await provisionPlatformAdmin(appPool, {
      email,
      name: 'Platform',
      password: PASSWORD,
    });
    users.push(user.id);
    const s = await login(email);
    return {
      id: user.id,
      tenantId,
      email,
      password: PASSWORD,
      token: s.accessToken,
      refreshToken: s.refreshToken,
    };
  }

  return {
    config,
    deps,
    app,
    admin,
    call,
    login,
    world,
    platformAdmin,
    async close() {
      await app.close();
      if (tenants.length) await admin.query('DELETE FROM tenants WHERE id = ANY($1::uuid[])', [tenants]);
      if (users.length) await admin.query('DELETE FROM users WHERE id = ANY($1::uuid[])', [users]);
      await Promise.all([admin.end(), appPool.end()]);
      await deps.close();
    },
  };
}
