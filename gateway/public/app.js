// Vigil live dashboard: plain browser JavaScript, no build step, no third-party code.
// Session: POST /v1/auth/login → { accessToken, expiresIn, refreshToken }; the access token is
// refreshed shortly before it expires with POST /v1/auth/refresh (rotating refresh token).
// Live data: EventSource on /v1/stream?access_token=…; every event id is its stream sequence,
// so a reconnect asks for exactly what it missed (?lastEventId=).
'use strict';

/** Event types the stream sends; EventSource only delivers named events it listens for. */
const EVENT_TYPES = ['alert.opened', 'alert.updated', 'alert.cleared', 'alert.resolved'];
const SEVERITIES = ['critical', 'warning', 'info'];
const FEED_MAX = 200;
const STORAGE_KEY = 'vigil.session';

const $ = (id) => document.getElementById(id);

const state = {
  session: null, // { accessToken, refreshToken, expiresAt, user }
  refreshTimer: null,
  source: null,
  lastEventId: null,
  /** equipmentId → latest alert seen for the unit */
  units: new Map(),
  /** alertId → severity, for alerts not yet resolved */
  openAlerts: new Map(),
  /** equipmentId → display name */
  unitNames: new Map(),
  /** equipmentId → fleet board row from GET /v1/fleet (latest reading, open alerts) */
  board: new Map(),
  boardTimer: null,
};

const BOARD_REFRESH_MS = 5_000;

// ------------------------------------------------------------------ session

function saveSession(body) {
  state.session = {
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
    expiresAt: Date.now() + body.expiresIn * 1000,
    user: body.user,
  };
  // sessionStorage: survives a reload of this tab, never shared with other tabs or kept on disk.
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(state.session));
  scheduleRefresh();
}

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  const inMs = Math.max(5_000, state.session.expiresAt - Date.now() - 60_000);
  state.refreshTimer = setTimeout(() => {
    refresh().catch(() => logout('session expired'));
  }, inMs);
}

async function refresh() {
  const res = await fetch('/v1/auth/refresh', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken: state.session.refreshToken }),
  });
  if (!res.ok) throw new Error(`refresh failed: ${res.status}`);
  saveSession(await res.json());
}

async function login(email, password) {
  const res = await fetch('/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `login failed (${res.status})`);
  saveSession(body);
}

function logout(reason) {
  const token = state.session?.refreshToken;
  if (token) {
    fetch('/v1/auth/logout', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${state.session.accessToken}` },
      body: JSON.stringify({ refreshToken: token }),
    }).catch(() => undefined);
  }
  clearTimeout(state.refreshTimer);
  clearInterval(state.boardTimer);
  closeStream();
  state.session = null;
  sessionStorage.removeItem(STORAGE_KEY);
  showLogin(reason ?? '');
}

async function api(path) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${state.session.accessToken}` } });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

// ------------------------------------------------------------------ live stream

function setConnection(kind, text) {
  const pill = $('conn');
  pill.className = `pill pill-${kind}`;
  pill.textContent = text;
}

function closeStream() {
  if (state.source) state.source.close();
  state.source = null;
}

function openStream() {
  closeStream();
  const params = new URLSearchParams({ access_token: state.session.accessToken });
  // A new EventSource does not send Last-Event-ID; the query parameter carries the resume point.
  if (state.lastEventId) params.set('lastEventId', state.lastEventId);
  const resumed = state.lastEventId;
  const source = new EventSource(`/v1/stream?${params}`);
  state.source = source;
  setConnection('wait', 'connecting');

  source.onopen = () => {
    setConnection('on', 'live');
    if (resumed) addNote(`reconnected: resuming after event #${resumed}`);
  };
  source.onerror = () => {
    if (source !== state.source) return;
    if (source.readyState === EventSource.CONNECTING) {
      // The browser retries by itself, sending Last-Event-ID.
      setConnection('wait', 'reconnecting');
      return;
    }
    // Closed for good (e.g. the token expired): refresh and reopen from the last id.
    setConnection('off', 'offline');
    setTimeout(() => {
      if (source !== state.source) return;
      refresh()
        .then(openStream)
        .catch(() => logout('session expired'));
    }, 2000);
  };
  for (const type of EVENT_TYPES) source.addEventListener(type, onEvent);
}

function onEvent(msg) {
  let event;
  try {
    event = JSON.parse(msg.data);
  } catch {
    return;
  }
  state.lastEventId = msg.lastEventId;
  $('last-id').textContent = `last event #${msg.lastEventId}`;
  addFeedItem(msg.lastEventId, msg.type, event);
  if (msg.type.startsWith('alert.')) applyAlert(msg.type, event);
}

// ------------------------------------------------------------------ rendering

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) node.setAttribute(k, v);
  for (const c of children) node.append(c); // strings become text nodes: no HTML injection
  return node;
}

function time(ms) {
  return new Date(ms).toLocaleTimeString();
}

function unitName(equipmentId) {
  return state.unitNames.get(equipmentId) ?? equipmentId.slice(0, 8);
}

function addFeedItem(id, type, event) {
  const data = event.data ?? {};
  const sev = data.severity ? `sev-${data.severity}` : '';
  const what = data.equipmentId
    ? `${unitName(data.equipmentId)}: ${data.message ?? ''}`
    : JSON.stringify(data);
  const item = el(
    'li',
    {},
    el('span', { class: 'id' }, `#${id}`),
    el('span', { class: `type ${sev}` }, type),
    el('span', {}, `${time(event.ts)} — ${what}`),
  );
  prepend(item);
}

function addNote(text) {
  prepend(el('li', { class: 'note' }, `${new Date().toLocaleTimeString()} — ${text}`));
}

