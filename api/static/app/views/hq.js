// HQ and region managers: their stores side by side (footfall, conversion, alerts and
// what came of them, devices online), each store opening its manager's view.
import { api } from "../api.js";
import { groupedBars } from "../chart.js";
import { clear, h, todayStartSeconds } from "../dom.js";
import { t } from "../i18n.js";

const q = encodeURIComponent;
const pct = (rate) => (typeof rate === "number" ? Math.round(rate * 100) + " %" : "–");

export async function storeList(me) {
  const listed = await api("/api/v1/stores");
  if (listed.ok && Array.isArray(listed.data) && listed.data.length) {
    const visible = me.stores && !me.stores.includes("*") ? new Set(me.stores) : null;
    return listed.data.filter((s) => !visible || visible.has(s.id)).map((s) => ({ id: s.id, name: s.name || s.id, locale: s.locale }));
  }
  const named = (me.stores || []).filter((s) => s !== "*");
  if (named.length || !(me.stores || []).includes("*")) return named.map((id) => ({ id, name: id }));
  // Every store, and none in the registry yet: the stores that have devices or alerts.
  const [devices, alerts] = await Promise.all([api("/api/v1/devices"), api("/api/v1/alerts?limit=1000")]);
  const found = new Set([
    ...(devices.ok ? devices.data.devices.map((d) => d.store) : []),
    ...(alerts.ok ? alerts.data.alerts.map((a) => a.store) : []),
  ]);
  return [...found].sort().map((id) => ({ id, name: id }));
}

export function hqView(root, { stores, openStore }) {
  const chartBox = h("div", { class: "panel-body" }, h("p", { class: "muted" }, t("loading")));
  const tableBox = h("div", { class: "panel-body" });
  root.append(h("section", { class: "panel", id: "panel-compare" }, h("h2", {}, t("compare")), chartBox), h("section", { class: "panel" }, tableBox));
  let stopped = false;
  async function load() {
    if (!stores.length) { clear(chartBox).append(h("p", { class: "na" }, t("notAvailable"))); return; }
    const scope = stores.map((s) => "store=" + q(s.id)).join("&");
    const traffic = await api(`/api/v1/analytics/traffic?${scope}&bucket=day`);
    const rows = await Promise.all(stores.map(async (store) => {
      const [outcomes, devices] = await Promise.all([
        api(`/api/v1/alerts/outcomes?store=${q(store.id)}&since=${todayStartSeconds()}`),
        api(`/api/v1/devices?store=${q(store.id)}`),
      ]);
      const sum = (key) => (outcomes.ok ? Object.values(outcomes.data.types).reduce((n, c) => n + (c[key] || 0), 0) : null);
      const figures = traffic.ok ? traffic.data.stores[store.id] : null;
      return {
        store,
        footfall: figures ? figures.footfall_in : null,
        conversion: figures ? figures.sales_conversion : null,
        raised: sum("raised"),
        purchased: sum("purchased"),
        online: devices.ok ? devices.data.devices.filter((d) => d.state === "online").length : null,
        devices: devices.ok ? devices.data.devices.length : null,
      };
    }));
    if (stopped) return;
    const labels = rows.map((r) => r.store.name);
    clear(chartBox).append(
      traffic.ok ? groupedBars({ labels, series: [{ name: t("footfallToday"), values: rows.map((r) => r.footfall), cls: "bar" }], title: t("footfallToday") })
        : h("p", { class: "na" }, t("footfallToday") + ": " + t("notAvailable")),
      h("div", { class: "legend" }, h("span", { class: "swatch bar" }), t("footfallToday")),
      groupedBars({ labels, title: t("alertsRaised"), series: [
        { name: t("alertsRaised"), values: rows.map((r) => r.raised), cls: "bar2" },
        { name: t("purchases"), values: rows.map((r) => r.purchased), cls: "bar3" }] }),
      h("div", { class: "legend" }, h("span", { class: "swatch bar2" }), t("alertsRaised"), " ", h("span", { class: "swatch bar3" }), t("purchases")));
    clear(tableBox).append(h("div", { class: "scroll" }, h("table", { class: "compare" },
      h("thead", {}, h("tr", {}, [t("store"), t("footfallToday"), t("conversion"), t("alertsRaised"), t("purchases"), t("devicesOnline")].map((c) => h("th", {}, c)))),
      h("tbody", {}, rows.map((r) => h("tr", { dataset: { store: r.store.id } },
        h("th", {}, h("a", { href: "#store=" + q(r.store.id), onclick: (e) => { e.preventDefault(); openStore(r.store.id); } }, r.store.name)),
        h("td", {}, r.footfall ?? "–"), h("td", {}, pct(r.conversion)), h("td", {}, r.raised ?? "–"),
        h("td", {}, r.purchased ?? "–"), h("td", {}, r.devices === null ? "–" : t("devicesOf", { n: r.online, m: r.devices }))))))));
  }
  load();
  const timer = setInterval(load, 60000);
  return () => { stopped = true; clearInterval(timer); };
}
