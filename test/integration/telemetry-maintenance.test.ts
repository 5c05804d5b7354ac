/**
 * Telemetry maintenance on both storage variants (issue 9, issue 10 finding 1): rollups that
 * leave mis-addressed readings out and never fail for everyone, one failing bucket or job
 * recorded and shown in /health and /metrics while the rest goes on, late readings (even into
 * compressed chunks) refreshing their buckets, and telemetry isolation with compressed chunks.
 *
 * Runs in a database of its own: a failing job here must not show in other tests' /health.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TelemetryMaintenance } from '../../actors/mod.ts';
import { createLogger, createPool, loadConfig, withTenant, type Pool } from '../../schemas/mod.ts';
import { apiFixture, json, type ApiFixture, type World } from '../helpers/app.ts';
import {
  appCanSelect,
  refreshRollups,
  refusedCodes,
  scratchDatabase,
  telemetryMode,
  telemetryRelations,
  type TelemetryMode,
} from '../helpers/telemetry.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let scratch: Awaited<ReturnType<typeof scratchDatabase>>;
let fx: ApiFixture;
let worker: Pool;
let app: Pool;
let mode: TelemetryMode;
let maintenance: TelemetryMaintenance;
let A: World;
let B: World;

interface Hourly {
  hour: string;
  readings: number;
  temperatureMin: number | null;
  temperatureMax: number | null;
}

before(async () => {
  scratch = await scratchDatabase(loadConfig().DATABASE_URL);
  fx = await apiFixture({ DATABASE_URL: scratch.url });
  worker = createPool(fx.config, 'worker', 2);
  app = createPool(fx.config, 'app', 2);
  mode = await telemetryMode(fx.admin);
  maintenance = new TelemetryMaintenance(worker, createLogger(fx.config, 'maintenance-test'));
  [A, B] = [await fx.world(), await fx.world()];
});

after(async () => {
  await worker?.end();
  await app?.end();
  await fx?.close();
  await scratch?.drop();
});

/**
 * Native partitions exist from 8 days back (telemetry_settings); an operator backfilling older
 * readings creates theirs first, as this does.
 */
async function insert(tenantId: string, equipmentId: string, ts: number, temperature: number): Promise<void> {
  if (mode === 'native') {
    const day = new Date(ts).toISOString().slice(0, 10);
    await fx.admin.query('SELECT telemetry_ensure_partitions($1::date, $1::date)', [day]);
  }
  await fx.admin.query(
    'INSERT INTO telemetry (tenant_id, equipment_id, ts, temperature) VALUES ($1, $2, $3, $4)',
    [tenantId, equipmentId, new Date(ts), temperature],
  );
}

/** What the maintenance job does, per variant: our job, then (TimescaleDB) its refresh policies. */
async function maintain(): Promise<void> {
  await maintenance.runOnce();
  if (mode === 'timescaledb') {
    const { rows } = await fx.admin.query<{ job_id: number }>(
      `SELECT job_id FROM timescaledb_information.jobs
       WHERE proc_name = 'policy_refresh_continuous_aggregate' ORDER BY job_id`,
    );
    for (const { job_id } of rows) await fx.admin.query('CALL run_job($1)', [job_id]);
  }
}

async function hourly(w: World, unit: string, from: number, to: number): Promise<Hourly[]> {
  const res = await fx.call(
    w.viewer.token,
    'GET',
    `/v1/equipment/${unit}/readings/hourly?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`,
  );
  assert.equal(res.statusCode, 200, res.body);
  return json<Hourly[]>(res);
}

const row = (h: Hourly) => [h.hour, h.readings, h.temperatureMin, h.temperatureMax];

