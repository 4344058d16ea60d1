// The store manager: today at a glance (footfall by hour against the usual, conversion,
// fitting rooms, alerts and their outcomes, devices online), the live alerts, rule settings.
import { api } from "../api.js";
import { alertList, OUTCOMES, toggles } from "../alerts.js";
import { barChart } from "../chart.js";
import { clear, h, todayStartSeconds } from "../dom.js";
import { t, typeLabel } from "../i18n.js";

const q = encodeURIComponent;
const pct = (rate) => (typeof rate === "number" ? Math.round(rate * 100) + " %" : "–");

function panel(title, id) {
  const body = h("div", { class: "panel-body" }, h("p", { class: "muted" }, t("loading")));
  return { element: h("section", { class: "panel", id }, h("h2", {}, title), body), body };
}

function unavailable(body, status) {
  clear(body).append(h("p", { class: "na" }, status === 404 ? t("notAvailable") : t("actionFailed", { status })));
}

function localDate(offsetDays = 0) {
  const d = new Date();
  d.setDate(d.getDate() + offsetDays);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

async function footfall(body, store) {
  const today = await api(`/api/v1/analytics/traffic?store=${q(store)}&bucket=hour`);
  if (!today.ok) return unavailable(body, today.status);
  // The usual: the mean of the same hour on the same weekday over the last 8 weeks (one
  // day per request: the API caps hour buckets per request).
  const weeks = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((n) =>
    api(`/api/v1/analytics/traffic?store=${q(store)}&bucket=hour&from=${localDate(-7 * n)}&to=${localDate(-7 * n + 1)}`)));
  const sums = new Array(24).fill(0);
  const days = new Set();
  for (const past of weeks) {
    // Days without any door count (before the store opened, a dead counter) say nothing.
    if (!past.ok || !past.data.totals.footfall_in) continue;
    for (const bucket of past.data.buckets) {
      days.add(bucket.start.slice(0, 10));
      sums[Number(bucket.start.slice(11, 13))] += bucket.figures.footfall_in;
    }
  }
  const hours = new Array(24).fill(0);
  for (const bucket of today.data.buckets) hours[Number(bucket.start.slice(11, 13))] += bucket.figures.footfall_in;
  // No door counts in the past weeks (a new store): no usual to show.
  const usual = days.size && sums.some((s) => s > 0) ? sums.map((s) => Math.round((s / days.size) * 10) / 10) : null;
  const totals = today.data.totals;
  clear(body).append(
    h("div", { class: "kpis" },
      h("div", { class: "kpi", id: "kpi-footfall" }, h("b", {}, totals.footfall_in), h("span", {}, t("todayLabel"))),
      usual ? h("div", { class: "kpi" }, h("b", {}, Math.round(usual.reduce((a, b) => a + b, 0))), h("span", {}, t("usual"))) : null),
    barChart({ labels: hours.map((_, i) => String(i)), bars: hours, line: usual, title: t("footfall") }),
    h("div", { class: "legend" }, h("span", { class: "swatch bar" }), t("todayLabel"), " ", usual ? [h("span", { class: "swatch usual" }), t("usual")] : null));
}

async function glance(body, store) {
  const { ok, status, data } = await api(`/api/v1/analytics/overview?store=${q(store)}`);
  if (!ok) return unavailable(body, status);
  const rooms = await api(`/api/v1/stores/${q(store)}/fitting-rooms`);
  const occupied = rooms.ok ? rooms.data.rooms.filter((r) => r.occupied).length : null;
  clear(body).append(h("div", { class: "kpis" },
    h("div", { class: "kpi", id: "kpi-conversion" }, h("b", {}, pct(data.traffic.sales_conversion)), h("span", {}, t("conversion"))),
    h("div", { class: "kpi" }, h("b", {}, data.traffic.visits_with_sale), h("span", {}, t("visitsWithSale"))),
    h("div", { class: "kpi" }, h("b", {}, pct(data.conversion.rate)), h("span", {}, t("triedBought"))),
    h("div", { class: "kpi", id: "kpi-sessions" }, h("b", {}, data.fitting_rooms.sessions), h("span", {}, t("sessions"))),
    h("div", { class: "kpi" }, h("b", {}, data.fitting_rooms.try_ons), h("span", {}, t("tryOns"))),
    data.followups ? h("div", { class: "kpi", id: "kpi-followups" }, h("b", {}, data.followups.purchases), h("span", {}, t("followupPurchases"))) : null,
    occupied !== null ? h("div", { class: "kpi" }, h("b", {}, `${occupied}/${rooms.data.rooms.length}`), h("span", {}, t("fittingUse"))) : null));
}

export async function outcomesTable(body, store) {
  const { ok, status, data } = await api(`/api/v1/alerts/outcomes?store=${q(store)}&since=${todayStartSeconds()}`);
  if (!ok) return unavailable(body, status);
  // Purchases first: what the manager looks for.
  const columns = ["raised", "claimed", "purchased", ...OUTCOMES.filter((o) => o !== "purchased"), "expired"];
  const totals = Object.fromEntries(columns.map((c) => [c, 0]));
  const rows = Object.entries(data.types).map(([type, counts]) => {
    columns.forEach((c) => { totals[c] += counts[c] || 0; });
    return h("tr", { dataset: { type } }, h("th", {}, typeLabel(type)), columns.map((c) => h("td", { dataset: { count: c } }, counts[c] || 0)));
  });
  const label = (c) => (c === "raised" || c === "claimed" ? t(c) : t("outcome_" + c));
  clear(body).append(
    h("div", { class: "kpis" },
      h("div", { class: "kpi" }, h("b", { id: "outcome-total-raised" }, totals.raised), h("span", {}, t("raised"))),
      h("div", { class: "kpi" }, h("b", { id: "outcome-total-purchased" }, totals.purchased), h("span", {}, t("outcome_purchased"))),
      h("div", { class: "kpi" }, h("b", { id: "outcome-total-served" }, totals.served), h("span", {}, t("outcome_served")))),
    h("div", { class: "scroll" }, h("table", { class: "outcome-table" },
      h("thead", {}, h("tr", {}, h("th", {}, t("type")), columns.map((c) => h("th", {}, label(c))))),
      h("tbody", {}, rows),
      h("tfoot", {}, h("tr", { id: "outcome-totals" }, h("th", {}, t("total")),
        columns.map((c) => h("td", { dataset: { total: c } }, totals[c])))))));
}

