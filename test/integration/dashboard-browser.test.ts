/**
 * The dashboard's alert controls in a real browser, against the whole product (actor node,
 * gateway, real services): headless Chromium signs in on the live page, the alert a breaching
 * reading opened shows up in the alerts panel, the unit's detail (opened from the alert) shows
 * the rule firing and the alert open, then the page acknowledges it and resolves it with a note
 * — the resolve dialog refuses to go without one — and the API holds what the page did: the
 * status, the note, who did it and the timeline. A second dashboard of the tenant, which did
 * nothing, follows both actions live from the stream. A screenshot is left in `.vigil/artifacts/`.
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
/** Another dashboard of the same tenant (its own browser context), which only watches. */
let watcher: Page;
/** Script errors, failed requests and console errors of the pages, all of which fail the test. */
const problems: string[] = [];

async function newPage(): Promise<Page> {
  const p = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
  p.on('pageerror', (e) => problems.push(e.message));
  p.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  p.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  return p;
}

before(async () => {
  browser = await launchBrowser();
  page = await newPage();
  watcher = await newPage();
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

  // Sign in as the owner (a tenant admin may act on alerts), on both dashboards.
  for (const p of [page, watcher]) {
    await p.goto(`${server.url}/`);
    await p.fill('input[name=email]', email);
    await p.fill('input[name=password]', password);
    await p.click('#login-form button[type=submit]');
    await p.waitForSelector('#live-view:not([hidden])');
    await p.waitForSelector(`${row} button[data-action=ack]`);
    await p.waitForSelector('#count-critical:text-is("1")');
  }
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
  // The other dashboard hears it from the stream (alert.acknowledged), without a reload.
  await watcher.waitForSelector(`${row} td:nth-child(4):text-is("acknowledged")`);
  assert.equal(await watcher.locator(`${row} button[data-action=ack]`).count(), 0);

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
  // The page itself takes it off the counts and the board at once; every other dashboard does
  // when the resolve's alert.closed reaches it on the stream.
  await page.waitForSelector('#count-critical:text-is("0")');
  await page.waitForSelector('#fleet tr:has(td:text-is("Freezer")) td:nth-child(4):text-is("resolved")');
  await watcher.waitForSelector(row, { state: 'detached' });
  await watcher.waitForSelector('#count-critical:text-is("0")');
  await watcher.waitForSelector('#fleet tr:has(td:text-is("Freezer")) td:nth-child(4):text-is("resolved")');
  assert.match(
    await watcher.locator('#feed').innerText(),
    new RegExp(
      `alert\\.closed\\s.*Freezer: high_temp resolved \\(${NOTE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`,
    ),
  );

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
