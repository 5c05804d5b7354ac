/**
 * An actor node resolves each unit's rules once and keeps them: units whose applicable rule rows
 * are the same rows share one list, so a 10 000-unit fleet holds one set of rule objects (and
 * one schedule cache per rule), not one per unit; a unit with a rule of its own gets its own.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { UnitRules } from '../../actors/equipment/unit-rules.ts';
import type { UnitInfo } from '../../actors/mod.ts';
import { createLogger, createPool, loadConfig, type Pool } from '../../schemas/mod.ts';
import { dropCrashTenant, seedCrashTenant, type CrashTenant } from '../../bench/lib/crash.ts';

const config = loadConfig(process.env, { LOG_LEVEL: 'silent' });
let admin: Pool;
let tenant: CrashTenant;

before(async () => {
  admin = createPool(config, 'admin', 2);
  tenant = await seedCrashTenant(admin, `unit-rules-${Date.now()}`, 3);
  // The third unit overrides the tenant's rule with one of its own (same key, other params).
  await admin.query(
    `INSERT INTO alert_rules (tenant_id, equipment_id, key, kind, name, params)
     VALUES ($1, $2, 'high_temp', 'threshold', 'Hotter', $3)`,
    [
      tenant.tenantId,
      tenant.units[2],
      JSON.stringify({
        metric: 'temperature',
        op: '>',
        levels: [{ severity: 'critical', value: 12 }],
        for_s: 0,
        clear: { for_s: 0 },
      }),
    ],
  );
});

after(async () => {
  await dropCrashTenant(admin, tenant.tenantId);
  await admin.end();
});

test('units with the same rule rows share one resolved list; a unit with its own rule does not', async () => {
  const rules = new UnitRules(admin, createLogger(config, 'unit-rules-test'));
  const unit = (i: number, timeZone?: string): UnitInfo => ({
    tenantId: tenant.tenantId,
    siteId: tenant.siteId,
    equipmentId: tenant.units[i]!,
    setpoint: null,
    ...(timeZone ? { timeZone } : {}),
  });
  const a = await rules.rulesFor(unit(0));
  const b = await rules.rulesFor(unit(1, 'America/New_York'));
  const own = await rules.rulesFor(unit(2));
  assert.equal(a.length, 1);
  assert.equal(b, a, 'the same list object for the same rows');
  assert.equal(b[0], a[0], 'and the same rule objects');
  assert.notEqual(own, a);
  assert.equal(own[0]!.name, 'Hotter');
  // A reload makes new lists (the rows may have changed), still shared among equals.
  await rules.reload(tenant.tenantId);
  const a2 = await rules.rulesFor(unit(0));
  assert.notEqual(a2, a);
  assert.equal(await rules.rulesFor(unit(1)), a2);
});
