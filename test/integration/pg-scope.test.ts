/**
 * `withTenant`'s wire protocol: the scope travels with each query (read-only) or with the
 * first one (BEGIN … COMMIT), statements are prepared per connection, and none of it outlives
 * the request on a pooled connection.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createPool, loadConfig, migrate, withTenant, type Pool } from '../../schemas/mod.ts';

const config = loadConfig(process.env, { LOG_LEVEL: 'silent' });
const tag = randomBytes(4).toString('hex');
const tenants = [randomUUID(), randomUUID()] as const;
const sites = [randomUUID(), randomUUID()] as const;
const table = `pg_scope_${tag}`;

let admin: Pool;
/** One connection: every call below runs on the same backend, so leftovers would show. */
let app: Pool;
let adminOne: Pool;

/** What the connection carries between requests. */
async function leftovers(pool: Pool): Promise<{ tenant: string; sites: string; readOnly: string }> {
  const { rows } = await pool.query<{ tenant: string; sites: string; readOnly: string }>(
    `SELECT coalesce(current_setting('app.tenant_id', true), '') AS tenant,
            coalesce(current_setting('app.site_ids', true), '') AS sites,
            current_setting('transaction_read_only') AS "readOnly"`,
  );
  return rows[0]!;
}

before(async () => {
  await migrate(config);
  admin = createPool(config, 'admin', 2);
  app = createPool(config, 'app', 1);
  adminOne = createPool(config, 'admin', 1);
  for (const [i, tenantId] of tenants.entries()) {
    await admin.query('INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $3)', [
      tenantId,
      `Scope ${i}`,
      `scope-${tag}-${i}`,
    ]);
    await admin.query('INSERT INTO sites (id, tenant_id, name) VALUES ($1, $2, $3)', [
      sites[i],
      tenantId,
      `Site ${i}`,
    ]);
  }
  await admin.query(`CREATE TABLE ${table} (a int)`);
  await admin.query(`INSERT INTO ${table} VALUES (1)`);
});

after(async () => {
  await admin.query(`DROP TABLE IF EXISTS ${table}`);
  await admin.query('DELETE FROM tenants WHERE id = ANY($1::uuid[])', [[...tenants]]);
  await Promise.all([admin.end(), app.end(), adminOne.end()]);
});

const siteIds = (tenantId: string, readOnly: boolean): Promise<string[]> =>
  withTenant(
    app,
    { tenantId },
    async (c) => (await c.query<{ id: string }>('SELECT id FROM sites ORDER BY id')).rows.map((r) => r.id),
    { readOnly },
  );

describe('withTenant', () => {
  test('each mode sees its tenant only, again and again on one connection, and leaves nothing set', async () => {
    for (let round = 0; round < 7; round++) {
      for (const readOnly of [true, false]) {
        assert.deepEqual(await siteIds(tenants[0], readOnly), [sites[0]]);
        assert.deepEqual(await siteIds(tenants[1], readOnly), [sites[1]]);
      }
    }
    assert.deepEqual(await leftovers(app), { tenant: '', sites: '', readOnly: 'off' });
  });

  test('every query of a read-only scope is scoped, however many and however issued', async () => {
    const got = await withTenant(
      app,
      { tenantId: tenants[1], siteIds: [sites[1]] },
      async (c) => {
        const [a, b] = await Promise.all([
          c.query<{ t: string; s: string }>(
            "SELECT current_setting('app.tenant_id') AS t, current_setting('app.site_ids') AS s",
          ),
          c.query<{ n: number }>({
            text: 'SELECT count(*)::int AS n FROM sites WHERE id = $1',
            values: [sites[0]],
          }),
        ]);
        const again = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM sites');
        return { settings: a.rows[0], otherTenantSites: b.rows[0]?.n, ownSites: again.rows[0]?.n };
      },
      { readOnly: true },
    );
    assert.deepEqual(got, { settings: { t: tenants[1], s: sites[1] }, otherTenantSites: 0, ownSites: 1 });
  });

  test('a read-only scope refuses writes; a default one commits them, or rolls back on a throw', async () => {
    await assert.rejects(
      withTenant(
        app,
        { tenantId: tenants[0] },
        (c) => c.query('UPDATE sites SET name = $1 WHERE id = $2', ['Renamed', sites[0]]),
        { readOnly: true },
      ),
      (err: { code?: string }) => err.code === '25006',
    );
    await assert.rejects(
      withTenant(app, { tenantId: tenants[0] }, async (c) => {
        await c.query('UPDATE sites SET name = $1 WHERE id = $2', ['Rolled back', sites[0]]);
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    await withTenant(app, { tenantId: tenants[0] }, async (c) => {
      await c.query('UPDATE sites SET name = $1 WHERE id = $2', ['Committed', sites[0]]);
      // The second statement runs in the same transaction, with the same scope.
      await c.query('UPDATE sites SET name = name || $1 WHERE id = $2', ['!', sites[0]]);
    });
    const { rows } = await admin.query<{ name: string }>('SELECT name FROM sites WHERE id = $1', [sites[0]]);
    assert.equal(rows[0]?.name, 'Committed!');
    assert.deepEqual(await leftovers(app), { tenant: '', sites: '', readOnly: 'off' });
  });

  test('a failed statement, or a table changed under a prepared one, costs one error, not the connection', async () => {
    const read = (): Promise<string[]> =>
      withTenant(
        adminOne,
        { tenantId: tenants[0] },
        async (c) => (await c.query(`SELECT * FROM ${table} WHERE a > $1`, [0])).fields.map((f) => f.name),
        { readOnly: true },
      );
    assert.deepEqual(await read(), ['a']);
    assert.deepEqual(await read(), ['a']);
    await assert.rejects(
      withTenant(
        adminOne,
        { tenantId: tenants[0] },
        (c) => c.query(`SELECT 1 / $1::int FROM ${table}`, [0]),
        {
          readOnly: true,
        },
      ),
      (err: { code?: string }) => err.code === '22012',
    );
    await admin.query(`ALTER TABLE ${table} ADD COLUMN b int`);
    // The prepared statement's result type changed: PostgreSQL refuses it once (or replans).
    const outcome = await read().catch((err: { code?: string }) => err.code);
    assert.ok(JSON.stringify(outcome) === JSON.stringify(['a', 'b']) || outcome === '0A000', String(outcome));
    assert.deepEqual(await read(), ['a', 'b']);
  });

  test('a value that cannot be sent is refused before anything goes out; the next query is scoped', async () => {
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    const tenant = await withTenant(app, { tenantId: tenants[1] }, async (c) => {
      await assert.rejects(c.query('SELECT $1::jsonb', [circular]), /circular/i);
      const { rows } = await c.query<{ t: string }>("SELECT current_setting('app.tenant_id') AS t");
      return rows[0]?.t;
    });
    assert.equal(tenant, tenants[1]);
    assert.deepEqual(await leftovers(app), { tenant: '', sites: '', readOnly: 'off' });
  });

  test('query calls that would bypass the scope are refused', async () => {
    await assert.rejects(
      withTenant(app, { tenantId: tenants[0] }, (c) => c.query({ name: 'x', text: 'SELECT 1' }), {
        readOnly: true,
      }),
      (err: { code?: string }) => err.code === 'INTERNAL',
    );
  });
});
