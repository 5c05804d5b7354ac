/**
 * Tenant and site isolation of every REST route, generated from the live app's OpenAPI
 * document: a route added tomorrow (cameras, metrics, ...) is covered without touching this file.
 *
 * For each route that takes an id (path parameter, id in the body, id filter in the query):
 * call it with every id of another tenant, as this tenant's admin, and expect exactly what a
 * random, never-existing id gets — 404, or an empty list — with nothing of the other tenant in
 * the body. The same for site-restricted users with ids of a site outside their list. At the
 * end, nothing of either tenant has changed. SSE is covered by the gateway's own tests.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { apiFixture, type Actor, type ApiFixture, type World } from '../helpers/app.ts';
import { holdsId, routeTable, sample, SAMPLE_PNG, urlFor, type Route } from '../helpers/openapi.ts';

let fx: ApiFixture;
let A: World;
let B: World;
let routes: Route[];
const snapshots = new Map<string, Record<string, string>>();

function worldIds(w: World): string[] {
  return [
    w.tenantId,
    ...w.sites,
    ...w.equipment,
    ...w.alerts,
    ...w.maintenance,
    ...w.cameras,
    ...w.zones,
    ...w.rules,
    ...w.promotions,
    ...w.insights,
    w.pendingInvite,
    ...[w.admin, w.operator, w.viewer, w.siteOperator, w.siteViewer].map((u) => u.id),
  ];
}

/** Ids of objects on the second site, which the site-restricted users must never see. */
function otherSiteIds(w: World): string[] {
  return [
    w.sites[1],
    w.equipment[1],
    w.alerts[1],
    w.maintenance[1],
    w.cameras[1],
    w.zones[1],
    w.rules[1],
    w.rules[2],
    w.promotions[1],
    w.insights[1],
  ];
}

/**
 * Every row of the tenant in every table that has a tenant_id, as a digest per table. Child
 * tables (native partitions, TimescaleDB chunks) are read through their parent: another test
 * file running at the same time may create a chunk, which must not count as a change. A
 * TimescaleDB compressed chunk stores the column as compressed_data (not a uuid); its rows are
 * in the hypertable's digest too.
 */
async function snapshot(tenantId: string): Promise<Record<string, string>> {
  const { rows: tables } = await fx.admin.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE a.attname = 'tenant_id' AND a.atttypid = 'uuid'::regtype AND NOT a.attisdropped
       AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')`,
  );
  const out: Record<string, string> = {};
  for (const { name } of tables) {
    const { rows } = await fx.admin.query<{ h: string }>(
      `SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS h
       FROM ${name} t WHERE tenant_id = $1`,
      [tenantId],
    );
    out[name] = rows[0]!.h;
  }
  return out;
}

interface Variant {
  label: string;
  send(id: string): Promise<LightMyRequestResponse>;
}

/** The ways a route can be handed an id: path and body together, or one id filter of the query. */
function variants(route: Route, token: string): Variant[] {
  const call = (id: string, query: Record<string, string>) =>
    route.imageBody
      ? fx.call(token, route.method as 'PUT', urlFor(route, id, query), SAMPLE_PNG, {
          'content-type': route.imageBody,
        })
      : fx.call(
          token,
          route.method as 'GET',
          urlFor(route, id, query),
          route.body ? sample(route.body, id) : undefined,
        );
  const out: Variant[] = [];
  if (route.pathParams.length > 0 || holdsId(route.body ?? undefined)) {
    out.push({ label: `${route.method} ${route.path}`, send: (id) => call(id, {}) });
  }
  for (const q of route.idQueryParams) {
    out.push({ label: `${route.method} ${route.path}?${q}=`, send: (id) => call(id, { [q]: id }) });
  }
  return out;
}

function errorCode(res: LightMyRequestResponse): string | null {
  try {
    return (res.json<{ error?: { code?: string } }>().error?.code as string | undefined) ?? null;
  } catch {
    return null;
  }
}

function assertNoLeak(res: LightMyRequestResponse, hidden: readonly string[], label: string): void {
  for (const id of hidden) assert.ok(!res.body.includes(id), `${label}: response mentions hidden id ${id}`);
}

/**
 * Foreign ids must be indistinguishable from ids that never existed, and may only ever get
 * 404, an empty list, or the 401/403 the caller gets for that route whatever the id.
 */
