// Vigil live dashboard: plain browser JavaScript, no build step, no third-party code.
// Session: POST /v1/auth/login → { accessToken, expiresIn, refreshToken }; the access token is
// refreshed shortly before it expires with POST /v1/auth/refresh (rotating refresh token).
// Live data: EventSource on /v1/stream?access_token=…; every event id is its stream sequence,
// so a reconnect asks for exactly what it missed (?lastEventId=).
// Alerts: GET /v1/alerts?status=open, acknowledged with POST /v1/alerts/:id/ack and resolved
// with a note by POST /v1/alerts/:id/resolve. A unit's detail: GET /v1/equipment/:id/state
// (its live rule phases and timers, carried state, open alerts), read again when the stream
// says its state changed (`equipment.state`) or one of its alerts moved.
'use strict';

/** Event types the stream sends; EventSource only delivers named events it listens for. */
const EVENT_TYPES = [
  'alert.opened',
  'alert.updated',
  'alert.cleared',
  'alert.resolved',
  // A person's action, on this page or another: acknowledged (perhaps releasing a latched
  // alert: then its status is resolved), resolved by hand, or snoozed.
  'alert.acknowledged',
  'alert.closed',
  'alert.snoozed',
];
/** A person's action on an alert, as the feed words it (the event names the alert, not the text). */
const PERSON_ACTIONS = {
  'alert.acknowledged': 'acknowledged',
  'alert.closed': 'resolved',
  'alert.snoozed': 'snoozed',
};
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
  /** alertId → open alert (GET /v1/alerts?status=open), for the alerts panel */
  alerts: new Map(),
  alertsTimer: null,
  /** The unit whose detail is shown, its latest state, and the pending re-read */
  unit: null,
  unitState: null,
  unitTimer: null,
  /** The alert the resolve dialog is for */
  resolving: null,
};

const BOARD_REFRESH_MS = 5_000;
/** Coalesce bursts of stream events into one re-read. */
const RELOAD_DELAY_MS = 300;
/** Roles that may acknowledge and resolve alerts (viewers may not). */
const ACTING_ROLES = ['operator', 'tenant_admin', 'platform_admin'];

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
  clearTimeout(state.alertsTimer);
  closeUnit();
  closeStream();
  state.session = null;
  sessionStorage.removeItem(STORAGE_KEY);
  showLogin(reason ?? '');
}

async function api(path, method = 'GET', body = undefined) {
  const headers = { authorization: `Bearer ${state.session.accessToken}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    // The error envelope says why (e.g. INVALID_STATE: someone else resolved it first).
    const err = await res.json().catch(() => null);
    throw new Error(err?.error?.message ?? `${method} ${path}: ${res.status}`);
  }
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
  source.addEventListener('equipment.state', onUnitNotice);
}

/** A unit's phases changed: re-read its detail if it is the one shown. No id, not in the feed. */
function onUnitNotice(msg) {
  const event = eventOf(msg);
  if (event && event.data?.equipmentId === state.unit) scheduleUnitReload();
}

/** A stream message's JSON body, or null when it is not JSON (such a message is ignored). */
function eventOf(msg) {
  try {
    return JSON.parse(msg.data);
  } catch {
    return null;
  }
}

function onEvent(msg) {
  const event = eventOf(msg);
  if (!event) return;
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
  const what = PERSON_ACTIONS[type]
    ? `${alertSubject(data)}: ${data.ruleKey} ${PERSON_ACTIONS[type]}${data.note ? ` (${data.note})` : ''}`
    : data.equipmentId
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
  const person = Object.hasOwn(PERSON_ACTIONS, type);
  const ended = type === 'alert.resolved' || (person && d.status === 'resolved');
  if (ended) state.openAlerts.delete(d.alertId);
  else if (!person) state.openAlerts.set(d.alertId, d.severity);
  const stateText = {
    'alert.opened': 'open',
    'alert.updated': 'open',
    'alert.cleared': 'cleared',
    'alert.resolved': 'resolved',
  }[type];
  // A camera's alert has no unit on the fleet board. A person's action changes the unit's row
  // only when it ends the alert the row shows (not an older one of the unit).
  const unit = d.equipmentId ? state.units.get(d.equipmentId) : undefined;
  if (d.equipmentId && !person)
    state.units.set(d.equipmentId, {
      alertId: d.alertId,
      severity: d.severity,
      state: stateText,
      message: d.message,
      since: d.openedAt,
    });
  else if (ended && unit?.alertId === d.alertId) unit.state = 'resolved';
  renderFleet();
  renderCounts();
  scheduleAlertsReload();
  if (d.equipmentId === state.unit) scheduleUnitReload();
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
      const row = el(
        'tr',
        { class: id === state.unit ? 'clickable selected' : 'clickable', title: 'show the unit' },
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
      row.addEventListener('click', () => openUnit(id));
      return row;
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
    if (!state.session) return;
    loadBoard().catch(() => undefined);
    // Timers and the last reading move without a phase change: keep the shown unit current too.
    if (state.unit) loadUnit().catch(() => undefined);
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
    const alerts = await loadAlerts();
    for (const a of alerts) {
      state.openAlerts.set(a.id, a.severity);
      if (!a.equipmentId) continue; // a camera's: not on the fleet board
      const known = state.units.get(a.equipmentId);
      const since = Date.parse(a.openedAt);
      if (!known || known.since < since) {
        state.units.set(a.equipmentId, {
          alertId: a.id,
          severity: a.severity,
          state: a.status,
          message: a.message,
          since,
        });
      }
    }
  } catch {
    // the live stream still fills the panels
  }
  renderFleet();
  renderCounts();
}

// ------------------------------------------------------------------ alerts: acknowledge, resolve

/** What an alert is about: a unit's name, or the camera (camera alerts carry no unit). */
function alertSubject(a) {
  return a.equipmentId ? unitName(a.equipmentId) : `camera ${a.cameraId?.slice(0, 8) ?? ''}`;
}

function canAct() {
  return ACTING_ROLES.includes(state.session?.user?.role);
}

async function loadAlerts() {
  const items = [];
  let cursor = null;
  do {
    const page = await api(`/v1/alerts?status=open&limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < 1000);
  state.alerts = new Map(items.map((a) => [a.id, a]));
  renderAlerts($('alerts-list'), items);
  $('alerts-empty').hidden = items.length > 0;
  return items;
}