async function devicesPanel(body, store) {
  const { ok, status, data } = await api(`/api/v1/devices?store=${q(store)}`);
  if (!ok) return unavailable(body, status);
  const online = data.devices.filter((d) => d.state === "online").length;
  clear(body).append(
    h("div", { class: "kpis" }, h("div", { class: "kpi", id: "kpi-devices" }, h("b", {}, t("devicesOf", { n: online, m: data.devices.length })), h("span", {}, t("devicesOnline")))),
    h("ul", { class: "devices" }, data.devices.map((d) => h("li", { class: d.state }, `${d.device}${d.kind ? " (" + d.kind + ")" : ""}: ${d.state}`))));
}

function todayView(root, store, setStatus) {
  const feet = panel(t("footfall"), "panel-footfall");
  const kpis = panel(t("today"), "panel-glance");
  const outcomes = panel(t("alertOutcomes"), "panel-outcomes");
  const devices = panel(t("devicesOnline"), "panel-devices");
  root.append(feet.element, kpis.element, outcomes.element, devices.element);
  const loadAll = () => {
    footfall(feet.body, store);
    glance(kpis.body, store);
    outcomesTable(outcomes.body, store);
    devicesPanel(devices.body, store);
  };
  loadAll();
  // Outcomes follow the alerts live: each change re-reads them (points are written within
  // a second or two), and everything is refreshed every 30 s.
  let pending = null;
  const again = () => {
    clearTimeout(pending);
    pending = setTimeout(() => outcomesTable(outcomes.body, store), 1500);
  };
  const hidden = h("div", { hidden: true });
  const feed = alertList(hidden, { stores: [store], onStatus: setStatus, onChange: again });
  const timer = setInterval(loadAll, 30000);
  const followUp = setInterval(() => outcomesTable(outcomes.body, store), 5000);
  return () => { feed.stop(); clearInterval(timer); clearInterval(followUp); clearTimeout(pending); };
}

function rulesView(root, store) {
  const status = h("p", { class: "notice", role: "status" });
  const form = h("form", { class: "rules" }, h("p", { class: "muted" }, t("loading")));
  root.append(h("section", { class: "panel" }, h("h2", {}, t("rules")), h("p", { class: "muted" }, t("ruleHelp")), form, status));
  let loaded = null;
  async function load() {
    const { ok, status: code, data } = await api(`/api/v1/stores/${q(store)}/rules`);
    if (!ok) return unavailable(form, code);
    loaded = data;
    clear(form);
    for (const [rule, fields] of Object.entries(data.params)) {
      if (!fields || typeof fields !== "object") continue;
      const inputs = [];
      for (const [field, value] of Object.entries(fields)) {
        const name = `${rule}.${field}`;
        let input;
        if (typeof value === "boolean") {
          input = h("input", { type: "checkbox", name, id: "rule-" + name });
          input.checked = value;
        } else if (typeof value === "number") {
          input = h("input", { type: "number", step: "any", name, id: "rule-" + name, value, inputmode: "decimal" });
        } else if (typeof value === "string") {
          input = h("input", { type: "text", name, id: "rule-" + name, value });
        } else continue;  // lists and maps: edited in the rules file
        inputs.push(h("label", { class: "field", for: "rule-" + name }, h("span", {}, field.replace(/_/g, " ")), input));
      }
      if (inputs.length) form.append(h("fieldset", {}, h("legend", {}, rule.replace(/_/g, " ")), inputs));
    }
    form.append(h("button", { type: "submit", class: "primary" }, t("save")));
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const overrides = JSON.parse(JSON.stringify(loaded.overrides || {}));
    for (const input of form.querySelectorAll("input[name]")) {
      const [rule, field] = input.name.split(".");
      const before = loaded.params[rule][field];
      const value = input.type === "checkbox" ? input.checked : input.type === "number" ? Number(input.value) : input.value;
      if (value !== before) (overrides[rule] = overrides[rule] || {})[field] = value;
    }
    const { ok, status: code, data } = await api(`/api/v1/stores/${q(store)}/rules`, { method: "PUT", body: overrides });
    if (ok) { status.textContent = t("saved"); loaded = data; return; }
    const detail = data && Array.isArray(data.detail) ? data.detail.map((d) => `${d.field ?? (d.loc || []).join(".")}: ${d.message ?? d.msg}`).join("; ") : data && data.detail;
    status.textContent = t("actionFailed", { status: code }) + (detail ? " " + detail : "");
  });
  load();
  return () => {};
}

export function managerView(root, { store, setStatus, tab }) {
  if (tab === "rules") return rulesView(root, store);
  if (tab === "alerts") {
    const list = h("div", { class: "feed" });
    root.append(toggles(), list);
    const feed = alertList(list, { stores: [store], onStatus: setStatus });
    return () => feed.stop();
  }
  return todayView(root, store, setStatus);
}