async function probe(
  actor: Actor,
  foreign: readonly string[],
  hidden: readonly string[],
): Promise<Map<string, number>> {
  const notFound = new Map<string, number>();
  // Destructive methods last: if isolation were broken, the reads would report it first.
  const order = (r: Route) => (r.method === 'DELETE' ? 2 : r.method === 'GET' ? 0 : 1);
  for (const route of [...routes].sort((a, b) => order(a) - order(b))) {
    for (const v of variants(route, actor.token)) {
      const control = await v.send(randomUUID());
      assert.notEqual(
        control.statusCode,
        400,
        `${v.label}: no valid request could be built from the OpenAPI schema (give the schema \`examples\`): ${control.body}`,
      );
      for (const id of foreign) {
        const res = await v.send(id);
        const label = `${v.label} with ${id}`;
        assert.equal(
          res.statusCode,
          control.statusCode,
          `${label}: ${res.body} (a never-existing id got ${control.body})`,
        );
        assert.equal(
          errorCode(res),
          errorCode(control),
          `${label}: error code differs from a never-existing id's`,
        );
        assertNoLeak(res, hidden, label);
        if (res.statusCode === 200) {
          const items = res.json<{ items?: unknown[] }>().items;
          assert.ok(
            route.method === 'GET' && Array.isArray(items),
            `${label}: 200 with a foreign id must be a list`,
          );
          assert.equal(items.length, 0, `${label}: list filtered by a foreign id must be empty`);
        } else {
          assert.ok(
            [401, 403, 404].includes(res.statusCode),
            `${label}: unexpected ${res.statusCode} ${res.body}`,
          );
        }
        if (res.statusCode === 404) notFound.set(v.label, (notFound.get(v.label) ?? 0) + 1);
      }
    }
  }
  return notFound;
}

before(async () => {
  fx = await apiFixture();
  A = await fx.world();
  B = await fx.world();
  // Streams are the gateway's SSE tests' to cover; non-JSON bodies cannot be synthesised, except
  // images (uploads take SAMPLE_PNG).
  routes = routeTable(fx.app).filter((r) => !r.streaming && (!r.nonJsonBody || r.imageBody !== null));
  for (const w of [A, B]) snapshots.set(w.tenantId, await snapshot(w.tenantId));
});

after(async () => {
  await fx?.close();
});

