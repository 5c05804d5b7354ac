/**
 * The store metrics page in a real browser: thirteen synthetic weeks of people events with a
 * planted promotion and two planted spikes go through the product (ClickHouse → recompute →
 * metrics_daily), then headless Chromium signs in on the live page, opens the metrics page and
 * must render the generator's ground truth: every day's numbers, the totals, the spike days
 * marked, the promotion's lift and the insights. A screenshot is left in `.vigil/artifacts/`.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { apiFixture, PASSWORD, type ApiFixture, type World } from '../helpers/app.ts';
import { ARTIFACTS, launchBrowser } from '../helpers/browser.ts';
import { DEFAULT_WEEKS, insertPeopleEvents, retailWeeks, TZ } from '../helpers/retail-weeks.ts';

const weeks = retailWeeks(DEFAULT_WEEKS);
const FIRST = weeks.truth[0]!.day;
const LAST = weeks.truth.at(-1)!.day;

let fx: ApiFixture;
let A: World;
let base: string;
let browser: Browser;
let page: Page;
let promotionId: string;

before(async () => {
  fx = await apiFixture();
  A = await fx.world();
  const ok = (res: { statusCode: number; body: string }, code = 200) =>
    assert.equal(res.statusCode, code, res.body);
  ok(await fx.call(A.admin.token, 'PATCH', `/v1/sites/${A.sites[0]}`, { timezone: TZ }));
  await insertPeopleEvents(fx.deps.ch, A.tenantId, A.sites[0], weeks.events);
  for (let i = 0; i < weeks.truth.length; i += 31) {
    const to = weeks.truth[Math.min(i + 30, weeks.truth.length - 1)]!.day;
    ok(
      await fx.call(A.operator.token, 'POST', '/v1/metrics/recompute', {
        siteId: A.sites[0],
        from: weeks.truth[i]!.day,
        to,
      }),
    );
  }
  const promo = await fx.call(A.operator.token, 'POST', '/v1/promotions', {
    name: 'Harvest week',
    from: weeks.promotion.from,
    to: weeks.promotion.to,
    siteIds: [A.sites[0]],
  });
  ok(promo, 201);
  promotionId = promo.json<{ id: string }>().id;
  ok(
    await fx.call(A.operator.token, 'POST', '/v1/insights', { siteId: A.sites[0], from: FIRST, to: LAST }),
    201,
  );

  await fx.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(fx.app.server.address() as AddressInfo).port}`;
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 1800 } });
  const problems: string[] = [];
  // Only what the metrics page does counts: the live page signed in before it, and its event
  // stream (which this fixture does not run) may still answer while the next page loads.
  const onMetricsPage = (url: string) => url.startsWith(`${base}/store-metrics`);
  page.on('pageerror', (e) => {
    if (onMetricsPage(page.url())) problems.push(e.message);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && onMetricsPage(page.url()) && !m.location().url.includes('/v1/stream'))
      problems.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && onMetricsPage(page.url()) && !r.url().includes('/v1/stream'))
      problems.push(`${r.status()} ${r.url()}`);
  });

  // Sign in where a user does, then follow the link to the metrics page with the site and range.
  await page.goto(`${base}/`);
  await page.fill('input[name=email]', A.operator.email);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#live-view:not([hidden])');
  await page.goto(`${base}/store-metrics?siteId=${A.sites[0]}&from=${FIRST}&to=${LAST}`);
  await page.waitForSelector(`body[data-loaded="${A.sites[0]}/${FIRST}/${LAST}"]`);
  await page.screenshot({ path: join(ARTIFACTS, 'store-metrics.png'), fullPage: true });
  assert.deepEqual(problems, [], 'the metrics page ran without script, CSP or API errors');
});

after(async () => {
  await browser?.close();
  await fx?.close();
});

const text = (selector: string) => page.locator(selector).innerText();

test('every day of the table shows the ground truth of that local day', async () => {
  const rows = await page.$$eval('#days tr', (trs) =>
    trs.map((tr) => ({
      day: tr.getAttribute('data-day'),
      footfall: tr.querySelector('[data-metric=footfall]')!.textContent,
      interactions: tr.querySelector('[data-metric=interactions]')!.textContent,
      peak: tr.querySelector('[data-metric=peakOccupancy]')!.textContent,
      visitors: tr.querySelector('[data-metric=uniqueVisitorsEstimate]')!.textContent,
    })),
  );
  assert.deepEqual(
    rows,
    weeks.truth.map((t) => ({
      day: t.day,
      footfall: String(t.footfall),
      interactions: String(t.interactions),
      peak: String(t.peakOccupancy),
      visitors: String(t.uniqueVisitors),
    })),
  );
});

test('the tiles sum the range: footfall, interactions, the mean visit and the peak', async () => {
  const sum = (k: 'footfall' | 'interactions') => weeks.truth.reduce((a, t) => a + t[k], 0);
  assert.equal(await text('#total-footfall'), String(sum('footfall')));
  assert.equal(await text('#total-interactions'), String(sum('interactions')));
  const dwells = weeks.truth.flatMap((t) => t.dwells);
  assert.equal(await text('#avg-dwell'), (dwells.reduce((a, b) => a + b, 0) / dwells.length).toFixed(1));
  assert.equal(await text('#peak-occupancy'), String(Math.max(...weeks.truth.map((t) => t.peakOccupancy))));
});

test('the spike days marked are the planted spikes and the promotion week, in the chart and the table', async () => {
  const promoDays = weeks.truth
    .map((t) => t.day)
    .filter((d) => d >= weeks.promotion.from && d <= weeks.promotion.to);
  const expected = [...promoDays, ...weeks.spikeDays].sort();
  const bars = await page.$$eval('#chart-footfall rect.bar.spike', (rs) =>
    rs.map((r) => r.getAttribute('data-day')),
  );
  const rows = await page.$$eval('#days tr.spike', (trs) => trs.map((tr) => tr.getAttribute('data-day')));
  assert.deepEqual(bars, expected);
  assert.deepEqual(rows, expected);
  assert.equal(await text('#spike-count'), String(expected.length));
  const bar = page.locator(`#chart-footfall rect.bar[data-day="${weeks.spikeDays[0]}"]`);
  const truth = weeks.truth.find((t) => t.day === weeks.spikeDays[0])!;
  assert.equal(await bar.getAttribute('data-value'), String(truth.footfall));
});

test("the promotion's footfall lift is the planted one against the week before and the same weekdays", async () => {
  const row = page.locator(`#promotions tr[data-promotion="${promotionId}"][data-metric=footfall]`);
  const planted = `+${weeks.promotion.liftPct.toFixed(1)} %`;
  assert.equal(await row.locator('.lift-previous').innerText(), planted);
  assert.equal(await row.locator('.lift-weekdays').innerText(), planted);
  const shaded = await page.$$eval('#chart-footfall rect.promo title', (ts) => ts.map((t) => t.textContent));
  assert.ok(shaded.includes('Harvest week'), shaded.join(', '));
});

test("the insights shown are the site's stored findings, with the lift in words", async () => {
  const shown = await page.$$eval('#insights li', (lis) => lis.map((li) => li.textContent));
  const stored = await fx.call(A.viewer.token, 'GET', `/v1/insights?siteId=${A.sites[0]}`);
  const findings = stored.json<{ items: Array<{ findings: Array<{ text: string }> }> }>().items[0]!.findings;
  assert.deepEqual(
    shown,
    findings.map((f) => f.text),
  );
  assert.ok(
    shown.some((s) => s!.includes(`${weeks.promotion.liftPct.toFixed(1)}%`) || s!.includes('Harvest week')),
    shown.join('\n'),
  );
});
