/**
 * The dashboard's alert handling and unit detail over HTTP, against the real services: the
 * served page carries the controls (alerts panel with acknowledge and resolve, a resolve
 * dialog whose note is required, the unit detail), every route its script calls is a route the
 * API documents, and those routes, called as the script calls them, take an alert from open
 * through acknowledged to resolved with a note while the unit's live state follows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiAlert, ApiEquipmentState } from '../../schemas/mod.ts';
import { publishReading } from '../../streams/mod.ts';
import { INSTANT_HIGH_TEMP_RULE, ownerToken, useLiveUnit } from '../helpers/live-unit.ts';
import { waitFor } from '../helpers/wait.ts';

const live = useLiveUnit('dashboard', {
  name: 'Dashboard Foods',
  slug: 'dashboard',
  password: 'dashboard-password-123',
  rules: [INSTANT_HIGH_TEMP_RULE],
});

/** `(method, OpenAPI path)` of every API call in the dashboard's script. */
function callsOf(script: string): Array<[string, string]> {
  const calls: Array<[string, string]> = [];
  const toPath = (raw: string): string => raw.replace(/\?.*$/, '').replace(/\$\{[^}]+\}/g, '{id}');
  for (const m of script.matchAll(/api\(\s*`([^`]+)`(?:,\s*'(\w+)')?/g))
    calls.push([(m[2] ?? 'GET').toLowerCase(), toPath(m[1]!)]);
  for (const m of script.matchAll(/fetch\(\s*'([^']+)',\s*\{\s*method:\s*'(\w+)'/g))
    calls.push([m[2]!.toLowerCase(), toPath(m[1]!)]);
  return calls;
}

test('the page has the controls, its script calls documented routes only', async () => {
  const { server } = live.unit;
  const page = await fetch(`${server.url}/`);
  assert.equal(page.status, 200);
  const html = await page.text();
  for (const id of [
    'alerts-list',
    'alert-error',
    'unit-view',
    'unit-facts',
    'unit-rules',
    'unit-alerts',
    'unit-close',
    'resolve-dialog',
    'resolve-form',
    'resolve-cancel',
  ])
    assert.match(html, new RegExp(`id="${id}"`), `the page has #${id}`);
  assert.match(html, /<textarea name="note" required/, 'a resolve needs its note');

  const script = await (await fetch(`${server.url}/app.js`)).text();
  const calls = callsOf(script);
  const spec = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const want: Array<[string, string]> = [
    ['get', '/v1/alerts'],
    ['post', '/v1/alerts/{id}/ack'],
    ['post', '/v1/alerts/{id}/resolve'],
    ['get', '/v1/equipment/{id}/state'],
    ['get', '/v1/fleet'],
  ];
  for (const [method, path] of want)
    assert.ok(
      calls.some(([m, p]) => m === method && p === path),
      `the script calls ${method} ${path}`,
    );
  for (const [method, path] of calls)
    assert.ok(spec.paths[path]?.[method], `${method} ${path} is a documented route`);
  assert.match(script, /addEventListener\('equipment\.state'/, 'it listens for unit state notices');
});

test('acknowledge, then resolve with a note, as the page does; the unit detail follows', async () => {
  const { server, tenantId, equipmentId } = live.unit;
  const { js, names } = live.fx;
  const accessToken = await ownerToken(live.unit);
  // The script's api(): bearer token, JSON body on POST.
  const api = async (path: string, method = 'GET', body?: unknown): Promise<Response> =>
    fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${accessToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const openAlerts = async (): Promise<ApiAlert[]> => {
    const res = await api('/v1/alerts?status=open&limit=200');
    assert.equal(res.status, 200);
    return ((await res.json()) as { items: ApiAlert[] }).items;
  };
  const unit = async (): Promise<ApiEquipmentState> => {
    const res = await api(`/v1/equipment/${equipmentId}/state`);
    assert.equal(res.status, 200);
    return (await res.json()) as ApiEquipmentState;
  };

  await publishReading(js, names, tenantId, equipmentId, { ts: Date.now() - 1000, temperature: 0 });
  const [alert] = await waitFor('the alert in the open list', async () => {
    const open = await openAlerts();
    return open.length === 1 ? open : undefined;
  });
  assert.equal(alert!.status, 'active');
  assert.equal(alert!.equipmentId, equipmentId);
  const firing = await waitFor('the unit detail showing the alert', async () => {
    const s = await unit();
    // The reading reaches PostgreSQL through the telemetry sink, the alert through the actor:
    // either may come first.
    return s.openAlerts.length === 1 && s.actor.status === 'live' && s.lastReading ? s : undefined;
  });
  assert.equal(firing.openAlerts[0]!.id, alert!.id);
  assert.deepEqual(
    firing.rules.map((r) => [r.ruleKey, r.phase, r.severity, r.alertId, r.acknowledged]),
    [['high_temp', 'firing', 'critical', alert!.id, false]],
  );
  assert.equal(firing.lastReading?.temperature, 0);

  // Acknowledge (the page sends an empty body).
  const ack = await api(`/v1/alerts/${alert!.id}/ack`, 'POST', {});
  assert.equal(ack.status, 200);
  assert.equal(((await ack.json()) as ApiAlert).status, 'acknowledged');
  assert.deepEqual(
    (await openAlerts()).map((a) => [a.id, a.status]),
    [[alert!.id, 'acknowledged']],
  );
  const acked = await waitFor('the unit detail showing the acknowledgement', async () => {
    const s = await unit();
    return s.rules[0]?.acknowledged ? s : undefined;
  });
  assert.equal(acked.openAlerts[0]!.status, 'acknowledged');
  assert.equal(
    (await api(`/v1/alerts/${alert!.id}/ack`, 'POST', {})).status,
    409,
    'a second acknowledgement is refused (the page shows why)',
  );

  // Resolve: without a note refused, with one done.
  const bare = await api(`/v1/alerts/${alert!.id}/resolve`, 'POST', {});
  assert.equal(bare.status, 400);
  const resolved = await api(`/v1/alerts/${alert!.id}/resolve`, 'POST', { note: 'door seal replaced' });
  assert.equal(resolved.status, 200);
  const body = (await resolved.json()) as ApiAlert;
  assert.equal(body.status, 'resolved');
  assert.equal(body.note, 'door seal replaced');
  assert.deepEqual(await openAlerts(), []);
  const after = await waitFor('the unit detail without the alert', async () => {
    const s = await unit();
    return s.openAlerts.length === 0 && s.rules[0]?.alertId === null ? s : undefined;
  });
  assert.equal(after.rules[0]!.ruleKey, 'high_temp');
});
