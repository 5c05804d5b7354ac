// Vigil store metrics: a site's daily people metrics, its unusual days, the lift of its
// promotions and the insights written about them. Plain browser JavaScript, no third-party code.
// Every number shown comes from the API as it is; the page only sums and averages days for the tiles.
import { api, loadSession } from './session.js';

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const CHARTS = ['footfall', 'dwellAvgS', 'interactions'];
const LIFT_METRICS = ['footfall', 'dwellAvgS', 'interactions'];
const DEFAULT_DAYS = 28;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) node.setAttribute(k, v);
  for (const c of children) node.append(c); // strings become text nodes: no HTML injection
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) node.setAttribute(k, String(v));
  for (const c of children) node.append(c);
  return node;
}

const fmt = (v, digits = 0) => (typeof v === 'number' ? v.toFixed(digits) : '—');
const pct = (v) => (typeof v === 'number' ? `${v >= 0 ? '+' : ''}${v.toFixed(1)} %` : '—');

/** Today in the site's zone, `YYYY-MM-DD` (en-CA formats dates that way). */
function today(timezone) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: timezone }).format(new Date());
}

function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

async function allPages(path) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api(`${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < 2000);
  return items;
}

// ------------------------------------------------------------------ loading

const state = { sites: [], siteId: null, from: null, to: null };

async function load() {
  const { siteId, from, to } = state;
  const q = `siteId=${siteId}&from=${from}&to=${to}`;
  $('status').textContent = 'loading…';
  const [daily, spikes, promotions, insights] = await Promise.all([
    api(`/v1/metrics/daily?${q}&scope=site`),
    Promise.all(CHARTS.map((m) => api(`/v1/analytics/spikes?${q}&metric=${m}`))),
    allPages('/v1/promotions'),
    allPages(`/v1/insights?siteId=${siteId}`),
  ]);
  const ours = promotions.filter((p) => p.siteIds.includes(siteId) && p.from <= to && p.to >= from);
  const lifts = await Promise.all(ours.map((p) => api(`/v1/promotions/${p.id}`)));
  const days = daily.items.filter((d) => d.scope === 'site');
  const spikeDays = new Map(
    spikes.map((s) => [s.metric, new Set(s.items.filter((i) => i.spike).map((i) => i.day))]),
  );
  renderTiles(days, spikeDays.get('footfall'));
  for (const metric of CHARTS) renderChart(metric, days, spikeDays.get(metric), lifts);
  renderDays(days, spikeDays.get('footfall'));
  renderPromotions(lifts);
  renderInsights(insights.filter((i) => i.siteId === siteId && i.from <= to && i.to >= from));
  $('status').textContent = `${days.length} days with data`;
  document.body.dataset.loaded = `${siteId}/${from}/${to}`;
}

// ------------------------------------------------------------------ rendering

function renderTiles(days, spikes) {
  const sum = (k) => days.reduce((a, d) => a + (d[k] ?? 0), 0);
  $('total-footfall').textContent = String(sum('footfall'));
  $('total-interactions').textContent = String(sum('interactions'));
  // Dwell over the range: each day's average weighted by its zone entries, i.e. the mean visit.
  const visits = days.filter((d) => d.dwellAvgS !== null && d.zoneEntries > 0);
  const entries = visits.reduce((a, d) => a + d.zoneEntries, 0);
  $('avg-dwell').textContent =
    entries > 0 ? fmt(visits.reduce((a, d) => a + d.dwellAvgS * d.zoneEntries, 0) / entries, 1) : '—';
  const peak = days.reduce(
    (best, d) => (d.peakOccupancy !== null && d.peakOccupancy > (best?.peakOccupancy ?? -1) ? d : best),
    null,
  );
  $('peak-occupancy').textContent = peak ? String(peak.peakOccupancy) : '—';
  $('peak-at').textContent = peak?.peakAt
    ? `peak occupancy, ${new Date(peak.peakAt).toLocaleString()}`
    : 'peak occupancy';
  $('spike-count').textContent = String(spikes?.size ?? 0);
}

function renderChart(metric, days, spikes, promotions) {
  const chart = $(`chart-${metric}`);
  const W = 800;
  const H = 160;
  const pad = { left: 34, bottom: 16, top: 6 };
  chart.setAttribute('viewBox', `0 0 ${W} ${H}`);
  chart.setAttribute('preserveAspectRatio', 'none');
  const values = days.map((d) => d[metric] ?? 0);
  const max = Math.max(1, ...values);
  const slot = (W - pad.left) / Math.max(1, days.length);
  const y = (v) => H - pad.bottom - (v / max) * (H - pad.bottom - pad.top);
  const nodes = [];
  // Promotion periods behind the bars.
  for (const p of promotions) {
    const first = days.findIndex((d) => d.day >= p.from);
    const last = days.findLastIndex((d) => d.day <= p.to);
    if (first < 0 || last < first) continue;
    nodes.push(
      svg(
        'rect',
        {
          class: 'promo',
          x: pad.left + first * slot,
          y: pad.top,
          width: (last - first + 1) * slot,
          height: H - pad.bottom - pad.top,
        },
        svg('title', {}, p.name),
      ),
    );
  }
  days.forEach((d, i) => {
    const v = d[metric] ?? 0;
    const spike = spikes?.has(d.day) ?? false;
    nodes.push(
      svg(
        'rect',
        {
          class: spike ? 'bar spike' : 'bar',
          'data-day': d.day,
          'data-value': v,
          x: pad.left + i * slot + slot * 0.1,
          y: y(v),
          width: slot * 0.8,
          height: H - pad.bottom - y(v),
        },
        svg(
          'title',
          {},
          `${d.day}: ${fmt(d[metric], metric === 'dwellAvgS' ? 1 : 0)}${spike ? ' (spike)' : ''}`,
        ),
      ),
    );
  });
  nodes.push(svg('text', { class: 'axis', x: 2, y: pad.top + 8 }, fmt(max, metric === 'dwellAvgS' ? 1 : 0)));
  nodes.push(svg('text', { class: 'axis', x: 2, y: H - pad.bottom }, '0'));
  if (days.length > 0) {
    nodes.push(svg('text', { class: 'axis', x: pad.left, y: H - 3 }, days[0].day));
    nodes.push(svg('text', { class: 'axis', x: W - 62, y: H - 3 }, days.at(-1).day));
  }
  chart.replaceChildren(...nodes);
}

function renderDays(days, spikes) {
  $('days').replaceChildren(
    ...days.map((d) => {
      const spike = spikes?.has(d.day) ?? false;
      const cell = (k, digits = 0) => el('td', { class: 'num', 'data-metric': k }, fmt(d[k], digits));
      return el(
        'tr',
        { 'data-day': d.day, class: spike ? 'spike' : '' },
        el('td', {}, d.day),
        cell('footfall'),
        cell('uniqueVisitorsEstimate'),
        cell('dwellAvgS', 1),
        cell('dwellMedianS', 1),
        cell('interactions'),
        cell('peakOccupancy'),
        el('td', {}, spike ? 'spike' : ''),
      );
    }),
  );
}

function renderPromotions(lifts) {
  const rows = [];
  for (const p of lifts) {
    for (const l of p.lift.filter((x) => LIFT_METRICS.includes(x.metric))) {
      rows.push(
        el(
          'tr',
          { 'data-promotion': p.id, 'data-metric': l.metric },
          el('td', {}, p.name),
          el('td', {}, `${p.from} – ${p.to}`),
          el('td', {}, l.metric),
          el('td', { class: 'num' }, fmt(l.previousPeriod.during, 1)),
          el('td', { class: 'num' }, fmt(l.previousPeriod.baseline, 1)),
          el('td', { class: 'num lift-previous' }, pct(l.previousPeriod.liftPct)),
          el('td', { class: 'num lift-weekdays' }, pct(l.sameWeekdays.liftPct)),
        ),
      );
    }
  }
  $('promotions').replaceChildren(...rows);
  $('promotions-empty').hidden = rows.length > 0;
}

function renderInsights(sets) {
  const newest = sets[0];
  const items = newest ? newest.findings.map((f) => el('li', { 'data-kind': f.kind }, f.text)) : [];
  $('insights').replaceChildren(...items);
  $('insights-empty').hidden = items.length > 0;
}

// ------------------------------------------------------------------ controls

function readForm() {
  state.siteId = $('site').value;
  state.from = $('from').value;
  state.to = $('to').value;
  const params = new URLSearchParams({ siteId: state.siteId, from: state.from, to: state.to });
  history.replaceState(null, '', `/store-metrics?${params}`);
}

function show(err) {
  $('status').textContent = err.message;
}

async function start() {
  const session = loadSession();
  if (!session) {
    $('signed-out').hidden = false;
    return;
  }
  $('metrics-view').hidden = false;
  $('whoami').textContent = session.user ? `${session.user.email} (${session.user.role})` : '';
  if (session.user?.role === 'viewer') $('write-insights').hidden = true;
  state.sites = await allPages('/v1/sites');
  $('site').replaceChildren(...state.sites.map((s) => el('option', { value: s.id }, s.name)));
  // A link may name the site and range; otherwise the first site and its last four weeks.
  const params = new URLSearchParams(location.search);
  const site = state.sites.find((s) => s.id === params.get('siteId')) ?? state.sites[0];
  if (!site) {
    $('status').textContent = 'No sites yet.';
    return;
  }
  $('site').value = site.id;
  const to = params.get('to') ?? today(site.timezone);
  $('to').value = to;
  $('from').value = params.get('from') ?? addDays(to, -(DEFAULT_DAYS - 1));
  readForm();
  await load();
}

document.addEventListener('DOMContentLoaded', () => {
  $('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    readForm();
    load().catch(show);
  });
  $('write-insights').addEventListener('click', () => {
    $('status').textContent = 'writing insights…';
    api('/v1/insights', { method: 'POST', body: { siteId: state.siteId, from: state.from, to: state.to } })
      .then(load)
      .catch(show);
  });
  start().catch(show);
});
