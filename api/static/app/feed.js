// The live alert feed over WebSocket: the recent alerts first, then every change; on a
// lost connection it reconnects with ?after=<the last alert id seen> (backoff up to 15 s)
// and the server replays what changed meanwhile. Alerts are upserted by id, highest
// version kept (docs/alerts.md).
import { accessToken, api } from "./api.js";

export class AlertFeed {
  constructor({ stores, onAlert, onStatus }) {
    this.stores = stores;  // null: every store the user may see
    this.onAlert = onAlert;
    this.onStatus = onStatus;
    this.alerts = new Map();
    this.sockets = [];
    this.stopped = false;
  }

  async start() {
    const scopes = this.stores ? this.stores : [null];
    for (const store of scopes) {
      const query = store ? "&store=" + encodeURIComponent(store) : "";
      const { ok, data } = await api("/api/v1/alerts?limit=50" + query);
      let last = null;
      if (ok && data) {
        for (const alert of data.alerts) this.upsert(alert);
        if (data.alerts.length) last = data.alerts[data.alerts.length - 1].id;
      }
      this.connect(store, last, 500);
    }
  }

  stop() {
    this.stopped = true;
    for (const socket of this.sockets) socket.close();
  }

  upsert(alert) {
    const known = this.alerts.get(alert.id);
    if (known && (known.version || 1) >= (alert.version || 1)) return;
    this.alerts.set(alert.id, alert);
    this.onAlert(alert, !known);
  }

  lastIdFor(store) {
    let last = null;
    for (const alert of this.alerts.values()) {
      if (store && alert.store !== store) continue;
      if (!last || alert.id > last) last = alert.id;
    }
    return last;
  }

  async connect(store, after, delay) {
    if (this.stopped) return;
    this.onStatus("connecting");
    const token = await accessToken();
    const params = new URLSearchParams();
    if (store) params.set("store", store);
    if (after) params.set("after", after);
    if (token) params.set("access_token", token);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/api/v1/alerts/ws?${params}`);
    this.sockets.push(socket);
    let opened = false;
    socket.addEventListener("open", () => { opened = true; this.onStatus("live"); });
    socket.addEventListener("message", async (event) => {
      const text = typeof event.data === "string" ? event.data : await event.data.text();
      try { this.upsert(JSON.parse(text)); } catch (error) { /* not an alert */ }
    });
    socket.addEventListener("close", () => {
      this.sockets = this.sockets.filter((s) => s !== socket);
      if (this.stopped) return;
      this.onStatus(navigator.onLine === false ? "offline" : "reconnecting");
      const next = opened ? 500 : Math.min(delay * 2, 15000);
      setTimeout(() => this.connect(store, this.lastIdFor(store), next), next * (0.5 + Math.random()));
    });
  }
}
