// Service worker: keeps the app shell for offline starts (network first, so a new
// version is picked up at once when online) and shows Web Push notifications of alerts.
const CACHE = "storesense-shell-v2";
const SHELL = [
  "/", "/manifest.webmanifest", "/app/app.css", "/app/main.js", "/app/api.js", "/app/dom.js",
  "/app/i18n.js", "/app/feed.js", "/app/chart.js", "/app/push.js", "/app/alerts.js",
  "/app/views/login.js", "/app/views/assistant.js", "/app/views/manager.js", "/app/views/hq.js",
  "/app/views/staff.js",
  "/icons/icon-192.png", "/icons/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  // API calls and live streams always go to the network; only the shell is cached.
  if (event.request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok && SHELL.includes(url.pathname)) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
        }
        return response;
      })
      .catch(() => caches.match(url.pathname).then((hit) => hit || caches.match("/"))),
  );
});

self.addEventListener("push", (event) => {
  let alert = {};
  try { alert = event.data ? event.data.json() : {}; } catch (error) { alert = { title: event.data.text() }; }
  event.waitUntil(
    self.registration.showNotification(alert.title || "storesense", {
      body: alert.body || "",
      tag: alert.id,  // one notification per alert
      icon: "/icons/icon-192.png",
      badge: "/icons/icon-192.png",
      data: { url: alert.url || "/" },
      vibrate: [200, 100, 200],
      renotify: false,
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const client of windows) {
        if ("focus" in client) { client.navigate(target); return client.focus(); }
      }
      return self.clients.openWindow(target);
    }),
  );
});
