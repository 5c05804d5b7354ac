/**
 * The temperature log export (issue 9): CSV rows that match the stored readings at the chosen
 * interval, the unit's excursion and corrective actions, and a PDF that parses and says the
 * same. Tenant and site scope as every other read.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { extractText, getDocumentProxy } from 'unpdf';
import { apiFixture, json, type ApiFixture, type World } from '../helpers/app.ts';

const MIN = 60_000;
const start = Math.floor(Date.now() / (15 * MIN)) * 15 * MIN - 2 * 60 * MIN;

let fx: ApiFixture;
let A: World;
let B: World;

before(async () => {
  fx = await apiFixture();
  [A, B] = [await fx.world(), await fx.world()];
  for (let i = 0; i < 24; i++) {
    await fx.admin.query(
      'INSERT INTO telemetry (tenant_id, equipment_id, ts, temperature) VALUES ($1, $2, $3, $4)',
      [A.tenantId, A.equipment[0], new Date(start + i * 5 * MIN), -20 + (i % 6)],
    );
  }
  const ack = await fx.call(A.operator.token, 'POST', `/v1/alerts/${A.alerts[0]}/ack`, {
    note: 'door left ajar; closed, product checked',
  });
  assert.equal(ack.statusCode, 200, ack.body);
});

after(() => fx?.close());

const query = (format: string, scope = `equipmentId=${A.equipment[0]}`) =>
  `/v1/exports/temperature-log?${scope}&from=${new Date(start).toISOString()}` +
  `&to=${new Date(Date.now() + MIN).toISOString()}&interval=15m&format=${format}`;

function sections(csv: string): string[][][] {
  return csv
    .trimEnd()
    .split('\r\n\r\n')
    .map((block) => block.split('\r\n').map((line) => line.split(',')));
}

test('the CSV holds the readings per interval as stored, the excursion and the corrective actions', async () => {
  const res = await fx.call(A.viewer.token, 'GET', query('csv'));
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^text\/csv/);
  const [readings, excursions, actions] = sections(res.body);
  const { rows } = await fx.admin.query<{ at: Date; n: number; min: number; avg: number; max: number }>(
    `SELECT date_bin(interval '15 minutes', ts, $2::timestamptz) AS at, count(*)::int AS n,
            min(temperature) AS min, avg(temperature) AS avg, max(temperature) AS max
     FROM telemetry WHERE equipment_id = $1 GROUP BY 1 ORDER BY 1`,
    [A.equipment[0], new Date(start)],
  );
  assert.equal(rows.length, 8);
  assert.deepEqual(
    readings!.slice(1).map((r) => [r[0], r[3], Number(r[4]), Number(r[5]), Number(r[6]), Number(r[7])]),
    rows.map((r) => ['reading', r.at.toISOString(), r.n, r.min, Math.round(r.avg * 100) / 100, r.max]),
  );
  assert.deepEqual(
    excursions!.slice(1).map((e) => [e[0], e[2], e[3], e[4]]),
    [['excursion', A.alerts[0], 'high_temp', 'critical']],
  );
  const kinds = actions!.slice(1).map((a) => a[3]);
  assert.deepEqual(kinds.sort(), ['acknowledged', 'maintenance:cleaning']);
  assert.match(res.body, /door left ajar; closed, product checked/);
});

test('the PDF parses and carries the same log', async () => {
  const res = await fx.call(A.viewer.token, 'GET', query('pdf'));
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'application/pdf');
  const pdf = await getDocumentProxy(new Uint8Array(res.rawPayload));
  const { text } = await extractText(pdf, { mergePages: true });
  for (const expected of [
    'Temperature log',
    'Freezer',
    'Readings',
    'Excursions',
    'high_temp',
    'door left ajar',
  ])
    assert.ok(text.includes(expected), `the PDF lacks "${expected}"`);
});

test('another tenant, or a site the user may not see, is 404; a bad request is 400', async () => {
  const foreign = await fx.call(B.admin.token, 'GET', query('csv'));
  assert.equal(foreign.statusCode, 404);
  const site = await fx.call(A.siteViewer.token, 'GET', query('csv', `siteId=${A.sites[1]}`));
  assert.equal(site.statusCode, 404);
  const both = await fx.call(
    A.viewer.token,
    'GET',
    query('csv', `siteId=${A.sites[0]}&equipmentId=${A.equipment[0]}`),
  );
  assert.equal(both.statusCode, 400);
  assert.equal(json<{ error: { code: string } }>(both).error.code, 'VALIDATION_FAILED');
});
