/**
 * Setup shared by the restart and crash tests: a tenant with one site, units and one threshold
 * rule written as the superuser (setup, not a code path under test).
 */
import { randomBytes } from 'node:crypto';
import type { JetStreamManager, Names } from '../../streams/mod.ts';
import type { Pool, ThresholdParams } from '../../schemas/mod.ts';

export interface RecoveryTenant {
  tenantId: string;
  siteId: string;
  units: string[];
  ruleId: string;
}

/** Critical above 8 °C at once; resolved at or below 4 °C at once. */
export const RECOVERY_RULE: ThresholdParams = {
  metric: 'temperature',
  op: '>',
  levels: [{ severity: 'critical', value: 8 }],
  for_s: 0,
  clear: { value: 4, for_s: 0 },
};

export async function seedRecoveryTenant(
  admin: Pool,
  units: number,
  rule: ThresholdParams = RECOVERY_RULE,
): Promise<RecoveryTenant> {
  const slug = `recovery-${randomBytes(4).toString('hex')}`;
  const tenantId = (
    await admin.query<{ id: string }>('INSERT INTO tenants (name, slug) VALUES ($1, $1) RETURNING id', [slug])
  ).rows[0]!.id;
  const siteId = (
    await admin.query<{ id: string }>(
      "INSERT INTO sites (tenant_id, name) VALUES ($1, 'site') RETURNING id",
      [tenantId],
    )
  ).rows[0]!.id;
  const ids = (
    await admin.query<{ id: string }>(
      `INSERT INTO equipment (tenant_id, site_id, name, kind)
       SELECT $1, $2, 'unit ' || g, 'chiller' FROM generate_series(1, $3::int) g RETURNING id`,
      [tenantId, siteId, units],
    )
  ).rows.map((r) => r.id);
  const ruleId = (
    await admin.query<{ id: string }>(
      `INSERT INTO alert_rules (tenant_id, key, kind, name, params)
       VALUES ($1, 'high_temp', 'threshold', 'High temperature', $2) RETURNING id`,
      [tenantId, JSON.stringify(rule)],
    )
  ).rows[0]!.id;
  return { tenantId, siteId, units: ids, ruleId };
}

export async function dropRecoveryTenant(admin: Pool, tenantId: string): Promise<void> {
  await admin.query('DELETE FROM telemetry WHERE tenant_id = $1', [tenantId]);
  await admin.query('DELETE FROM tenants WHERE id = $1', [tenantId]);
}

/** Every consumer of the namespace's TELEMETRY and EVENTS streams has handled and acked all. */
export async function consumersIdle(jsm: JetStreamManager, names: Names): Promise<boolean> {
  for (const stream of [names.telemetry.stream, names.events.stream]) {
    for await (const c of jsm.consumers.list(stream)) {
      if (c.num_pending > 0 || c.num_ack_pending > 0) return false;
    }
  }
  return true;
}