describe('rollups and maintenance', () => {
  test('a reading filed under another tenant, or under no unit, is left out and blocks no step', async () => {
    const hour = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
    await insert(A.tenantId, A.equipment[0], hour + 10 * 60_000, -18);
    // Tenant B's id with A's unit: the same (unit, hour) under two tenants.
    await insert(B.tenantId, A.equipment[0], hour + 20 * 60_000, 30);
    await insert(A.tenantId, randomUUID(), hour + 30 * 60_000, 50);
    await maintain();
    const status = maintenance.status();
    assert.equal(status.lastError, null);
    assert.deepEqual(status.lastResult?.['failed'], []);
    assert.equal(status.healthy, true);
    assert.deepEqual((await hourly(A, A.equipment[0], hour, hour + HOUR)).map(row), [
      [new Date(hour).toISOString(), 1, -18, -18],
    ]);
    if (mode === 'native') {
      const { rows } = await fx.admin.query<{ job: string; ok: boolean }>(
        "SELECT job, ok FROM maintenance_jobs WHERE scope = '' ORDER BY job",
      );
      assert.deepEqual(rows, [
        { job: 'telemetry_partitions', ok: true },
        { job: 'telemetry_retention', ok: true },
      ]);
    }
  });

  test('a late reading, even into a compressed chunk, refreshes the hour and the day it falls in', async () => {
    const day = Math.floor(Date.now() / DAY) * DAY - 10 * DAY;
    const at = day + 5 * HOUR;
    await insert(A.tenantId, A.equipment[1], at, -20);
    if (mode === 'timescaledb') {
      await fx.admin.query(
        `SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks('telemetry', older_than => interval '7 days') c`,
      );
    }
    await maintain();
    assert.deepEqual((await hourly(A, A.equipment[1], at - HOUR, at + HOUR)).map(row), [
      [new Date(at).toISOString(), 1, -20, -20],
    ]);
    // Late again, into the now rolled-up (and compressed) hour.
    await insert(A.tenantId, A.equipment[1], at + 15 * 60_000, -10);
    await maintain();
    assert.deepEqual((await hourly(A, A.equipment[1], at - HOUR, at + HOUR)).map(row), [
      [new Date(at).toISOString(), 2, -20, -10],
    ]);
    const daily = await withTenant(app, { tenantId: A.tenantId, siteIds: null }, (c) =>
      c.query<{ readings: number; temp_max: number }>(
        'SELECT readings::int AS readings, temp_max FROM telemetry_daily_v WHERE equipment_id = $1 AND bucket = $2',
        [A.equipment[1], new Date(day)],
      ),
    );
    assert.deepEqual(daily.rows, [{ readings: 2, temp_max: -10 }]);
  });

  test('a failing job shows in /health and /metrics; the rest goes on; fixed, it clears', async () => {
    const health = async () => {
      const res = await fx.app.inject('/health');
      assert.equal(res.statusCode, 200, res.body);
      return res.json<{ maintenance: { status: string; failedJobs: { job: string; scopes: number }[] } }>();
    };
    assert.deepEqual((await health()).maintenance, { status: 'ok', failedJobs: [] });
    let failingJob: string;
    let repair: () => Promise<void>;
    if (mode === 'native') {
      // One tenant's bucket cannot be stored; the other tenant's, in the same hour, can.
      const hour = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
      await fx.admin.query(
        `ALTER TABLE telemetry_hourly ADD CONSTRAINT probe_fails
         CHECK (tenant_id <> '${B.tenantId}' OR temp_max < 1000) NOT VALID`,
      );
      await insert(B.tenantId, B.equipment[0], hour + 60_000, 5000);
      await insert(A.tenantId, A.equipment[0], hour + 60_000, -17);
      await maintain();
      const failed = maintenance.status().lastResult?.['failed'] as { job: string; tenant: string }[];
      assert.deepEqual(
        failed.map((f) => [f.job, f.tenant]),
        [['telemetry_rollup', B.tenantId]],
      );
      assert.deepEqual((await hourly(A, A.equipment[0], hour, hour + HOUR)).map(row), [
        [new Date(hour).toISOString(), 1, -17, -17],
      ]);
      const steps = await fx.admin.query<{ ok: boolean }>("SELECT ok FROM maintenance_jobs WHERE scope = ''");
      assert.ok(steps.rows.length === 2 && steps.rows.every((r) => r.ok), 'partitions and retention ran');
      failingJob = 'telemetry_rollup';
      repair = async () => {
        await fx.admin.query('ALTER TABLE telemetry_hourly DROP CONSTRAINT probe_fails');
      };
    } else {
      await fx.admin.query(
        `CREATE PROCEDURE probe_fails(job_id int, config jsonb) LANGUAGE plpgsql
         AS $$ BEGIN RAISE EXCEPTION 'probe failure'; END $$`,
      );
      const { rows } = await fx.admin.query<{ id: number }>(
        "SELECT add_job('probe_fails', '1 hour', initial_start => now()) AS id",
      );
      const id = rows[0]!.id;
      // The scheduler runs it in the background; wait (bounded) until it has failed once.
      for (let i = 0; i < 120; i++) {
        const s = await fx.admin.query(
          "SELECT 1 FROM timescaledb_information.job_stats WHERE job_id = $1 AND last_run_status = 'Failed'",
          [id],
        );
        if (s.rowCount) break;
        await sleep(500);
      }
      await maintain();
      failingJob = 'timescaledb:probe_fails';
      repair = async () => {
        await fx.admin.query('SELECT delete_job($1)', [id]);
      };
    }
    assert.equal(maintenance.status().healthy, false);
    const failing = await health();
    assert.equal(failing.maintenance.status, 'failing');
    assert.deepEqual(
      failing.maintenance.failedJobs.map((j) => [j.job, j.scopes]),
      [[failingJob, 1]],
    );
    const metrics = await fx.app.inject('/metrics');
    assert.match(metrics.body, new RegExp(`^vigil_maintenance_failed_jobs\\{job="${failingJob}"\\} 1$`, 'm'));
    // Which tenant or why: not on an unauthenticated endpoint.
    assert.doesNotMatch(JSON.stringify(failing), new RegExp(B.tenantId));

    await repair();
    await maintain();
    assert.equal(maintenance.status().healthy, true);
    assert.deepEqual((await health()).maintenance, { status: 'ok', failedJobs: [] });
  });
});

