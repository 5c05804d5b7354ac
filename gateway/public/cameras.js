// Vigil live dashboard, the camera panel: per camera its video state, the people in each zone now
// and today, its recent people events and the overlay image. Plain browser JavaScript beside
// app.js, no third-party code.
// Cameras and zones: GET /v1/cameras, GET /v1/zones. State: GET /v1/cameras/:id/health, kept
// current between reads by camera.online / camera.offline. Occupancy and today's counts per zone:
// GET /v1/metrics/realtime per site, then the people.* events of this panel's own stream
// (/v1/stream?kind=people,camera). The overlay: GET /v1/cameras/:id/overlay, fetched with the
// bearer token (an <img> cannot send one) and shown through an object URL.
// The session is app.js's (sign-in, token refresh): this script only reads the current token, so
// two scripts never spend the same refresh token.
import { storedAccessToken } from './session.js';

const HEALTH_REFRESH_MS = 5_000;
const LIST_REFRESH_MS = 30_000;
const OVERLAY_REFRESH_MS = 2_000;
/** No overlay (no frame yet, a camera that is down): asked again, less often. */
const OVERLAY_RETRY_MS = 10_000;
const STREAM_RETRY_MS = 2_000;
const RECENT_MAX = 8;
const PEOPLE_TYPES = [
  'people.entry',
  'people.exit',
  'people.zone_entry',
  'people.zone_exit',
  'people.product_interaction',
  'people.occupancy',
  'people.crowding_started',
  'people.crowding_ended',
];
const CAMERA_TYPES = ['camera.online', 'camera.offline'];
const STATE_PILL = {
  streaming: 'pill-on',
  starting: 'pill-wait',
  reconnecting: 'pill-wait',
  failed: 'pill-off',
  stopped: 'pill-off',
};
/** What "today" counts for each zone kind (GET /v1/metrics/realtime, then live). */
const TODAY = {
  line: { field: 'footfall', event: 'people.entry', unit: ['in', 'in'] },
  area: { field: 'zoneEntries', event: 'people.zone_entry', unit: ['entry', 'entries'] },
  product: {
    field: 'interactions',
    event: 'people.product_interaction',
    unit: ['interaction', 'interactions'],
  },
};

const $ = (id) => document.getElementById(id);

const panel = {
  running: false,
  /** cameraId → { camera, site, zones, health, occupancy: Map, today: Map, recent: [], overlay } */
  cameras: new Map(),
  source: null,
  lastEventId: null,
  timers: [],
  reloading: null,
};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) node.setAttribute(k, v);
  for (const c of children) node.append(c); // strings become text nodes: no HTML injection
  return node;
}

