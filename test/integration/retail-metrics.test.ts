/**
 * Retail metrics end to end: people events in ClickHouse → POST /v1/metrics/recompute →
 * metrics_daily (RLS) → daily metrics, spikes, promotion lift and insights over HTTP, with a
 * local fake OpenAI-compatible server phrasing the insights.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type ApiDailyMetrics, type ApiInsights, type ApiPromotionLift } from '../../schemas/mod.ts';
import { findSpikes, median, phraseFindings, type PeopleEvent } from '../../gateway/analytics/mod.ts';
import { apiFixture, bootGateway, type ApiFixture, type BootedGateway, type World } from '../helpers/app.ts';
import { insertPeopleEvents, retailWeeks, TZ, type RetailWeeks } from '../helpers/retail-weeks.ts';

/** The fake model: `keep` rephrases around the numbers, `alter` changes the first one. */
let mode: 'keep' | 'alter' = 'keep';
const requests: string[] = [];
let llm: Server;
let fx: ApiFixture;
let plain: BootedGateway;
let A: World;
let B: World;
let weeks: RetailWeeks;

function rephrase(text: string): string {
  const out = `In short: ${text.replace('against', 'compared with')}`;
  return mode === 'alter' ? out.replace(/\d+\.\d/, (n) => (Number(n) + 1).toFixed(1)) : out;
}

const insertEvents = (tenantId: string, siteId: string, events: readonly PeopleEvent[]) =>
  insertPeopleEvents(fx.deps.ch, tenantId, siteId, events);

before(async () => {
  llm = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      requests.push(body);
      const { messages } = JSON.parse(body) as { messages: Array<{ role: string; content: string }> };
      const { findings } = JSON.parse(messages.at(-1)!.content) as { findings: string[] };
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          choices: [
            {
              message: { role: 'assistant', content: JSON.stringify({ phrasings: findings.map(rephrase) }) },
            },
          ],
        }),
      );
    });
  });
  await new Promise<void>((resolve) => llm.listen(0, '127.0.0.1', resolve));
  const { port } = llm.address() as AddressInfo;
  fx = await apiFixture({
    VIGIL_INSIGHTS_LLM_URL: `http://127.0.0.1:${port}/v1`,
    VIGIL_INSIGHTS_LLM_MODEL: 'fake-1',
  });
  plain = await bootGateway('retail-plain');
  A = await fx.world();
  B = await fx.world();
  // A small store: six weeks, a 25 % promotion in the sixth; the site's zone is New York.
  weeks = retailWeeks({
    start: '2026-09-28',
    weeks: 6,
    promotionWeek: 5,
    promotionLift: 0.25,
    spikes: [],
    base: [100, 104, 108, 120, 152, 200, 180],
  });
  for (const w of [A, B]) {
    const res = await fx.call(w.admin.token, 'PATCH', `/v1/sites/${w.sites[0]}`, { timezone: TZ });
    assert.equal(res.statusCode, 200, res.body);
  }
  await insertEvents(A.tenantId, A.sites[0], weeks.events);
  // Tenant B's store is twice as busy on its one day: none of it may show in A's numbers.
  await insertEvents(B.tenantId, B.sites[0], weeks.byDay.get('2026-10-05')!);
});

after(async () => {
  await plain?.app.close();
  await plain?.deps.close();
  await fx?.close();
  llm?.close();
});

const daily = async (token: string, siteId: string, from: string, to: string, extra = '') =>
  fx.call(token, 'GET', `/v1/metrics/daily?siteId=${siteId}&from=${from}&to=${to}&scope=site${extra}`);

