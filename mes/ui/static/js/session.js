// The token of the board and owner pages: a login session (user and password) or, on the TV
// wall, a display token given once in the address fragment (#token=...) or the setup field.
// Kept in localStorage under one key per page; a 401 from the MES drops it.
const TIMEOUT_MS = 10000;

export function createSession(key) {
  const fromHash = location.hash.match(/#token=([^&]+)/);
  if (fromHash) {  // a fragment never reaches the server: the token stays out of access logs
    localStorage.setItem(key, decodeURIComponent(fromHash[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  const token = () => localStorage.getItem(key) || "";
  const headers = (extra = {}) => ({ "Authorization": "Bearer " + token(), ...extra });

  async function call(url, options = {}) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    try {
      const json = options.body !== undefined ? { "Content-Type": "application/json" } : {};
      return await fetch(url, { ...options, headers: headers(json), signal: abort.signal });
    } finally {
      clearTimeout(timer);
    }
  }

  async function login(username, password) {
    const r = await fetch("/api/v1/auth/login", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }) });
    if (!r.ok) return false;
    localStorage.setItem(key, (await r.json()).access_token);
    return true;
  }

  function useToken(value) { localStorage.setItem(key, value.trim()); }

  async function logout() {
    await call("/api/v1/auth/logout", { method: "POST" }).catch(() => null);
    localStorage.removeItem(key);
  }

  // who is looking: {kind, name, role, permissions}; null without a valid token
  async function me() {
    if (!token()) return null;
    const r = await call("/api/v1/auth/me").catch(() => null);
    if (!r || !r.ok) return null;
    return r.json();
  }

  return { call, headers, login, logout, me, useToken, has: () => Boolean(token()),
           forget: () => localStorage.removeItem(key) };
}