async function get(path) {
  const token = storedAccessToken();
  if (!token) throw new Error('not signed in');
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    const err = new Error(body?.error?.message ?? `GET ${path}: ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return res;
}

async function allPages(path) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res = await get(`${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    const page = await res.json();
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < 1000);
  return items;
}

// ------------------------------------------------------------------ loading

async function loadCameras() {
  const [sites, cameras, zones] = await Promise.all([
    allPages('/v1/sites'),
    allPages('/v1/cameras'),
    allPages('/v1/zones'),
  ]);
  if (!panel.running) return;
  const siteNames = new Map(sites.map((s) => [s.id, s.name]));
  const seen = new Set();
  for (const camera of cameras) {
    seen.add(camera.id);
    const known = panel.cameras.get(camera.id);
    const entry = known ?? {
      health: null,
      occupancy: new Map(),
      today: new Map(),
      recent: [],
      overlay: overlayFigure(camera),
    };
    entry.camera = camera;
    entry.site = siteNames.get(camera.siteId) ?? '';
    entry.zones = zones
      .filter((z) => z.cameraId === camera.id)
      .sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
    panel.cameras.set(camera.id, entry);
    if (!known) scheduleOverlay(camera.id, 0);
  }
  for (const id of [...panel.cameras.keys()]) if (!seen.has(id)) forget(id);
  await loadToday([...new Set(cameras.map((c) => c.siteId))]);
  await loadHealth();
}

/** Today's counts and the last occupancy per zone, from the stored people events. */
async function loadToday(siteIds) {
  for (const siteId of siteIds) {
    try {
      const rt = await (await get(`/v1/metrics/realtime?siteId=${siteId}`)).json();
      for (const item of rt.items) {
        if (item.scope !== 'zone') continue;
        const entry = panel.cameras.get(item.cameraId);
        const zone = entry?.zones.find((z) => z.id === item.zoneId);
        if (!zone) continue;
        entry.today.set(zone.id, item[TODAY[zone.kind].field]);
        if (item.occupancy !== null && !entry.occupancy.has(zone.id))
          entry.occupancy.set(zone.id, item.occupancy);
      }
    } catch {
      // ClickHouse unavailable or no events yet: the live events fill the counts in
    }
  }
  render();
}

async function loadHealth() {
  await Promise.all(
    [...panel.cameras.keys()].map(async (id) => {
      try {
        const health = await (await get(`/v1/cameras/${id}/health`)).json();
        const entry = panel.cameras.get(id);
        if (entry) entry.health = health;
      } catch {
        // shown as it was; the next read may answer
      }
    }),
  );
  render();
}

function scheduleReload() {
  panel.reloading ??= setTimeout(() => {
    panel.reloading = null;
    if (panel.running) loadCameras().catch(showError);
  }, 300);
}

// ------------------------------------------------------------------ overlay

/** The camera's image and its caption: one pair for the page's life, moved into each new tile. */
function overlayFigure(camera) {
  const img = el('img', { 'data-field': 'overlay', alt: `${camera.name}: the live frame with its zones` });
  img.hidden = true;
  const caption = el('figcaption', { class: 'muted', 'data-field': 'overlay-note' }, 'waiting for a frame');
  return { url: null, timer: null, img, caption, figure: el('figure', { class: 'overlay' }, img, caption) };
}

function scheduleOverlay(id, inMs) {
  const entry = panel.cameras.get(id);
  if (!entry) return;
  clearTimeout(entry.overlay.timer);
  entry.overlay.timer = setTimeout(() => void loadOverlay(id), inMs);
}

async function loadOverlay(id) {
  const entry = panel.cameras.get(id);
  if (!entry || !panel.running) return;
  // A hidden tab fetches no images; it catches up when shown.
  if (document.hidden) return scheduleOverlay(id, OVERLAY_REFRESH_MS);
  try {
    const blob = await (await get(`/v1/cameras/${id}/overlay`)).blob();
    if (!panel.cameras.has(id)) return;
    const previous = entry.overlay.url;
    entry.overlay.url = URL.createObjectURL(blob);
    entry.overlay.img.src = entry.overlay.url;
    entry.overlay.img.hidden = false;
    entry.overlay.caption.textContent = '';
    if (previous) URL.revokeObjectURL(previous);
    scheduleOverlay(id, OVERLAY_REFRESH_MS);
  } catch (err) {
    entry.overlay.caption.textContent = err.status === 404 ? 'no overlay yet' : err.message;
    scheduleOverlay(id, OVERLAY_RETRY_MS);
  }
}

function forget(id) {
  const entry = panel.cameras.get(id);
  if (!entry) return;
  clearTimeout(entry.overlay.timer);
  if (entry.overlay.url) URL.revokeObjectURL(entry.overlay.url);
  panel.cameras.delete(id);
}

// ------------------------------------------------------------------ live stream

function openStream() {
  closeStream();
  const token = storedAccessToken();
  if (!token) return;
  const params = new URLSearchParams({ access_token: token, kind: 'people,camera' });
  if (panel.lastEventId) params.set('lastEventId', panel.lastEventId);
  const source = new EventSource(`/v1/stream?${params}`);
  panel.source = source;
  source.onerror = () => {
    // Closed for good (the token expired): open again with app.js's current token, from the last id.
    if (source !== panel.source || source.readyState !== EventSource.CLOSED) return;
    setTimeout(() => {
      if (source === panel.source && panel.running) openStream();
    }, STREAM_RETRY_MS);
  };
  for (const type of [...PEOPLE_TYPES, ...CAMERA_TYPES]) source.addEventListener(type, onEvent);
}

function closeStream() {
  panel.source?.close();
  panel.source = null;
}

function onEvent(msg) {
  let event;
  try {
    event = JSON.parse(msg.data);
  } catch {
    return;
  }
  panel.lastEventId = msg.lastEventId;
  const d = event.data ?? {};
  const entry = panel.cameras.get(d.cameraId);
  if (!entry) {
    scheduleReload(); // a camera this page has not listed yet
    return;
  }
  if (msg.type === 'camera.online' || msg.type === 'camera.offline') {
    const online = msg.type === 'camera.online';
    entry.health = {
      ...(entry.health ?? {}),
      state: online ? 'streaming' : 'reconnecting',
      lastError: online ? null : d.reason,
    };
  } else {
    const zone = entry.zones.find((z) => z.id === d.zoneId);
    if (msg.type === 'people.occupancy' && d.count !== null) entry.occupancy.set(d.zoneId, d.count);
    if (zone && TODAY[zone.kind].event === msg.type && (zone.kind !== 'line' || d.entrance))
      entry.today.set(zone.id, (entry.today.get(zone.id) ?? 0) + 1);
    if (msg.type !== 'people.occupancy') {
      entry.recent.unshift({ type: msg.type, ts: event.ts, zone: zone?.name ?? d.zoneId, data: d });
      entry.recent.length = Math.min(entry.recent.length, RECENT_MAX);
    }
  }
  render();
}

// ------------------------------------------------------------------ rendering

function showError(err) {
  $('cameras-error').textContent = err ? err.message : '';
}

function describeHealth(h) {
  if (!h || h.framesIn === undefined) return h?.lastError ?? '';
  const parts = [`${h.detectFps.toFixed(1)} frames/s detected`];
  if (h.inferenceMs.p50 !== null) parts.push(`inference ${h.inferenceMs.p50.toFixed(0)} ms`);
  parts.push(`${h.reconnects} reconnects`);
  if (h.lastError) parts.push(h.lastError);
  return parts.join(' · ');
}

function describeEvent(r) {
  const what = r.type.replace('people.', '').replace('_', ' ');
  const track = r.data.trackId !== null ? ` · person ${r.data.trackId}` : '';
  const dwell = r.data.dwellSeconds !== null ? ` · ${r.data.dwellSeconds.toFixed(1)} s` : '';
  const count = r.data.count !== null && r.type !== 'people.occupancy' ? ` · ${r.data.count} people` : '';
  return `${new Date(r.ts).toLocaleTimeString()} ${what} · ${r.zone}${track}${dwell}${count}`;
}

function zoneRow(entry, zone) {
  const today = entry.today.get(zone.id) ?? 0;
  const now = zone.kind === 'line' ? '—' : String(entry.occupancy.get(zone.id) ?? 0);
  return el(
    'tr',
    { 'data-zone': zone.id, 'data-kind': zone.kind },
    el('td', {}, zone.name),
    el('td', { class: 'muted' }, zone.kind === 'line' && zone.entrance ? 'entrance' : zone.kind),
    el('td', { class: 'num', 'data-field': 'occupancy' }, now),
    el(
      'td',
      { class: 'num', 'data-field': 'today' },
      `${today} ${TODAY[zone.kind].unit[today === 1 ? 0 : 1]}`,
    ),
  );
}

function tile(id, entry) {
  const state = entry.health?.state ?? 'starting';
  return el(
    'article',
    { class: 'camera', 'data-camera': id, 'data-state': state },
    el(
      'header',
      {},
      el('strong', {}, entry.camera.name),
      el('span', { class: 'muted' }, entry.site),
      el('span', { class: `pill ${STATE_PILL[state] ?? 'pill-off'}`, 'data-field': 'state' }, state),
    ),
    el(
      'div',
      { class: 'camera-body' },
      entry.overlay.figure,
      el(
        'div',
        {},
        el('p', { class: 'muted', 'data-field': 'health' }, describeHealth(entry.health)),
        el(
          'table',
          { class: 'zones' },
          el('thead', {}, el('tr', {}, ...['Zone', 'Kind', 'Now', 'Today'].map((h) => el('th', {}, h)))),
          el('tbody', {}, ...entry.zones.map((z) => zoneRow(entry, z))),
        ),
        el(
          'ol',
          { class: 'recent', 'data-field': 'recent' },
          ...entry.recent.map((r) => el('li', { 'data-type': r.type }, describeEvent(r))),
        ),
      ),
    ),
  );
}

function render() {
  const list = $('cameras');
  const ids = [...panel.cameras.keys()].sort((a, b) => {
    const x = panel.cameras.get(a);
    const y = panel.cameras.get(b);
    return x.site.localeCompare(y.site) || x.camera.name.localeCompare(y.camera.name);
  });
  // Tiles are rebuilt whole (a few per page); each overlay figure moves into the new tile as it
  // is, so the image never blinks.
  list.replaceChildren(...ids.map((id) => tile(id, panel.cameras.get(id))));
  $('cameras-empty').hidden = ids.length > 0;
}

// ------------------------------------------------------------------ start and stop with the live view

function start() {
  if (panel.running) return;
  panel.running = true;
  showError(null);
  loadCameras()
    .then(() => showError(null))
    .catch(showError);
  openStream();
  panel.timers = [
    setInterval(() => void loadHealth(), HEALTH_REFRESH_MS),
    setInterval(() => scheduleReload(), LIST_REFRESH_MS),
  ];
}

function stop() {
  if (!panel.running) return;
  panel.running = false;
  closeStream();
  for (const t of panel.timers) clearInterval(t);
  panel.timers = [];
  clearTimeout(panel.reloading);
  panel.reloading = null;
  for (const id of [...panel.cameras.keys()]) forget(id);
  panel.lastEventId = null;
  render();
}

// app.js shows the live view once signed in and hides it on sign-out: the panel follows it.
const live = $('live-view');
const follow = () => (live.hidden ? stop() : start());
new MutationObserver(follow).observe(live, { attributes: true, attributeFilter: ['hidden'] });
follow();
