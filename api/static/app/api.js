// The session (tokens from /api/v1/auth) and every call to the API: bearer token on each
// request, one refresh on a 401 (shared by concurrent calls), then back to the login.
const KEY = "storesense.session";
let session = JSON.parse(localStorage.getItem(KEY) || "null");
let refreshing = null;
const listeners = new Set();

export function user() { return session ? session.user : null; }
export function onSignedOut(listener) { listeners.add(listener); }

function keep(data) {
  session = {
    access_token: data.access_token,
    refresh_token: data.refresh_token,
    expires_at: Date.now() + (data.expires_in || 900) * 1000,
    user: data.user,
  };
  localStorage.setItem(KEY, JSON.stringify(session));
}

function drop() {
  session = null;
  localStorage.removeItem(KEY);
  listeners.forEach((listener) => listener());
}

export async function login(username, password) {
  const response = await fetch("/api/v1/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (response.ok) {
    keep(await response.json());
    return { ok: true };
  }
  return { ok: false, status: response.status, retryAfter: response.headers.get("Retry-After") };
}

export async function logout() {
  const current = session;
  drop();
  if (current) {
    fetch("/api/v1/auth/logout", {
      method: "POST",
      headers: { Authorization: "Bearer " + current.access_token, "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: current.refresh_token }),
    }).catch(() => {});
  }
}

async function refresh() {
  if (!session) return false;
  if (!refreshing) {
    refreshing = fetch("/api/v1/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: session.refresh_token }),
    })
      .then(async (response) => {
        if (response.ok) { keep(await response.json()); return true; }
        if (response.status === 401 || response.status === 403) drop();
        return false;
      })
      .catch(() => false)
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

// A token good for at least another 30 s (for WebSocket/SSE URLs, which cannot be retried
// with a header).
export async function accessToken() {
  if (session && session.expires_at - Date.now() < 30000) await refresh();
  return session ? session.access_token : null;
}

// JSON in, {ok, status, data} out; never throws for HTTP errors (network errors: status 0).
export async function api(path, { method = "GET", body } = {}) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const token = await accessToken();
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: {
          ...(token ? { Authorization: "Bearer " + token } : {}),
          ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (error) {
      return { ok: false, status: 0, data: null };
    }
    if (response.status === 401 && attempt === 0 && (await refresh())) continue;
    if (response.status === 401) drop();
    let data = null;
    try { data = await response.json(); } catch (error) { data = null; }
    return { ok: response.ok, status: response.status, data };
  }
  return { ok: false, status: 401, data: null };
}
