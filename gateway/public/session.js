// The dashboard's session, shared by its pages: the live page signs in and stores the session in
// sessionStorage (this tab only, never on disk); other pages read it from there, refresh the access
// token shortly before it expires (rotating refresh token) and call the API with it.
const STORAGE_KEY = 'vigil.session';
const REFRESH_MARGIN_MS = 60_000;

let current = null;

/** The stored session, or null when this tab has not signed in. */
export function loadSession() {
  if (current) return current;
  const saved = sessionStorage.getItem(STORAGE_KEY);
  current = saved ? JSON.parse(saved) : null;
  return current;
}

/**
 * The stored access token as it is, never refreshed: for a script that runs beside one that owns
 * the refresh (the live page's camera panel beside app.js). Read at every call, so a refresh the
 * owner made is seen at once; two refreshers would spend the same rotating refresh token, and the
 * second would revoke the session.
 */
export function storedAccessToken() {
  const saved = sessionStorage.getItem(STORAGE_KEY);
  return saved ? JSON.parse(saved).accessToken : null;
}

function store(body) {
  current = {
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
    expiresAt: Date.now() + body.expiresIn * 1000,
    user: body.user,
  };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(current));
}

async function freshToken() {
  const s = loadSession();
  if (!s) throw new Error('not signed in');
  if (s.expiresAt - Date.now() > REFRESH_MARGIN_MS) return s.accessToken;
  const res = await fetch('/v1/auth/refresh', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken: s.refreshToken }),
  });
  if (!res.ok) {
    sessionStorage.removeItem(STORAGE_KEY);
    current = null;
    throw new Error(`session expired (${res.status})`);
  }
  store(await res.json());
  return current.accessToken;
}

/** GET (or another method with a JSON body) against the API; the error names the route and status. */
export async function api(path, init = {}) {
  const token = await freshToken();
  const headers = { authorization: `Bearer ${token}` };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${path}: ${body?.error?.code ?? res.status}`);
  return body;
}
