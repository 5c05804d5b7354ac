/**
 * ClickHouse retention is by partition drop (docs/analyst-guide.md): the maintenance job drops
 * every month older than 24 from the raw tables and their rollups — telemetry, alerts and the
 * camera pipeline's people tables alike — and keeps everything newer.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import { ClickHouseMaintenance, oldestKeptMonth } from '../../actors/mod.ts';
import {
  createClickHouse,
  createLogger,
  createPool,
  loadConfig,
  migrate,
  type Config,
  type Pool,
} from '../../schemas/mod.ts';
import { guideRows } from '../helpers/analyst-data.ts';

const DAY = 86_400_000;
const TABLES = [
  'telemetry',
  'telemetry_hourly',
  'telemetry_daily',
  'alert_log',
  'people_events',
  'track_summaries',
  'people_daily',
];

let config: Config;
let ch: ClickHouseClient;
let worker: Pool;

before(async () => {
  config = loadConfig(process.env, { CLICKHOUSE_DATABASE: `retention_${randomBytes(4).toString('hex')}` });
  await migrate(config);
  ch = createClickHouse(config);
  worker = createPool(config, 'worker', 2);
});

after(async () => {
  await ch?.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
  await ch?.close();
  await worker?.end();
});

async function months(table: string): Promise<number[]> {
  const rs = await ch.query({
    query: `SELECT DISTINCT partition FROM system.parts
            WHERE active AND database = '${config.CLICKHOUSE_DATABASE}' AND table = '${table}'`,
    format: 'JSONEachRow',
  });
  return (await rs.json<{ partition: string }>()).map((r) => Number(r.partition)).sort();
}

test('months older than 24 are dropped from every raw table and rollup; newer months stay', async () => {
  const now = new Date();
  const keep = oldestKeptMonth(now);
  // The same rows twice: as of now, and 30 months ago (every table gets an old partition).
  const old = now.getTime() - 30 * 31 * DAY;
  for (const at of [now.getTime(), old])
    for (const [table, values] of Object.entries(guideRows(at)))
      await ch.insert({ table, values, format: 'JSONEachRow' });
  for (const table of TABLES) {
    const before = await months(table);
    assert.ok(
      before.some((m) => m < keep) && before.some((m) => m >= keep),
      `${table}: ${before.join(', ')}`,
    );
  }

  const result = await new ClickHouseMaintenance(
    ch,
    worker,
    createLogger(config, 'retention-test'),
    config.CLICKHOUSE_DATABASE,
  ).runOnce(now);

  assert.deepEqual(result.failed, []);
  for (const table of TABLES) {
    const left = await months(table);
    assert.ok(left.length > 0 && left.every((m) => m >= keep), `${table} keeps ${left.join(', ')}`);
    assert.ok(
      result.droppedPartitions.some((p) => p.startsWith(`${table}:`)),
      `${table} had an old month dropped`,
    );
  }
});
