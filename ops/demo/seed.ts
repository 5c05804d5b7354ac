import { newApiKey, provisionTenant } from '../../gateway/identity/mod.ts';
import { createPool, withTenant, type Config, type Logger, type PoolClient } from '../../schemas/mod.ts';
import { DEMO_RULES } from './demo-rules.ts';
import { demoFleet, type FridgeSpec } from './fridge.model.ts';

export const DEMO_LOGIN = { email: 'demo@vigil.local', password: 'vigil-demo-2026', name: 'Demo Admin' };
const DEMO_TENANT = { name: 'Demo Foods', slug: 'demo' };
/** The demo tenant's sites, in the order the demo cameras (store-cameras.ts) index them. */
export const DEMO_SITES = [
  { name: 'Downtown Market', timezone: 'Europe/Lisbon' },
  { name: 'Harbour Store', timezone: 'Europe/Lisbon' },
];
/** These units post over HTTP with an API key; the others publish to NATS like a gateway would. */
const HTTP_UNITS = 4;

export interface DemoUnit {
  id: string;
  name: string;
  siteId: string;
  spec: FridgeSpec;
  /** Present for units that send over HTTP: the key is re-issued at every demo start. */
  apiKey?: string;
}

export interface DemoFleet {
  tenantId: string;
  units: DemoUnit[];
}

async function createFleet(client: PoolClient, tenantId: string, specs: FridgeSpec[]): Promise<void> {
  const siteIds: string[] = [];
  for (const s of DEMO_SITES) {
    const { rows } = await client.query<{ id: string }>(
      'INSERT INTO sites (tenant_id, name, timezone) VALUES ($1, $2, $3) RETURNING id',
      [tenantId, s.name, s.timezone],
    );
    siteIds.push(rows[0]!.id);
  }
  for (const [i, spec] of specs.entries()) {
    const kind = spec.setpoint < 0 ? 'freezer' : 'chiller';
    await client.query(
      `INSERT INTO equipment (tenant_id, site_id, name, serial, kind, setpoint) VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        tenantId,
        siteIds[i % siteIds.length],
        `${kind === 'freezer' ? 'Freezer' : 'Chiller'} ${String(i + 1).padStart(2, '0')}`,
        `DEMO-${String(i + 1).padStart(3, '0')}`,
        kind,
        spec.setpoint,
      ],
    );
  }
  await keepDemoRules(client, tenantId);
}

/** The tenant-wide demo rules as `DEMO_RULES` defines them: added when missing, params kept current. */
async function keepDemoRules(client: PoolClient, tenantId: string): Promise<void> {
  for (const rule of DEMO_RULES) {
    const params = JSON.stringify(rule.params);
    const { rowCount } = await client.query(
      `UPDATE alert_rules SET params = $1, kind = $2, updated_at = now()
       WHERE key = $3 AND site_id IS NULL AND equipment_id IS NULL AND tenant_id = $4`,
      [params, rule.kind, rule.key, tenantId],
    );
    if (!rowCount)
      await client.query(
        'INSERT INTO alert_rules (tenant_id, key, kind, name, params) VALUES ($1, $2, $3, $4, $5)',
        [tenantId, rule.key, rule.kind, rule.name, params],
      );
  }
}

/**
 * Idempotent: the first start creates the demo tenant, its owner, two sites, the fleet and its
 * rule; later starts reuse them. HTTP units get fresh API keys every start (keys are shown once
 * and stored hashed, so the old ones cannot be recovered — they are revoked instead).
 */
export async function seedDemo(config: Config, log: Logger, unitCount = 20): Promise<DemoFleet> {
  const specs = demoFleet(unitCount);
  const admin = createPool(config, 'admin', 2);
  const app = createPool(config, 'app', 2);
  try {
    // Finding the demo tenant by slug crosses tenants: the operator's own connection does it.
    let tenantId = (
      await admin.query<{ id: string }>('SELECT id FROM tenants WHERE slug = $1', [DEMO_TENANT.slug])
    ).rows[0]?.id;
    if (!tenantId) {
      const created = await provisionTenant(
        app,
        { ...DEMO_TENANT, owner: DEMO_LOGIN },
        { actor: null },
        async (client, { tenant }) => {
          await createFleet(client, tenant.id, specs);
          return tenant.id;
        },
      );
      tenantId = created;
      log.info({ tenantId }, 'demo tenant created');
    }
    const id = tenantId;
    return await withTenant(app, { tenantId: id }, async (client) => {
      const { rows } = await client.query<{ id: string; name: string; site_id: string }>(
        `SELECT id, name, site_id FROM equipment WHERE serial LIKE 'DEMO-%' AND decommissioned_at IS NULL
         ORDER BY serial LIMIT $1`,
        [unitCount],
      );
      // Keep the demo rules as demo-rules.ts defines them, across upgrades of the demo.
      await keepDemoRules(client, id);
      await client.query(
        'UPDATE equipment_api_keys SET revoked_at = now() WHERE revoked_at IS NULL AND equipment_id = ANY($1)',
        [rows.map((r) => r.id)],
      );
      const units: DemoUnit[] = [];
      for (const [i, r] of rows.entries()) {
        const unit: DemoUnit = { id: r.id, name: r.name, siteId: r.site_id, spec: specs[i]! };
        if (i >= rows.length - HTTP_UNITS) {
          const key = newApiKey();
          await client.query(
            'INSERT INTO equipment_api_keys (tenant_id, equipment_id, key_hash, prefix) VALUES ($1, $2, $3, $4)',
            [id, r.id, key.hash, key.prefix],
          );
          unit.apiKey = key.key;
        }
        units.push(unit);
      }
      return { tenantId: id, units };
    });
  } finally {
    await Promise.all([admin.end(), app.end()]);
  }
}
