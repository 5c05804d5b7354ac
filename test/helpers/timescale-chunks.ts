/**
 * Run by ops/test.sh before the TimescaleDB variant: makes sure the test database holds
 * compressed chunks, so every test of that run reads and writes a hypertable in the state a
 * production one is in after its first week. Readings of a fixture tenant 8–10 days back, then
 * every chunk older than the compression policy's 7 days compressed. Idempotent.
 */
import pg from 'pg';
import { loadConfig } from '../../schemas/mod.ts';

const FIXTURE_TENANT = '00000000-0000-4000-8000-00000000c0de';
const UNITS = 5;

const config = loadConfig();
const client = new pg.Client({ connectionString: config.DATABASE_URL });
await client.connect();
try {
  await client.query(
    `INSERT INTO telemetry (tenant_id, equipment_id, ts, temperature, door, compressor)
     SELECT $1::uuid, ('00000000-0000-4000-8000-' || lpad(u::text, 12, '0'))::uuid, ts,
            -18 + (u % 3), (extract(minute FROM ts)::int % 10 = 0), (extract(minute FROM ts)::int % 2 = 0)
     FROM generate_series(1, $2::int) u,
          generate_series(date_trunc('day', now()) - interval '10 days',
                          date_trunc('day', now()) - interval '8 days', interval '5 minutes') ts
     ON CONFLICT DO NOTHING`,
    [FIXTURE_TENANT, UNITS],
  );
  await client.query(
    `SELECT compress_chunk(c, if_not_compressed => true)
     FROM show_chunks('telemetry', older_than => interval '7 days') c`,
  );
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM timescaledb_information.chunks
     WHERE hypertable_name = 'telemetry' AND is_compressed`,
  );
  const compressed = rows[0]?.n ?? 0;
  if (compressed === 0) throw new Error('no compressed telemetry chunk after compress_chunk');
  process.stdout.write(`== TimescaleDB: ${compressed} compressed telemetry chunks present\n`);
} finally {
  await client.end();
}
