/**
 * docs/analyst-guide.md is executable: every `sql` block in it runs, as the read-only analyst
 * user, against a private ClickHouse database holding data for the guide's example tenant,
 * unit and site, and returns rows. The analyst user can read but not write.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { toClickHouseRow } from '../../actors/mod.ts';
import { createClickHouse, loadConfig, migrate, type Config } from '../../schemas/mod.ts';

const GUIDE = new URL('../../docs/analyst-guide.md', import.meta.url);
const TENANT = '6d1f3a52-0c1e-4b7a-9f0e-2b1c0d9e8a01';
const UNIT = '9a4c7e10-5d2b-4c3a-8e1f-7b6a5c4d3e02';
const SITE = '5e17a2b3-4c5d-4e6f-8a7b-9c0d1e2f3a04';
const ALERT = 'a1e27000-0000-4000-8000-000000000001';
const HOUR = 3_600_000;

let config: Config;
let admin: ClickHouseClient;
let analyst: ClickHouseClient;

function sqlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!.trim().replace(/;$/, ''));
}

before(async () => {
  const base = loadConfig();
  config = loadConfig(process.env, { CLICKHOUSE_DATABASE: `guide_${randomBytes(4).toString('hex')}` });
  await migrate(config);
  admin = createClickHouse(config);
  analyst = createClient({
    url: base.CLICKHOUSE_URL,
    username: 'vigil_analyst',
    password: '',
    database: config.CLICKHOUSE_DATABASE,
    compression: { request: false, response: false },
    // The refused writes below are the point: no error log for them.
    log: { level: ClickHouseLogLevel.OFF },
  });
  // Hourly readings over ten days, the newest a minute ago; the door open one hour in four.
  const now = Date.now();
  const readings = Array.from({ length: 240 }, (_, i) => {
    const ts = now - 60_000 - i * HOUR;
    return toClickHouseRow({
      reading: {
        tenantId: TENANT,
        equipmentId: UNIT,
        ts,
        temperature: -18 + (i % 5),
        pressure: 2.1,
        door: i % 4 === 0,
        compressor: i % 3 !== 0,
        metrics: { humidity: 40 + (i % 7) },
      },
      receivedAt: ts + 50,
      partition: null,
    });
  });
  await admin.insert({ table: 'telemetry', values: readings, format: 'JSONEachRow' });
  await admin.insert({
    table: 'equipment',
    values: [
      {
        tenant_id: TENANT,
        equipment_id: UNIT,
        site_id: SITE,
        site_name: 'North',
        name: 'Freezer 1',
        kind: 'freezer',
        synced_ms: now,
      },
    ],
    format: 'JSONEachRow',
  });
  const entry = (seq: number, action: string, at: number) => ({
    tenant_id: TENANT,
    site_id: SITE,
    equipment_id: UNIT,
    alert_id: ALERT,
    event_id: `e${seq}`,
    seq,
    at: Math.floor(at / 1000),
    at_ms: at,
    action,
    rule_key: 'high_temp',
    severity: 'critical',
    value: -9.5,
    threshold: -10,
    note: action === 'acknowledged' ? 'door left ajar, closed' : '',
  });
  await admin.insert({
    table: 'alert_log',
    values: [entry(1, 'opened', now - 2 * HOUR), entry(2, 'acknowledged', now - HOUR)],
    format: 'JSONEachRow',
  });
});

after(async () => {
  await analyst?.close();
  if (admin) {
    await admin.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
    await admin.close();
  }
});

test('every SQL block of the analyst guide returns rows, as the analyst user', async () => {
  const blocks = sqlBlocks(await readFile(GUIDE, 'utf8'));
  assert.ok(blocks.length >= 11, `only ${blocks.length} SQL blocks found`);
  for (const query of blocks) {
    const rs = await analyst.query({ query, format: 'JSONEachRow' });
    const rows = await rs.json();
    assert.ok(rows.length > 0, `no rows from:\n${query}`);
  }
});

test('the analyst user cannot write or change the schema', async () => {
  for (const query of [
    `INSERT INTO equipment (tenant_id, equipment_id) VALUES ('${TENANT}', '${UNIT}')`,
    'DROP TABLE alert_log',
    'ALTER TABLE telemetry DROP PARTITION 202001',
  ]) {
    await assert.rejects(
      analyst.command({ query }),
      /readonly|Cannot execute query in readonly mode/i,
      query,
    );
  }
});