describe('telemetry isolation with old (compressed) chunks', () => {
  test('the app role reads telemetry only through the views, and only its own tenant', async () => {
    const old = Math.floor(Date.now() / HOUR) * HOUR - 9 * DAY;
    for (const [w, t] of [
      [A, -19],
      [B, -5],
    ] as const) {
      for (let i = 0; i < 4; i++) await insert(w.tenantId, w.equipment[0], old + i * 60_000, t);
    }
    if (mode === 'timescaledb') {
      await fx.admin.query(
        `SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks('telemetry', older_than => interval '7 days') c`,
      );
    }
    await refreshRollups(fx.admin, new Date(old), new Date(old + HOUR));
    const names = await telemetryRelations(fx.admin);
    if (mode === 'timescaledb') {
      assert.ok(
        names.some((n) => n.includes('compress_hyper_')),
        `no compressed chunk among ${names.join(', ')}`,
      );
      assert.ok(
        names.some((n) => n.includes('_materialized_hypertable_')),
        'no continuous aggregate storage found',
      );
    } else {
      assert.ok(
        names.some((n) => /telemetry_p\d{8}/.test(n)),
        'no partition found',
      );
    }
    const c = await app.connect();
    try {
      await c.query('BEGIN');
      await c.query("SELECT set_config('app.tenant_id', $1, true)", [A.tenantId]);
      for (const name of names) {
        assert.equal(await appCanSelect(fx.admin, name), false, `${name} is granted`);
        await c.query('SAVEPOINT probe');
        await assert.rejects(c.query(`SELECT 1 FROM ${name} LIMIT 1`), (err: { code?: string }) =>
          refusedCodes(name).includes(String(err.code)),
        );
        await c.query('ROLLBACK TO SAVEPOINT probe');
      }
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
    const seen = await withTenant(app, { tenantId: A.tenantId, siteIds: null }, async (c) => ({
      raw: (
        await c.query<{ tenant_id: string; n: number; t: number }>(
          `SELECT tenant_id, count(*)::int AS n, max(temperature) AS t FROM telemetry_v
           WHERE ts >= $1 AND ts < $2 GROUP BY tenant_id`,
          [new Date(old), new Date(old + HOUR)],
        )
      ).rows,
      hourly: (
        await c.query<{ tenant_id: string; n: number }>(
          'SELECT tenant_id, readings::int AS n FROM telemetry_hourly_v WHERE bucket = $1',
          [new Date(old)],
        )
      ).rows,
    }));
    assert.deepEqual(seen, {
      raw: [{ tenant_id: A.tenantId, n: 4, t: -19 }],
      hourly: [{ tenant_id: A.tenantId, n: 4 }],
    });
  });
});