function scheduleAlertsReload() {
  clearTimeout(state.alertsTimer);
  state.alertsTimer = setTimeout(() => {
    if (state.session) loadAlerts().catch(() => undefined);
  }, RELOAD_DELAY_MS);
}

/** Rows of open alerts, each with what the user may do to it. */
function renderAlerts(body, alerts) {
  const ranked = [...alerts].sort(
    (x, y) =>
      SEVERITIES.indexOf(x.severity) - SEVERITIES.indexOf(y.severity) || y.openedAt.localeCompare(x.openedAt),
  );
  body.replaceChildren(
    ...ranked.map((a) => {
      // A camera's alert (camera_offline) has no unit to open.
      const unit = a.equipmentId
        ? el('button', { type: 'button', class: 'link' }, alertSubject(a))
        : el('span', {}, alertSubject(a));
      if (a.equipmentId) unit.addEventListener('click', () => openUnit(a.equipmentId));
      const actions = el('td', { class: 'actions' });
      if (canAct()) {
        if (a.status === 'active') {
          const ack = el(
            'button',
            { type: 'button', 'data-action': 'ack', 'data-alert': a.id },
            'Acknowledge',
          );
          ack.addEventListener('click', () => acknowledge(a, ack));
          actions.append(ack);
        }
        const res = el(
          'button',
          { type: 'button', 'data-action': 'resolve', 'data-alert': a.id },
          'Resolve…',
        );
        res.addEventListener('click', () => askResolve(a));
        actions.append(res);
      }
      const status =
        a.snoozedUntil && Date.parse(a.snoozedUntil) > Date.now() ? `${a.status}, snoozed` : a.status;
      return el(
        'tr',
        { 'data-alert': a.id },
        el('td', {}, unit),
        el('td', { class: `sev-${a.severity}` }, a.severity),
        el('td', {}, `${a.ruleKey}: ${a.message}`),
        el('td', {}, status),
        el('td', { class: 'muted' }, new Date(a.openedAt).toLocaleString()),
        actions,
      );
    }),
  );
}

function showAlertError(message) {
  $('alert-error').textContent = message;
  if (state.unit) $('unit-error').textContent = message;
}

async function acknowledge(alert, button) {
  button.disabled = true;
  showAlertError('');
  try {
    await api(`/v1/alerts/${alert.id}/ack`, 'POST', {});
    addNote(`${alertSubject(alert)}: ${alert.ruleKey} acknowledged`);
  } catch (err) {
    showAlertError(err.message);
  } finally {
    button.disabled = false;
    await afterAlertAction(alert);
  }
}

function askResolve(alert) {
  state.resolving = alert;
  $('resolve-what').textContent = `${alertSubject(alert)} — ${alert.ruleKey}: ${alert.message}`;
  $('resolve-form').reset();
  $('resolve-dialog').showModal();
}

