// The alert feed as cards: claim with one tap, resolve with an outcome, the member card
// for member alerts, sound and vibration for new alerts (each a switch kept per phone).
import { api, user } from "./api.js";
import { clear, h } from "./dom.js";
import { AlertFeed } from "./feed.js";
import { ago, t, time } from "./i18n.js";

export const OUTCOMES = ["served", "purchased", "not_needed", "no_show", "false_alarm"];

export function staffId() {
  const me = user();
  return me ? me.staff || me.id : null;
}

function setting(name) { return localStorage.getItem("storesense." + name) === "1"; }

let audio = null;
function beep() {
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.4);
  } catch (error) { /* no audio on this device */ }
}

function announce(alert) {
  if (setting("sound")) beep();
  if (setting("vibrate") && navigator.vibrate) navigator.vibrate([200, 100, 200]);
}

export function toggles() {
  const box = (name, label) => {
    const input = h("input", { type: "checkbox", id: "opt-" + name, onchange: (e) => {
      localStorage.setItem("storesense." + name, e.target.checked ? "1" : "0");
      if (name === "sound" && e.target.checked) beep();  // unlocks audio on a user gesture
    } });
    input.checked = setting(name);
    return h("label", { class: "toggle" }, input, " ", label);
  };
  return h("div", { class: "toggles" }, box("sound", t("sound")), box("vibrate", t("vibrate")));
}

function memberCard(alert) {
  if (!alert.member) return null;
  const data = alert.data || {};
  const rows = [];
  const row = (label, value) => {
    if (value === null || value === undefined || (Array.isArray(value) && !value.length) || value === "") return;
    rows.push(h("div", { class: "row" }, h("span", { class: "label" }, label), h("span", {}, Array.isArray(value) ? value.join(", ") : value)));
  };
  row(t("tier"), alert.member.tier);
  row(t("lastVisit"), data.last_visit_ts ? `${new Date(data.last_visit_ts).toLocaleDateString()} (${ago(data.last_visit_ts)})` : t("neverVisited"));
  row(t("visits90"), data.visits_90d);
  row(t("usualSizes"), data.favourite_sizes);
  row(t("likes"), data.favourite_styles);
  row(t("triedNotBought"), data.tried_not_bought);
  return h("div", { class: "member-card", dataset: { member: alert.member.id } },
    h("div", { class: "member-name" }, alert.member.name), ...rows);
}

function card(alert, onAction) {
  const me = staffId();
  const mine = alert.claimed_by && alert.claimed_by === me;
  const actions = h("div", { class: "actions" });
  if (alert.state === "open" || alert.state === "escalated") {
    actions.append(h("button", { class: "claim primary", onclick: () => onAction(alert, "claim") }, t("claim")));
  } else if (alert.state === "claimed" && mine) {
    actions.append(h("div", { class: "prompt" }, t("claimedByYou") + " · " + t("resolveAs")));
    actions.append(h("div", { class: "outcomes" }, OUTCOMES.map((outcome) =>
      h("button", { class: "outcome", dataset: { outcome }, onclick: () => onAction(alert, "resolve", outcome) }, t("outcome_" + outcome)))));
  } else if (alert.state === "claimed") {
    actions.append(h("div", { class: "holder" }, t("claimedBy", { who: alert.claimed_by })));
  } else if (alert.state === "resolved") {
    actions.append(h("div", { class: "holder" }, t("resolvedAs", { outcome: t("outcome_" + alert.outcome) }) +
      (alert.resolved_by ? " · " + alert.resolved_by : "")));
  } else if (alert.state === "expired") {
    actions.append(h("div", { class: "holder" }, t("expired")));
  }
  const tier = alert.member && alert.member.tier ? " tier-" + alert.member.tier : "";
  return h("article", {
    class: "alert state-" + alert.state + tier,
    id: "alert-" + alert.id,
    dataset: { alertId: alert.id, state: alert.state, claimedBy: alert.claimed_by || "", outcome: alert.outcome || "" },
  },
    h("header", {},
      h("h3", {}, alert.title),
      h("span", { class: "badge badge-" + alert.state }, t("state_" + alert.state))),
    h("p", { class: "body" }, alert.body),
    memberCard(alert),
    h("div", { class: "meta" }, [time(alert.ts), alert.zone, alert.store].filter(Boolean).join(" · ")),
    actions);
}

// Mounts the feed into `list`; returns the AlertFeed (stop() it when leaving the view).
export function alertList(list, { stores, onStatus, onChange = () => {}, show = () => true }) {
  const empty = h("p", { class: "empty" }, t("noAlerts"));
  const cards = h("div", { class: "cards" });
  const notice = h("div", { class: "notice", role: "status" });
  clear(list).append(notice, empty, cards);

  async function act(alert, action, outcome) {
    notice.textContent = "";
    const body = action === "claim" ? { staff: staffId() } : { staff: staffId(), outcome };
    const { ok, status, data } = await api(`/api/v1/alerts/${alert.id}/${action}`, { method: "POST", body });
    if (ok) feed.upsert(data);
    else if (status === 409 && data) {
      if (data.alert) feed.upsert(data.alert);
      notice.textContent = data.holder ? t("takenBy", { who: data.holder }) : t("actionFailed", { status });
    } else notice.textContent = t("actionFailed", { status });
  }

  const feed = new AlertFeed({
    stores,
    onStatus,
    onAlert: (alert, isNew) => {
      onChange(alert);
      // One shown before keeps its card through later changes (e.g. an escalation).
      if (!show(alert) && !document.getElementById("alert-" + alert.id)) return;
      empty.hidden = true;
      const element = card(alert, act);
      const old = document.getElementById("alert-" + alert.id);
      if (old) old.replaceWith(element);
      else {
        // Newest first, by id (= creation time).
        const after = [...cards.children].find((c) => c.dataset.alertId < alert.id);
        cards.insertBefore(element, after || null);
      }
      if (isNew && alert.state === "open" && !alert.quiet && Date.now() - alert.ts < 120000) announce(alert);
    },
  });
  feed.start();
  return feed;
}

