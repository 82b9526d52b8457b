// Service worker: the app shell (page, styles, scripts, catalogues) from a cache, so a reload
// while the MES is down still opens the station. API calls are never cached or answered here.
const CACHE = "shopfloor-station-v3";
const SHELL = [
  "/station-shell", "/static/station.css", "/static/station.webmanifest",
  "/static/js/app.js", "/static/js/scanner.js", "/static/js/outbox.js", "/static/js/i18n.js",
  "/static/js/sound.js", "/static/js/dialog.js", "/static/js/alarms.js", "/static/js/sse.js",
  "/static/js/steps.js", "/static/js/stop.js",
  "/i18n/en.json", "/i18n/zh-CN.json",
];

self.addEventListener("install", (ev) => {
  ev.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (ev) => {
  ev.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// Network first (the MES's files are fresh when it answers), the cache when it does not.
self.addEventListener("fetch", (ev) => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== "GET" || url.origin !== location.origin) return;
  const page = url.pathname === "/" || url.pathname.startsWith("/station/");
  if (ev.request.mode === "navigate" ? !page : !/^\/(static|i18n)\//.test(url.pathname)) return;
  const key = ev.request.mode === "navigate" ? "/station-shell" : ev.request;
  ev.respondWith(
    fetch(ev.request)
      .then((r) => {
        if (r.ok) { const copy = r.clone(); caches.open(CACHE).then((c) => c.put(key, copy)); }
        return r;
      })
      .catch(() => caches.match(key).then((r) => r || Response.error())),
  );
});