async function resolve(note) {
  const alert = state.resolving;
  state.resolving = null;
  if (!alert) return;
  showAlertError('');
  try {
    await api(`/v1/alerts/${alert.id}/resolve`, 'POST', { note });
    addNote(`${alertSubject(alert)}: ${alert.ruleKey} resolved (${note})`);
    forgetResolved(alert);
  } catch (err) {
    showAlertError(err.message);
  }
  await afterAlertAction(alert);
}

/**
 * Take an alert resolved here off the counts and the fleet board at once; its `alert.closed`,
 * which every other dashboard acts on, follows on the stream.
 */
function forgetResolved(alert) {
  state.openAlerts.delete(alert.id);
  const unit = state.units.get(alert.equipmentId);
  if (unit?.alertId === alert.id) unit.state = 'resolved';
  renderFleet();
  renderCounts();
}

/** Read what changed now rather than waiting for the stream (the action's own events follow). */
async function afterAlertAction(alert) {
  await loadAlerts().catch(() => undefined);
  if (alert.equipmentId === state.unit) await loadUnit().catch(() => undefined);
}

// ------------------------------------------------------------------ unit detail

function openUnit(id) {
  state.unit = id;
  state.unitState = null;
  $('unit-view').hidden = false;
  $('unit-name').textContent = unitName(id);
  $('unit-error').textContent = '';
  renderFleet();
  loadUnit()
    .then(() => $('unit-view').scrollIntoView({ block: 'nearest' }))
    .catch((err) => {
      $('unit-error').textContent = err.message;
    });
}

function closeUnit() {
  state.unit = null;
  state.unitState = null;
  clearTimeout(state.unitTimer);
  $('unit-view').hidden = true;
  renderFleet();
}

async function loadUnit() {
  const id = state.unit;
  if (!id) return;
  const s = await api(`/v1/equipment/${id}/state`);
  if (id !== state.unit) return; // another unit was opened meanwhile
  state.unitState = s;
  renderUnit(s);
}

function scheduleUnitReload() {
  clearTimeout(state.unitTimer);
  state.unitTimer = setTimeout(() => {
    if (state.session && state.unit) loadUnit().catch(() => undefined);
  }, RELOAD_DELAY_MS);
}

function onOff(v, on, off) {
  return v === null || v === undefined ? '—' : v ? on : off;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '—';
}

function renderUnit(s) {
  $('unit-name').textContent = unitName(s.equipmentId);
  const actor = $('unit-actor');
  actor.textContent = `${s.actor.status} · partition ${s.actor.partition}`;
  actor.className = `pill ${s.actor.status === 'live' ? 'pill-on' : s.actor.status === 'idle' ? 'pill-wait' : 'pill-off'}`;
  const r = s.lastReading;
  const facts = [
    ['Temperature', fmtTemp(r?.temperature)],
    ['Setpoint', fmtTemp(s.setpoint)],
    ['Door', onOff(s.door, 'open', 'closed')],
    ['Defrost heater', onOff(s.heater, 'on', 'off')],
    ['Last reading', r ? `${when(r.ts)} (${age(r.ts)})` : 'never'],
    ['Next timer', when(s.actor.wakeAt)],
  ];
  $('unit-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  $('unit-rules').replaceChildren(
    ...s.rules.map((rule) =>
      el(
        'tr',
        { 'data-rule': rule.ruleKey },
        el('td', {}, rule.ruleKey),
        el('td', { class: 'muted' }, rule.kind ?? '—'),
        el(
          'td',
          { class: `phase phase-${rule.phase}` },
          rule.evaluable ? rule.phase : `${rule.phase} (no setpoint)`,
        ),
        el('td', { class: rule.severity ? `sev-${rule.severity}` : 'muted' }, rule.severity ?? '—'),
        el('td', { class: 'muted' }, when(rule.since)),
        el('td', { class: 'muted' }, when(rule.timerAt)),
      ),
    ),
  );
  renderAlerts($('unit-alerts'), s.openAlerts);
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

const ALERT_COLUMNS = ['Unit', 'Severity', 'Alert', 'Status', 'Opened', ''];

document.addEventListener('DOMContentLoaded', () => {
  for (const table of document.querySelectorAll('table.alerts-table'))
    table.prepend(el('thead', {}, el('tr', {}, ...ALERT_COLUMNS.map((c) => el('th', {}, c)))));
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
  $('unit-close').addEventListener('click', closeUnit);
  $('resolve-cancel').addEventListener('click', () => {
    state.resolving = null;
    $('resolve-dialog').close();
  });
  $('resolve-form').addEventListener('submit', (e) => {
    const note = String(new FormData(e.target).get('note') ?? '').trim();
    if (!note) {
      e.preventDefault();
      return;
    }
    // method="dialog" closes the dialog; the request goes out meanwhile.
    void resolve(note);
  });
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