function prepend(item) {
  const feed = $('feed');
  feed.prepend(item);
  while (feed.children.length > FEED_MAX) feed.lastChild.remove();
}

function applyAlert(type, event) {
  const d = event.data;
  if (!d?.alertId) return;
  if (type === 'alert.resolved') state.openAlerts.delete(d.alertId);
  else state.openAlerts.set(d.alertId, d.severity);
  const stateText = {
    'alert.opened': 'open',
    'alert.updated': 'open',
    'alert.cleared': 'cleared',
    'alert.resolved': 'resolved',
  }[type];
  state.units.set(d.equipmentId, {
    severity: d.severity,
    state: stateText,
    message: d.message,
    since: d.openedAt,
  });
  renderFleet();
  renderCounts();
}

function renderCounts() {
  const counts = { critical: 0, warning: 0, info: 0 };
  for (const sev of state.openAlerts.values()) if (sev in counts) counts[sev]++;
  for (const sev of SEVERITIES) $(`count-${sev}`).textContent = String(counts[sev]);
}

function fmtTemp(v) {
  return typeof v === 'number' ? `${v.toFixed(1)} °C` : '—';
}

function age(iso) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 90 ? `${s}s ago` : `${Math.round(s / 60)} min ago`;
}

/** Compressor, defrost and door as short words: readable without a legend. */
function flags(r) {
  if (!r) return '';
  const out = [];
  if (r.heater) out.push('defrost');
  else if (r.compressor) out.push('cooling');
  if (r.door) out.push('door open');
  return out.join(' · ');
}

function renderFleet() {
  // Every unit from the board, plus any unit the stream mentioned that the board has not shown yet.
  const ids = new Set([...state.board.keys(), ...state.units.keys()]);
  const rank = (id) => {
    const a = state.units.get(id);
    if (a && a.state !== 'resolved') return SEVERITIES.indexOf(a.severity);
    return 9;
  };
  const rows = [...ids].sort((x, y) => rank(x) - rank(y) || unitName(x).localeCompare(unitName(y)));
  const body = $('fleet');
  body.replaceChildren(
    ...rows.map((id) => {
      const b = state.board.get(id);
      const r = b?.lastReading ?? null;
      const a = state.units.get(id);
      const open = a && a.state !== 'resolved';
      const warm =
        r &&
        typeof r.temperature === 'number' &&
        typeof b.setpoint === 'number' &&
        r.temperature > b.setpoint + 2;
      return el(
        'tr',
        {},
        el('td', {}, unitName(id)),
        el(
          'td',
          { class: warm ? 'warm' : '' },
          fmtTemp(r?.temperature),
          el('span', { class: 'muted' }, b?.setpoint != null ? ` / ${fmtTemp(b.setpoint)}` : ''),
        ),
        el('td', { class: 'muted' }, flags(r)),
        el(
          'td',
          { class: open ? `sev-${a.severity}` : 'muted' },
          open ? `${a.severity}: ${a.message ?? ''}` : a ? `resolved` : 'ok',
        ),
        el('td', { class: 'muted' }, age(r?.ts)),
      );
    }),
  );
  $('fleet-empty').hidden = rows.length > 0;
}

async function loadBoard() {
  const units = [];
  let cursor = null;
  do {
    const page = await api(`/v1/fleet?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    units.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && units.length < 1000);
  state.board = new Map(units.map((u) => [u.id, u]));
  for (const u of units) state.unitNames.set(u.id, u.name);
  renderFleet();
}

function startBoard() {
  clearInterval(state.boardTimer);
  state.boardTimer = setInterval(() => {
    if (state.session) loadBoard().catch(() => undefined);
  }, BOARD_REFRESH_MS);
}

/** Start from what is open now (REST), then keep up with the stream. Missing endpoints are fine. */
async function loadInitialState() {
  try {
    await loadBoard();
  } catch {
    // the board refreshes on its own; ids are shown until names arrive
  }
  try {
    const alerts = await api('/v1/alerts?status=open&limit=200');
    for (const a of alerts.items ?? []) {
      state.openAlerts.set(a.id, a.severity);
      const known = state.units.get(a.equipmentId);
      const since = Date.parse(a.openedAt);
      if (!known || known.since < since) {
        state.units.set(a.equipmentId, { severity: a.severity, state: a.status, message: a.message, since });
      }
    }
  } catch {
    // the live stream still fills the panels
  }
  renderFleet();
  renderCounts();
}

// ------------------------------------------------------------------ views

function showLogin(message) {
  $('login-view').hidden = false;
  $('live-view').hidden = true;
  $('session').hidden = true;
  $('login-error').textContent = message;
}

function showLive() {
  $('login-view').hidden = true;
  $('live-view').hidden = false;
  $('session').hidden = false;
  const u = state.session.user;
  $('whoami').textContent = u ? `${u.email} (${u.role})` : '';
  void loadInitialState();
  startBoard();
  openStream();
}

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    $('login-error').textContent = '';
    login(String(form.get('email')), String(form.get('password')))
      .then(showLive)
      .catch((err) => {
        $('login-error').textContent = err.message;
      });
  });
  $('logout').addEventListener('click', () => logout(''));
  $('reconnect').addEventListener('click', () => {
    addNote(`stream dropped by you after event #${state.lastEventId ?? '—'}`);
    openStream();
  });

  const saved = sessionStorage.getItem(STORAGE_KEY);
  if (saved) {
    state.session = JSON.parse(saved);
    refresh()
      .then(showLive)
      .catch(() => logout(''));
  } else {
    showLogin('');
  }
});