describe('daily metrics', () => {
  test('a recompute writes every day equal to the ground truth; a second one changes nothing', async () => {
    const first = weeks.truth[0]!.day;
    const last = weeks.truth.at(-1)!.day;
    const halves: Array<[string, string]> = [
      [first, weeks.truth[20]!.day],
      [weeks.truth[21]!.day, last],
    ];
    for (const [from, to] of halves) {
      const res = await fx.call(A.operator.token, 'POST', '/v1/metrics/recompute', {
        siteId: A.sites[0],
        from,
        to,
      });
      assert.equal(res.statusCode, 200, res.body);
    }
    const read = async () =>
      (await daily(A.viewer.token, A.sites[0], first, last)).json<{ items: ApiDailyMetrics[] }>().items;
    const items = await read();
    assert.equal(items.length, weeks.truth.length);
    for (const [i, t] of weeks.truth.entries()) {
      const m = items[i]!;
      assert.deepEqual(
        [
          m.day,
          m.footfall,
          m.uniqueVisitorsEstimate,
          m.interactions,
          m.zoneEntries,
          m.dwellMedianS,
          m.peakOccupancy,
          m.peakAt,
          m.hourly,
        ],
        [
          t.day,
          t.footfall,
          t.uniqueVisitors,
          t.interactions,
          t.zoneEntries,
          median(t.dwells),
          t.peakOccupancy,
          new Date(t.peakAtMs).toISOString(),
          t.hourly,
        ],
      );
      assert.ok(Math.abs(m.dwellAvgS! - t.dwells.reduce((a, b) => a + b, 0) / t.dwells.length) < 1e-9);
    }
    const again = await fx.call(A.operator.token, 'POST', '/v1/metrics/recompute', {
      siteId: A.sites[0],
      from: first,
      to: halves[0]![1],
    });
    assert.equal(again.statusCode, 200);
    assert.deepEqual(await read(), items);
    const { rows } = await fx.admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM metrics_daily WHERE site_id = $1 AND scope = $2',
      [A.sites[0], 'site'],
    );
    assert.equal(rows[0]!.n, weeks.truth.length);
  });

  test('a late event (and its redelivery) counts once after the day is recomputed', async () => {
    const day = '2026-09-29';
    const before = (await daily(A.viewer.token, A.sites[0], day, day)).json<{ items: ApiDailyMetrics[] }>()
      .items[0]!;
    const late: PeopleEvent = {
      ...weeks.byDay.get(day)![0]!,
      eventId: 'late-1',
      trackId: 999_999,
      atMs: Date.parse('2026-09-29T23:00:00Z'),
    };
    await insertEvents(A.tenantId, A.sites[0], [late, late]);
    await insertEvents(A.tenantId, A.sites[0], [late]);
    const res = await fx.call(A.operator.token, 'POST', '/v1/metrics/recompute', {
      siteId: A.sites[0],
      from: day,
      to: day,
    });
    assert.equal(res.statusCode, 200, res.body);
    const after = (await daily(A.viewer.token, A.sites[0], day, day)).json<{ items: ApiDailyMetrics[] }>()
      .items[0]!;
    assert.equal(after.footfall, before.footfall + 1);
    assert.equal(after.hourly[19], before.hourly[19]! + 1); // 23:00 UTC is 19:00 in New York (EDT)
  });

  test("another tenant's site is NOT_FOUND, and a restricted viewer sees only their site", async () => {
    const res = await daily(B.admin.token, A.sites[0], '2026-10-05', '2026-10-05');
    assert.equal(res.statusCode, 404);
    const spikes = await fx.call(
      B.admin.token,
      'GET',
      `/v1/analytics/spikes?siteId=${A.sites[0]}&from=2026-10-05&to=2026-10-05`,
    );
    assert.equal(spikes.statusCode, 404);
    const other = await daily(A.siteViewer.token, A.sites[1], '2026-10-05', '2026-10-05');
    assert.equal(other.statusCode, 404);
  });

  test('realtime answers per camera and zone for the site of the caller', async () => {
    const res = await fx.call(A.viewer.token, 'GET', `/v1/metrics/realtime?siteId=${A.sites[0]}`);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<{ siteId: string; items: Array<{ scope: string }> }>();
    assert.equal(body.siteId, A.sites[0]);
    assert.equal(body.items.length === 0 || body.items[0]!.scope === 'site', true);
    assert.equal(
      (await fx.call(B.admin.token, 'GET', `/v1/metrics/realtime?siteId=${A.sites[0]}`)).statusCode,
      404,
    );
  });
});