describe('tenant isolation, from the route table', () => {
  test('the route table is the live one and includes the management API', (t) => {
    const skipped = routeTable(fx.app).filter((r) => r.streaming || (r.nonJsonBody && r.imageBody === null));
    t.diagnostic(
      `${routes.length} routes probed; not probed here: ${skipped.map((r) => `${r.method} ${r.path}`).join(', ')}`,
    );
    const paths = new Set(routes.map((r) => `${r.method} ${r.path}`));
    for (const p of [
      'GET /v1/sites/{id}',
      'PATCH /v1/users/{id}',
      'DELETE /v1/invites/{id}',
      'POST /v1/equipment/{id}/api-key',
      'POST /v1/maintenance',
      'POST /v1/alerts/{id}/ack',
      'GET /v1/alerts/{id}/timeline',
      'DELETE /v1/alert-rules/{id}',
      'GET /v1/tenants/{id}',
    ]) {
      assert.ok(paths.has(p), `${p} missing from /openapi.json`);
    }
  });

  test("another tenant's ids answer 404 or an empty list to a tenant admin, on every route", async () => {
    const notFound = await probe(A.admin, worldIds(B), worldIds(B));
    // The probe is only meaningful if the tenant's own routes reached their lookups.
    for (const label of [
      'GET /v1/sites/{id}',
      'PATCH /v1/equipment/{id}',
      'POST /v1/alerts/{id}/resolve',
      'POST /v1/maintenance',
      'POST /v1/equipment',
      'POST /v1/invites',
      'DELETE /v1/users/{id}',
      'GET /v1/alerts/{id}/timeline',
      'GET /v1/cameras/{id}/health',
      'POST /v1/cameras/{id}/restart',
      'GET /v1/cameras/{id}/snapshot',
      'GET /v1/cameras/{id}/overlay',
      'PUT /v1/cameras/{id}/screenshot',
      'DELETE /v1/cameras/{id}/screenshot',
      'POST /v1/zones',
      'PATCH /v1/zones/{id}',
      'GET /v1/zones/{id}/replay',
      'POST /v1/zones/replay',
    ]) {
      assert.ok((notFound.get(label) ?? 0) > 0, `${label} never answered 404`);
    }
  });

  for (const who of ['siteOperator', 'siteViewer'] as const) {
    test(`ids of another site answer 404 or an empty list to a ${who} restricted to one site`, async () => {
      const notFound = await probe(A[who], otherSiteIds(A), [...otherSiteIds(A), ...worldIds(B)]);
      for (const label of [
        'GET /v1/equipment/{id}',
        'GET /v1/alerts/{id}',
        'GET /v1/maintenance/{id}',
        'GET /v1/sites/{id}',
        'GET /v1/cameras/{id}',
        'GET /v1/cameras/{id}/snapshot',
        'GET /v1/cameras/{id}/overlay',
        'GET /v1/zones/{id}',
        'GET /v1/zones/{id}/replay',
        // Replaying a draft zone is operators' work: a viewer is refused before any lookup.
        ...(who === 'siteOperator'
          ? ['POST /v1/zones/replay', 'PUT /v1/cameras/{id}/screenshot', 'DELETE /v1/cameras/{id}/screenshot']
          : []),
      ]) {
        assert.ok((notFound.get(label) ?? 0) > 0, `${label} never answered 404`);
      }
    });
  }

  test('lists and every other GET show nothing of another tenant, or of another site to restricted users', async () => {
    const lists = routes.filter((r) => r.method === 'GET' && r.pathParams.length === 0);
    assert.ok(lists.length >= 8);
    let listsWithItems = 0;
    for (const [actor, hidden] of [
      [A.admin, worldIds(B)],
      [A.operator, worldIds(B)],
      [A.siteOperator, [...otherSiteIds(A), ...worldIds(B)]],
      [A.siteViewer, [...otherSiteIds(A), ...worldIds(B)]],
    ] as const) {
      for (const route of lists) {
        const res = await fx.call(actor.token, 'GET', urlFor(route, randomUUID()));
        assertNoLeak(res, hidden, `GET ${route.path} as ${actor.email}`);
        const isJson = String(res.headers['content-type'] ?? '').startsWith('application/json');
        if (res.statusCode === 200 && isJson && (res.json<{ items?: unknown[] }>().items?.length ?? 0) > 0) {
          listsWithItems++;
        }
      }
    }
    // Not vacuous: the callers did see their own objects.
    assert.ok(listsWithItems >= 10, `only ${listsWithItems} non-empty lists`);
  });

  test('a restricted user sees exactly the objects of their own site', async () => {
    const equipment = await fx.call(A.siteViewer.token, 'GET', '/v1/equipment');
    assert.deepEqual(
      equipment.json<{ items: { id: string }[] }>().items.map((e) => e.id),
      [A.equipment[0]],
    );
    const sites = await fx.call(A.siteOperator.token, 'GET', '/v1/sites');
    assert.deepEqual(
      sites.json<{ items: { id: string }[] }>().items.map((s) => s.id),
      [A.sites[0]],
    );
    const alerts = await fx.call(A.siteOperator.token, 'GET', '/v1/alerts');
    assert.deepEqual(
      alerts.json<{ items: { id: string }[] }>().items.map((a) => a.id),
      [A.alerts[0]],
    );
    const cameras = await fx.call(A.siteViewer.token, 'GET', '/v1/cameras');
    assert.deepEqual(
      cameras.json<{ items: { id: string }[] }>().items.map((c) => c.id),
      [A.cameras[0]],
    );
    const zones = await fx.call(A.siteViewer.token, 'GET', '/v1/zones');
    assert.deepEqual(
      zones.json<{ items: { id: string }[] }>().items.map((z) => z.id),
      [A.zones[0]],
    );
    const rules = await fx.call(A.siteOperator.token, 'GET', '/v1/alert-rules?scope=site');
    assert.equal(rules.json<{ items: unknown[] }>().items.length, 0, 'the rule of site 2 is invisible');
  });

  test("a restricted viewer's own camera has a picture to ask for; another site's is not there", async () => {
    // No node runs the world's cameras and none has a screenshot: its own camera answers why
    // there is no picture (it exists for the viewer), the other site's camera does not exist.
    for (const path of ['snapshot', 'overlay']) {
      const own = await fx.call(A.siteViewer.token, 'GET', `/v1/cameras/${A.cameras[0]}/${path}`);
      assert.equal(own.statusCode, 409, own.body);
      assert.equal(errorCode(own), 'NO_FRAME');
      const other = await fx.call(A.siteViewer.token, 'GET', `/v1/cameras/${A.cameras[1]}/${path}`);
      assert.equal(other.statusCode, 404, other.body);
      assert.equal(errorCode(other), 'NOT_FOUND');
      assertNoLeak(other, otherSiteIds(A), `${path} of another site`);
    }
  });

  test('a tenant admin cannot act in another tenant with the platform header', async () => {
    const res = await fx.call(A.admin.token, 'GET', '/v1/sites', undefined, { 'x-vigil-tenant': B.tenantId });
    assert.equal(res.statusCode, 403);
    assert.equal(errorCode(res), 'FORBIDDEN');
    assertNoLeak(res, worldIds(B), 'act-as');
  });

  test('nothing of either tenant changed', async () => {
    for (const w of [A, B]) assert.deepEqual(await snapshot(w.tenantId), snapshots.get(w.tenantId));
  });
});
