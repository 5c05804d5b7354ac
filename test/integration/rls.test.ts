/**
 * Isolation enforced by PostgreSQL itself, checked as the application role (SPEC §3, §8).
 * Tenant tables are found in the catalog — every relation with a tenant_id column — so a table
 * added by a later migration is covered without editing this file.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createPool, withTenant, type Pool, type PoolClient } from '../../schemas/mod.ts';
import { apiFixture, type ApiFixture, type World } from '../helpers/app.ts';
import { appCanSelect, refusedCodes, telemetryMode, telemetryRelations } from '../helpers/telemetry.ts';

let fx: ApiFixture;
let app: Pool;
let A: World;
let B: World;
let globalRuleId: string;

interface Relation {
  name: string;
  kind: 'r' | 'p' | 'v' | 'm' | 'f';
  partition: boolean;
  rls: boolean;
  forced: boolean;
  selectable: boolean;
  insertable: boolean;
  updatable: boolean;
  deletable: boolean;
}

/**
 * Every relation with a tenant_id column, with what the app role may do to it. A TimescaleDB
 * compressed chunk stores the column as compressed_data, not a uuid one can compare: those
 * are covered, with every other telemetry relation, by the telemetry isolation tests.
 */
async function tenantRelations(): Promise<Relation[]> {
  const { rows } = await fx.admin.query<Relation>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relkind AS kind, c.relispartition AS partition,
            c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
            has_table_privilege('vigil_app', c.oid, 'SELECT') AS selectable,
            has_table_privilege('vigil_app', c.oid, 'INSERT') AS insertable,
            has_table_privilege('vigil_app', c.oid, 'UPDATE') AS updatable,
            has_table_privilege('vigil_app', c.oid, 'DELETE') AS deletable
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE a.attname = 'tenant_id' AND a.atttypid = 'uuid'::regtype AND NOT a.attisdropped
       AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     ORDER BY 1`,
  );
  return rows;
}

/** Run `fn` as the app role in a transaction that is always rolled back. */
async function asApp<T>(
  tenantId: string | null,
  fn: (c: PoolClient) => Promise<T>,
  siteIds = '',
): Promise<T> {
  const c = await app.connect();
  try {
    await c.query('BEGIN');
    if (tenantId) {
      await c.query("SELECT set_config('app.tenant_id', $1, true), set_config('app.site_ids', $2, true)", [
        tenantId,
        siteIds,
      ]);
    }
    return await fn(c);
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
    c.release();
  }
}

/** The SQLSTATE a statement fails with, inside a savepoint so the transaction goes on; null if it succeeds. */
async function failsWith(c: PoolClient, sql: string, params: unknown[] = []): Promise<string | null> {
  await c.query('SAVEPOINT probe');
  try {
    await c.query(sql, params);
    await c.query('RELEASE SAVEPOINT probe');
    return null;
  } catch (err) {
    await c.query('ROLLBACK TO SAVEPOINT probe');
    return (err as { code?: string }).code ?? 'unknown';
  }
}

async function count(c: Pool | PoolClient, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await c.query<{ n: number }>(sql, params);
  return Number(rows[0]?.n ?? 0);
}

before(async () => {
  fx = await apiFixture();
  app = createPool(fx.config, 'app', 2);
  A = await fx.world();
  B = await fx.world();
  // Telemetry for both tenants, written the way the ingest role writes it, and rolled up.
  await fx.admin.query('SELECT telemetry_maintain()');
  const ingest = createPool(fx.config, 'ingest', 1);
  try {
    for (const w of [A, B]) {
      for (const equipmentId of w.equipment) {
        await ingest.query(
          `INSERT INTO telemetry (tenant_id, equipment_id, ts, temperature, door)
           SELECT $1, $2, now() - make_interval(mins => g), -18 + g / 10.0, false FROM generate_series(1, 5) g`,
          [w.tenantId, equipmentId],
        );
      }
    }
  } finally {
    await ingest.end();
  }
  const { rows } = await fx.admin.query<{ mode: string }>("SELECT telemetry_maintain() ->> 'mode' AS mode");
  if (rows[0]?.mode === 'timescaledb') {
    await fx.admin.query("CALL refresh_continuous_aggregate('telemetry_hourly', NULL, NULL)");
    await fx.admin.query("CALL refresh_continuous_aggregate('telemetry_daily', NULL, NULL)");
  } else {
    await fx.admin.query(
      "SELECT telemetry_refresh_rollups(now() - interval '1 day', now() + interval '1 hour')",
    );
  }
  const g = await fx.admin.query<{ id: string }>(
    `INSERT INTO alert_rules (key, kind, params) VALUES ($1, 'door_open', '{"levels":[{"severity":"warning","after_s":60}]}')
     RETURNING id`,
    [`g_${randomBytes(4).toString('hex')}`],
  );
  globalRuleId = g.rows[0]!.id;
});

after(async () => {
  if (globalRuleId) await fx.admin.query('DELETE FROM alert_rules WHERE id = $1', [globalRuleId]);
  await app?.end();
  await fx?.close();
});

describe('row-level security, as the application role', () => {
  test('the app role is no superuser, has no BYPASSRLS and owns nothing', async () => {
    const { rows } = await app.query<{ rolsuper: boolean; rolbypassrls: boolean; owned: number }>(
      `SELECT r.rolsuper, r.rolbypassrls,
              (SELECT count(*) FROM pg_class WHERE relowner = r.oid)
            + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)
            + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)
            + (SELECT count(*) FROM pg_type WHERE typowner = r.oid) AS owned
       FROM pg_roles r WHERE r.rolname = current_user`,
    );
    assert.deepEqual(rows[0], { rolsuper: false, rolbypassrls: false, owned: 0 });
  });

  test('every tenant table the app can read has RLS enabled and forced', async () => {
    const tables = (await tenantRelations()).filter(
      (r) => (r.kind === 'r' || r.kind === 'p') && r.selectable,
    );
    assert.ok(tables.length >= 11, `only ${tables.length} tenant tables found`);
    for (const t of tables) {
      assert.ok(t.rls && t.forced, `${t.name}: RLS enabled=${t.rls} forced=${t.forced}`);
    }
  });

  test('with no tenant set, every tenant table and view returns zero rows', async () => {
    const readable = (await tenantRelations()).filter((r) => r.selectable);
    let populated = 0;
    for (const rel of readable) {
      const seeded = await count(fx.admin, `SELECT count(*) AS n FROM ${rel.name}`);
      if (seeded > 0) populated++;
      const seen = await asApp(null, (c) => count(c, `SELECT count(*) AS n FROM ${rel.name}`));
      assert.equal(seen, 0, `${rel.name}: ${seen} rows visible without a tenant`);
    }
    // Not vacuous: most relations really hold rows of both tenants.
    assert.ok(populated >= 11, `only ${populated} relations hold rows`);
    const tenants = await asApp(null, (c) => count(c, 'SELECT count(*) AS n FROM tenants'));
    assert.equal(tenants, 0);
  });

  test('with tenant A set, no row of tenant B is visible, in any tenant table or view', async () => {
    for (const rel of (await tenantRelations()).filter((r) => r.selectable)) {
      const [foreign, own] = await asApp(A.tenantId, async (c) => [
        await count(c, `SELECT count(*) AS n FROM ${rel.name} WHERE tenant_id <> $1`, [A.tenantId]),
        await count(c, `SELECT count(*) AS n FROM ${rel.name} WHERE tenant_id = $1`, [A.tenantId]),
      ]);
      assert.equal(foreign, 0, `${rel.name}: ${foreign} rows of other tenants visible`);
      if (rel.kind === 'v') {
        assert.ok(own > 0, `${rel.name}: A sees none of its own rows`);
        continue;
      }
      const present = await count(fx.admin, `SELECT count(*) AS n FROM ${rel.name} WHERE tenant_id = $1`, [
        A.tenantId,
      ]);
      assert.equal(own, present, `${rel.name}: A sees ${own} of its ${present} rows`);
    }
    const tenants = await asApp(A.tenantId, (c) => c.query<{ id: string }>('SELECT id FROM tenants'));
    assert.deepEqual(
      tenants.rows.map((r) => r.id),
      [A.tenantId],
    );
  });

  test('with tenant A set, no row of tenant B can be inserted, updated or deleted', async () => {
    let tried = 0;
    for (const rel of (await tenantRelations()).filter((r) => r.kind === 'r' || r.kind === 'p')) {
      if (rel.partition) continue;
      const { rows: bRows } = await fx.admin.query<{ row: unknown }>(
        `SELECT to_jsonb(t) AS row FROM ${rel.name} t WHERE tenant_id = $1 LIMIT 1`,
        [B.tenantId],
      );
      await asApp(A.tenantId, async (c) => {
        if (rel.updatable) {
          const up = await c.query(`UPDATE ${rel.name} SET tenant_id = tenant_id WHERE tenant_id = $1`, [
            B.tenantId,
          ]);
          assert.equal(up.rowCount, 0, `${rel.name}: updated rows of B`);
          const moved = await failsWith(c, `UPDATE ${rel.name} SET tenant_id = $2 WHERE tenant_id = $1`, [
            A.tenantId,
            B.tenantId,
          ]);
          const hasA = await count(c, `SELECT count(*) AS n FROM ${rel.name} WHERE tenant_id = $1`, [
            A.tenantId,
          ]);
          if (hasA > 0) assert.equal(moved, '42501', `${rel.name}: a row of A could be moved to B`);
        } else {
          assert.equal(await failsWith(c, `UPDATE ${rel.name} SET tenant_id = tenant_id`), '42501');
        }
        if (rel.deletable) {
          const del = await c.query(`DELETE FROM ${rel.name} WHERE tenant_id = $1`, [B.tenantId]);
          assert.equal(del.rowCount, 0, `${rel.name}: deleted rows of B`);
        } else {
          assert.equal(await failsWith(c, `DELETE FROM ${rel.name}`), '42501');
        }
        if (bRows[0]) {
          tried++;
          // A verbatim copy of B's row: the policy (or a missing grant) refuses it before any unique key.
          const code = await failsWith(
            c,
            `INSERT INTO ${rel.name} OVERRIDING SYSTEM VALUE SELECT * FROM jsonb_populate_record(NULL::${rel.name}, $1)`,
            [bRows[0].row],
          );
          assert.equal(code, '42501', `${rel.name}: inserting a row of B gave ${code}`);
        }
      });
    }
    assert.ok(tried >= 11, `only ${tried} tables had a row of B to copy`);
  });

  test('the app role cannot switch RLS off, change policies or become another role', async () => {
    await asApp(A.tenantId, async (c) => {
      for (const sql of [
        'ALTER TABLE sites DISABLE ROW LEVEL SECURITY',
        'ALTER TABLE sites NO FORCE ROW LEVEL SECURITY',
        'DROP POLICY tenant_isolation ON sites',
        'CREATE POLICY open_door ON sites USING (true)',
        'ALTER TABLE telemetry ENABLE ROW LEVEL SECURITY',
        'SET ROLE postgres',
        'SET SESSION AUTHORIZATION postgres',
        'GRANT SELECT ON telemetry TO vigil_app',
      ]) {
        assert.equal(await failsWith(c, sql), '42501', sql);
      }
      // row_security = off does not bypass policies: it turns the query into an error.
      await c.query('SET LOCAL row_security = off');
      assert.equal(await failsWith(c, 'SELECT count(*) FROM sites'), '42501');
    });
  });
});

describe('telemetry isolation (SPEC §8)', () => {
  test('the telemetry table, its partitions or chunks, and its rollups cannot be read directly', async () => {
    const names = await telemetryRelations(fx.admin);
    assert.ok(names.includes('public.telemetry'));
    assert.ok(names.length >= 3, `only ${names.length} telemetry relations found`);
    for (const name of names) assert.equal(await appCanSelect(fx.admin, name), false, `${name} is granted`);
    await asApp(A.tenantId, async (c) => {
      for (const name of names) {
        const code = await failsWith(c, `SELECT 1 FROM ${name} LIMIT 1`);
        assert.ok(refusedCodes(name).includes(String(code)), `${name} is readable (${code})`);
      }
    });
    // TimescaleDB's planner reads its catalog in _timescaledb_internal as the calling role, so
    // that schema stays usable (issue 9): isolation there rests on the grants checked above.
    if ((await telemetryMode(fx.admin)) === 'native') {
      const { rows: schemas } = await fx.admin.query<{ usable: boolean }>(
        `SELECT has_schema_privilege('vigil_app', nspname, 'USAGE') AS usable FROM pg_namespace WHERE nspname LIKE '\\_timescaledb%'`,
      );
      assert.ok(
        schemas.every((s) => !s.usable),
        'the app role may use a TimescaleDB internal schema',
      );
    }
  });

  test('the telemetry views show the tenant its own rows only, and a restricted user only their sites', async () => {
    for (const view of ['telemetry_v', 'telemetry_hourly_v']) {
      const mine = await asApp(A.tenantId, (c) =>
        c.query<{ tenant_id: string; equipment_id: string }>(
          `SELECT DISTINCT tenant_id, equipment_id FROM ${view}`,
        ),
      );
      assert.deepEqual(new Set(mine.rows.map((r) => r.tenant_id)), new Set([A.tenantId]), view);
      assert.deepEqual(new Set(mine.rows.map((r) => r.equipment_id)), new Set(A.equipment), view);
      const site = await asApp(
        A.tenantId,
        (c) => c.query<{ equipment_id: string }>(`SELECT DISTINCT equipment_id FROM ${view}`),
        A.sites[0],
      );
      assert.deepEqual(
        site.rows.map((r) => r.equipment_id),
        [A.equipment[0]],
        `${view} with a site restriction`,
      );
    }
    const writes = await asApp(A.tenantId, (c) =>
      failsWith(c, `INSERT INTO telemetry (tenant_id, equipment_id, ts) VALUES ($1, $2, now())`, [
        A.tenantId,
        A.equipment[0],
      ]),
    );
    assert.equal(writes, '42501', 'only the ingest role writes telemetry');
  });
});

describe('site restriction in the database', () => {
  test('a restricted transaction sees only its sites in every site-scoped table', async () => {
    const restricted = await asApp(
      A.tenantId,
      async (c) => ({
        sites: (await c.query<{ id: string }>('SELECT id FROM sites')).rows.map((r) => r.id),
        equipment: (await c.query<{ id: string }>('SELECT id FROM equipment')).rows.map((r) => r.id),
        alerts: (await c.query<{ id: string }>('SELECT id FROM alerts')).rows.map((r) => r.id),
        timeline: await count(c, 'SELECT count(DISTINCT alert_id) AS n FROM alert_timeline'),
        maintenance: (await c.query<{ id: string }>('SELECT id FROM maintenance_records')).rows.map(
          (r) => r.id,
        ),
        keys: await count(c, 'SELECT count(*) AS n FROM equipment_api_keys WHERE revoked_at IS NULL'),
        rules: (
          await c.query<{ id: string }>('SELECT id FROM alert_rules WHERE tenant_id IS NOT NULL')
        ).rows.map((r) => r.id),
      }),
      A.sites[0],
    );
    assert.deepEqual(restricted, {
      sites: [A.sites[0]],
      equipment: [A.equipment[0]],
      alerts: [A.alerts[0]],
      timeline: 1,
      maintenance: [A.maintenance[0]],
      keys: 1,
      rules: [A.rules[0]],
    });
  });
});

describe('a site list that names no site', () => {
  test('withTenant with an empty site list sees no site-scoped row (deny by default)', async () => {
    const seen = (siteIds: string[] | null) =>
      withTenant(app, { tenantId: A.tenantId, siteIds }, async (c) => ({
        sites: await count(c, 'SELECT count(*) AS n FROM sites'),
        equipment: await count(c, 'SELECT count(*) AS n FROM equipment'),
        alerts: await count(c, 'SELECT count(*) AS n FROM alerts'),
        maintenance: await count(c, 'SELECT count(*) AS n FROM maintenance_records'),
        telemetry: await count(c, 'SELECT count(*) AS n FROM telemetry_v'),
      }));
    const all = await seen(null);
    assert.ok(all.sites === 2 && all.equipment === 2 && all.telemetry > 0, JSON.stringify(all));
    assert.deepEqual(await seen([]), { sites: 0, equipment: 0, alerts: 0, maintenance: 0, telemetry: 0 });
  });

  test('users and invites cannot store an empty site list', async () => {
    await asApp(A.tenantId, async (c) => {
      assert.equal(
        await failsWith(c, "UPDATE users SET site_ids = '{}' WHERE id = $1", [A.siteOperator.id]),
        '23514',
      );
      assert.equal(
        await failsWith(
          c,
          `INSERT INTO invites (tenant_id, email, role, site_ids, token_hash, expires_at)
           VALUES ($1, 'empty@example.com', 'viewer', '{}', $2, now() + interval '1 day')`,
          [A.tenantId, randomBytes(32)],
        ),
        '23514',
      );
    });
  });
});

describe("a site-scoped row carries its unit's site", () => {
  const misfiled = {
    maintenance: `INSERT INTO maintenance_records (tenant_id, site_id, equipment_id, kind, performed_at, window_start, window_end)
                  VALUES ($1, $2, $3, 'repair', now(), now(), now() + interval '1 day')`,
    alert: `INSERT INTO alerts (id, tenant_id, site_id, equipment_id, rule_key, severity, opened_at)
            VALUES (gen_random_uuid(), $1, $2, $3, 'probe_' || gen_random_uuid(), 'critical', now())`,
  };

  test("a restricted session cannot file a row for another site's unit under its own site", async () => {
    // Restricted to site 1, naming site 1 (which the policy accepts) and the unit on site 2.
    for (const [what, sql] of Object.entries(misfiled)) {
      const code = await asApp(
        A.tenantId,
        (c) => failsWith(c, sql, [A.tenantId, A.sites[0], A.equipment[1]]),
        A.sites[0],
      );
      assert.equal(code, '23503', `${what}: a row for another site's unit was accepted`);
    }
  });

  test('nor can an unrestricted one; the right site is accepted', async () => {
    await asApp(A.tenantId, async (c) => {
      for (const [what, sql] of Object.entries(misfiled)) {
        assert.equal(await failsWith(c, sql, [A.tenantId, A.sites[0], A.equipment[1]]), '23503', what);
        assert.equal(await failsWith(c, sql, [A.tenantId, A.sites[1], A.equipment[1]]), null, what);
      }
    });
  });
});