describe('spikes and promotions', () => {
  test('spikes over HTTP are the pure verdicts over the stored series', async () => {
    const from = weeks.truth[28]!.day;
    const to = weeks.truth.at(-1)!.day;
    const res = await fx.call(
      A.viewer.token,
      'GET',
      `/v1/analytics/spikes?siteId=${A.sites[0]}&from=${from}&to=${to}`,
    );
    assert.equal(res.statusCode, 200, res.body);
    const series = weeks.truth.map((t) => ({
      day: t.day,
      value: t.day === '2026-09-29' ? t.footfall + 1 : t.footfall,
    }));
    const expected = findSpikes(series).filter((v) => v.day >= from && v.day <= to);
    assert.deepEqual(res.json<{ items: unknown[] }>().items, expected);
    assert.ok(expected.length >= 7);
  });

  test('a promotion shows the planted lift against the week before and the same weekdays', async () => {
    const created = await fx.call(A.operator.token, 'POST', '/v1/promotions', {
      name: 'Harvest week',
      from: weeks.promotion.from,
      to: weeks.promotion.to,
      siteIds: [A.sites[0]],
    });
    assert.equal(created.statusCode, 201, created.body);
    const { id } = created.json<{ id: string }>();
    const res = await fx.call(A.viewer.token, 'GET', `/v1/promotions/${id}`);
    assert.equal(res.statusCode, 200, res.body);
    const footfall = res.json<ApiPromotionLift>().lift.find((l) => l.metric === 'footfall')!;
    assert.ok(Math.abs(footfall.previousPeriod.liftPct! - 25) < 0.1, JSON.stringify(footfall));
    assert.ok(Math.abs(footfall.sameWeekdays.liftPct! - 25) < 0.1, JSON.stringify(footfall));
    assert.equal(footfall.previousPeriod.days, 7);
    assert.equal((await fx.call(B.admin.token, 'GET', `/v1/promotions/${id}`)).statusCode, 404);
    const foreign = await fx.call(B.admin.token, 'POST', '/v1/promotions', {
      name: 'x',
      from: weeks.promotion.from,
      to: weeks.promotion.to,
      siteIds: [A.sites[0]],
    });
    assert.equal(foreign.statusCode, 404);
  });
});

describe('insights', () => {
  const period = () => ({ siteId: A.sites[0], from: weeks.promotion.from, to: weeks.promotion.to });

  test('phrased by the model when every number is kept; the request holds only this tenant’s sentences', async () => {
    mode = 'keep';
    requests.length = 0;
    const res = await fx.call(A.operator.token, 'POST', '/v1/insights', period());
    assert.equal(res.statusCode, 201, res.body);
    const insight = res.json<ApiInsights>();
    const promo = insight.findings.find((f) => f.kind === 'promotion_lift')!;
    assert.match(promo.productText, /^footfall \+25\.0% during 'Harvest week'/);
    assert.equal(promo.phrased, true);
    assert.equal(promo.text, rephrase(promo.productText));
    assert.equal(insight.model, 'fake-1');
    assert.equal(requests.length, 1);
    const sent = JSON.parse(JSON.parse(requests[0]!).messages.at(-1).content) as { findings: string[] };
    assert.deepEqual(
      sent.findings,
      insight.findings.map((f) => f.productText),
    );
    for (const id of [A.tenantId, A.sites[0], B.tenantId, B.sites[0]]) assert.ok(!requests[0]!.includes(id));
    // Cached per period: asked again, the same insights, no second request to the model.
    const cached = await fx.call(A.viewer.token, 'GET', `/v1/insights?siteId=${A.sites[0]}`);
    assert.equal(cached.json<{ items: ApiInsights[] }>().items[0]!.id, insight.id);
    assert.equal((await fx.call(A.operator.token, 'POST', '/v1/insights', period())).statusCode, 200);
    assert.equal(requests.length, 1);
  });

  test("a phrasing that alters a number is rejected and Vigil's own sentence is kept", async () => {
    mode = 'alter';
    const res = await fx.call(A.operator.token, 'POST', '/v1/insights', { ...period(), refresh: true });
    assert.equal(res.statusCode, 201, res.body);
    const insight = res.json<ApiInsights>();
    assert.ok(insight.findings.length > 0);
    for (const f of insight.findings) {
      assert.equal(f.phrased, false);
      assert.equal(f.text, f.productText);
    }
    assert.equal(insight.model, null);
  });

  test('without a configured endpoint the insights are still written', async () => {
    const res = await plain.app.inject({
      method: 'POST',
      url: '/v1/insights',
      headers: { authorization: `Bearer ${A.operator.token}` },
      payload: { ...period(), refresh: true },
    });
    assert.equal(res.statusCode, 201, res.body);
    const insight = res.json<ApiInsights>();
    assert.ok(insight.findings.some((f) => f.kind === 'promotion_lift' && f.text === f.productText));
    const own = await phraseFindings(
      [{ kind: 'spike', text: 'footfall +10.0%', figures: {} }],
      null,
      console,
    );
    assert.deepEqual(
      own.findings.map((f) => f.text),
      ['footfall +10.0%'],
    );
  });

  test("another tenant's site answers 404 and their list holds none of it", async () => {
    assert.equal((await fx.call(B.admin.token, 'POST', '/v1/insights', period())).statusCode, 404);
    const list = await fx.call(B.admin.token, 'GET', '/v1/insights?limit=200');
    const items = list.json<{ items: Array<{ siteId: string }> }>().items;
    // B's own world insights only.
    assert.ok(items.length > 0);
    assert.deepEqual(
      items.filter((i) => !B.sites.includes(i.siteId)),
      [],
    );
  });
});
