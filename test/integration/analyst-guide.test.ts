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
import { createClickHouse, loadConfig, migrate, type Config } from '../../schemas/mod.ts';
import { GUIDE_TENANT as TENANT, GUIDE_UNIT as UNIT, guideRows, sqlBlocks } from '../helpers/analyst-data.ts';

const GUIDE = new URL('../../docs/analyst-guide.md', import.meta.url);

let config: Config;
let admin: ClickHouseClient;
let analyst: ClickHouseClient;

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
  for (const [table, values] of Object.entries(guideRows()))
    await admin.insert({ table, values, format: 'JSONEachRow' });
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
