/**
 * The dashboard's alert controls in a real browser, against the whole product (actor node,
 * gateway, real services): headless Chromium signs in on the live page, the alert a breaching
 * reading opened shows up in the alerts panel, the unit's detail (opened from the alert) shows
 * the rule firing and the alert open, then the page acknowledges it and resolves it with a note
 * — the resolve dialog refuses to go without one — and the API holds what the page did: the
 * status, the note, who did it and the timeline. A screenshot is left in `.vigil/artifacts/`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ApiAlert, ApiEquipmentState } from '../../schemas/mod.ts';
import { publishReading } from '../../streams/mod.ts';
import { ARTIFACTS, launchBrowser } from '../helpers/browser.ts';
import { INSTANT_HIGH_TEMP_RULE, ownerToken, useLiveUnit } from '../helpers/live-unit.ts';
import { waitFor } from '../helpers/wait.ts';

const NOTE = 'door gasket replaced, cabinet back at -19 °C';

const live = useLiveUnit('dashboard-browser', {
  name: 'Browser Foods',
  slug: 'browser',
  password: 'browser-password-123',
  rules: [INSTANT_HIGH_TEMP_RULE],
});

let browser: Browser;
let page: Page;
/** Script errors, failed requests and console errors of the page, all of which fail the test. */
const problems: string[] = [];

before(async () => {
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
});

after(async () => {
  await browser?.close();
});

/** Cell texts of the row `selector` (trimmed). */
function cells(selector: string): Promise<string[]> {
  return page.$$eval(`${selector} td`, (tds) => tds.map((td) => (td.textContent ?? '').trim()));
}

test('from the page: open the unit from its alert, acknowledge, resolve with a note; the API agrees', async () => {
  const { server, tenantId, equipmentId, email, password } = live.unit;
  const { js, names } = live.fx;
  const token = await ownerToken(live.unit);
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, `GET ${path}`);
    return (await res.json()) as T;
  };

  await publishReading(js, names, tenantId, equipmentId, { ts: Date.now() - 1000, temperature: 0 });
  const [opened] = await waitFor('the alert opened by the breach', async () => {
    const open = (await api<{ items: ApiAlert[] }>('/v1/alerts?status=open')).items;
    return open.length === 1 ? open : undefined;
  });
  const alertId = opened!.id;
  const row = `#alerts-list tr[data-alert="${alertId}"]`;

  // Sign in as the owner (a tenant admin may act on alerts).
  await page.goto(`${server.url}/`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#live-view:not([hidden])');
  await page.waitForSelector(`${row} button[data-action=ack]`);
  await page.waitForSelector('#count-critical:text-is("1")');
  assert.deepEqual((await cells(row)).slice(1, 4), ['critical', `high_temp: ${opened!.message}`, 'active']);

  // The unit's detail, opened from the alert: the rule firing, the alert among its open ones.
  await page.click(`${row} button.link`);
  await page.waitForSelector('#unit-view:not([hidden])');
  await page.waitForSelector(`#unit-alerts tr[data-alert="${alertId}"]`);
  await page.waitForSelector('#unit-rules tr[data-rule=high_temp] .phase:text-is("firing")');
  const rule = await cells('#unit-rules tr[data-rule=high_temp]');
  assert.deepEqual([rule[0], rule[1], rule[2], rule[3]], ['high_temp', 'threshold', 'firing', 'critical']);
  await page.waitForSelector('#unit-name:text-is("Freezer")');
  assert.match(await page.locator('#unit-actor').innerText(), /^live · partition \d+$/);
  // The last reading reaches the detail through the telemetry sink: shown once stored.
  await page.waitForSelector('#unit-facts dt:text-is("Temperature") + dd:text-is("0.0 °C")');
  assert.match(await page.locator('#unit-facts').innerText(), /Setpoint\s+-18\.0 °C/);

  // Acknowledge from the alerts panel: the row stays, acknowledged, without the button.
  await page.click(`${row} button[data-action=ack]`);
  await page.waitForSelector(`${row} td:nth-child(4):text-is("acknowledged")`);
  assert.equal(await page.locator(`${row} button[data-action=ack]`).count(), 0);
  const acked = await api<ApiAlert>(`/v1/alerts/${alertId}`);
  assert.equal(acked.status, 'acknowledged');
  assert.ok(acked.acknowledgedBy, 'the acknowledgement names who did it');
  // The unit's detail follows (re-read after the action).
  await page.waitForSelector(
    `#unit-alerts tr[data-alert="${alertId}"] td:nth-child(4):text-is("acknowledged")`,
  );

  // Resolve: the dialog will not submit without a note.
  await page.click(`${row} button[data-action=resolve]`);
  await page.waitForSelector('#resolve-dialog[open]');
  assert.match(await page.locator('#resolve-what').innerText(), /Freezer — high_temp/);
  await page.click('#resolve-form button[type=submit]');
  assert.equal(await page.locator('#resolve-dialog[open]').count(), 1, 'no note: the dialog stays open');
  assert.equal((await api<ApiAlert>(`/v1/alerts/${alertId}`)).status, 'acknowledged');
  await page.fill('#resolve-form textarea[name=note]', NOTE);
  await page.click('#resolve-form button[type=submit]');
  await page.waitForSelector(row, { state: 'detached' });
  await page.waitForSelector('#alerts-empty:not([hidden])');
  await page.waitForSelector(`#unit-alerts tr[data-alert="${alertId}"]`, { state: 'detached' });
  // A resolve sends no stream event: the page itself takes it off the counts and the board.
  await page.waitForSelector('#count-critical:text-is("0")');
  await page.waitForSelector('#fleet tr:has(td:text-is("Freezer")) td:nth-child(4):text-is("resolved")');

  const resolved = await api<ApiAlert>(`/v1/alerts/${alertId}`);
  assert.equal(resolved.status, 'resolved');
  assert.equal(resolved.note, NOTE);
  assert.ok(resolved.resolvedAt);
  assert.equal(resolved.resolvedBy, acked.acknowledgedBy, 'the same user acknowledged and resolved');
  const timeline = await api<{
    items: Array<{ action: string; actorId: string | null; note: string | null }>;
  }>(`/v1/alerts/${alertId}/timeline`);
  const byUser = timeline.items.filter((e) => e.actorId === resolved.resolvedBy);
  assert.deepEqual(
    byUser.map((e) => [e.action, e.note]),
    [
      ['acknowledged', null],
      ['resolved', NOTE],
    ],
  );
  assert.deepEqual((await api<{ items: ApiAlert[] }>('/v1/alerts?status=open')).items, []);

  // The detail shows what the unit's live state says now: no open alert on the rule.
  const state = await waitFor('the unit state without the alert', async () => {
    const s = await api<ApiEquipmentState>(`/v1/equipment/${equipmentId}/state`);
    return s.openAlerts.length === 0 && s.rules[0]?.alertId === null ? s : undefined;
  });
  await page.waitForSelector(
    `#unit-rules tr[data-rule=high_temp] .phase:text-is("${state.rules[0]!.phase}")`,
  );
  // The page's own record of what it did, in the live feed.
  const feed = await page.locator('#feed').innerText();
  assert.match(feed, /Freezer: high_temp acknowledged/);
  assert.match(
    feed,
    new RegExp(`Freezer: high_temp resolved \\(${NOTE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`),
  );
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-alert-actions.png'), fullPage: true });
  assert.deepEqual(problems, [], 'the page ran without script errors or failed requests');
});
