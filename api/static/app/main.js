// The app: sign-in, then the views of the user's role, in the store's language or the
// one picked. Navigation lives in the URL hash (#tab=…&store=…), so reloads keep place.
import { api, logout, onSignedOut, user } from "./api.js";
import { clear, h } from "./dom.js";
import { chooseLocale, hasChosenLocale, locale, setLocale, t } from "./i18n.js";
import { registerWorker, enablePush, pushState } from "./push.js";
import { assistantView, roomsPanel, tasksPanel } from "./views/assistant.js";
import { hqView, storeList } from "./views/hq.js";
import { loginView } from "./views/login.js";
import { managerView } from "./views/manager.js";
import { staffView } from "./views/staff.js";

const root = document.getElementById("app");
let cleanup = () => {};
let stores = null;  // [{id, name, locale}] the user may see

const TABS = {
  assistant: ["alerts", "rooms", "tasks"],
  store_manager: ["today", "alerts", "rooms", "tasks", "staff", "rules"],
  region_manager: ["stores", "today", "alerts", "rooms", "staff", "rules"],
  hq_admin: ["stores", "today", "alerts", "rooms", "staff", "rules"],
};

function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  return { tab: params.get("tab"), store: params.get("store") };
}

function go(changes) {
  const params = new URLSearchParams(location.hash.slice(1));
  for (const [key, value] of Object.entries(changes)) {
    if (value) params.set(key, value); else params.delete(key);
  }
  location.hash = params.toString();
}

function languageButton() {
  return h("button", { type: "button", class: "lang", id: "lang-toggle", onclick: () => {
    setLocale(locale() === "en" ? "zh-CN" : "en");
    render();
  } }, t("language"));
}

function pushButton() {
  const button = h("button", { type: "button", class: "push", id: "push-toggle", hidden: true }, t("notifications"));
  pushState().then((state) => {
    if (state === "off") button.hidden = false;
  });
  button.addEventListener("click", async () => {
    const result = await enablePush();
    button.textContent = result === "on" ? t("pushOn") : result === "denied" ? t("pushDenied") : t("pushUnavailable");
    button.disabled = true;
  });
  return button;
}

async function render() {
  cleanup();
  cleanup = () => {};
  const me = user();
  if (!me) {
    chooseLocale(null);
    clear(root);
    cleanup = loginView(root, { onSignedIn: render, languageButton });
    return;
  }
  if (!stores) stores = await storeList(me);
  const tabs = TABS[me.role];
  if (!tabs) {
    clear(root).append(h("main", { class: "view" }, h("p", { class: "na" }, t("notAvailable")), h("button", { onclick: () => logout() }, t("signOut"))));
    return;
  }
  let { tab, store } = route();
  if (!store || !stores.some((s) => s.id === store)) store = stores.length && tabs[0] !== "stores" ? stores[0].id : null;
  if (!tab || !tabs.includes(tab) || (tab !== "stores" && !store)) tab = tabs[0] === "stores" && !store ? "stores" : tabs[0] === "stores" ? tabs[1] : tabs[0];
  const info = stores.find((s) => s.id === store);
  if (!hasChosenLocale()) {
    let storeLocale = info ? info.locale : null;
    if (store && !storeLocale) {
      const found = await api(`/api/v1/stores/${encodeURIComponent(store)}`);
      storeLocale = found.ok ? found.data.locale : null;
      if (info) info.locale = storeLocale;
    }
    chooseLocale(storeLocale);
  } else chooseLocale(null);

  const status = h("span", { class: "status", id: "live-status" }, t("connecting"));
  const setStatus = (state) => { status.textContent = t(state); status.dataset.state = state; };
  const picker = stores.length > 1
    ? h("select", { id: "store-picker", "aria-label": t("store"), onchange: (e) => go({ store: e.target.value, tab: tab === "stores" ? tabs[1] : tab }) },
      (tabs[0] === "stores" ? [h("option", { value: "" }, "—")] : []).concat(stores.map((s) => {
        const option = h("option", { value: s.id }, s.name);
        option.selected = s.id === store;
        return option;
      })))
    : info ? h("span", { class: "store-name" }, info.name) : null;
  const header = h("header", { class: "top" },
    h("div", { class: "who" }, h("strong", {}, me.name), picker ? [" · ", picker] : null),
    h("div", { class: "tools" }, status, pushButton(), languageButton(),
      h("button", { type: "button", id: "sign-out", onclick: () => logout() }, t("signOut"))));
  const main = h("main", { class: "view", id: "view-" + tab, dataset: { role: me.role, store: store || "" } });
  const nav = h("nav", { class: "tabs" }, tabs.filter((name) => name === "stores" || store).map((name) =>
    h("a", { href: "#", class: name === tab ? "active" : "", id: "tab-" + name, onclick: (e) => { e.preventDefault(); go({ tab: name }); } }, t(name))));
  clear(root).append(header, main, nav);
  const context = { store, setStatus, tab };
  if (tab === "stores") { status.hidden = true; cleanup = hqView(main, { stores, openStore: (id) => go({ store: id, tab: "today" }) }); }
  else if (tab === "rooms") { status.hidden = true; cleanup = roomsPanel(main, store); }
  else if (tab === "tasks") { status.hidden = true; cleanup = tasksPanel(main, store); }
  else if (tab === "staff") { status.hidden = true; cleanup = staffView(main, store); }
  else if (tab === "rules") { status.hidden = true; cleanup = managerView(main, context); }
  else if (me.role === "assistant") cleanup = assistantView(main, context);
  else cleanup = managerView(main, context);
}

onSignedOut(() => { stores = null; location.hash = ""; render(); });
window.addEventListener("hashchange", render);
registerWorker();
render();
