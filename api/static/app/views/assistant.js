// The assistant's phone: live alerts, the fitting-room board, their follow-up tasks.
import { api, user } from "../api.js";
import { alertList, staffId, toggles } from "../alerts.js";
import { clear, h } from "../dom.js";
import { t, time } from "../i18n.js";

export function roomsPanel(panel, store) {
  async function load() {
    const { ok, status, data } = await api(`/api/v1/stores/${encodeURIComponent(store)}/fitting-rooms`);
    clear(panel);
    if (!ok) { panel.append(h("p", { class: "na" }, status === 404 ? t("notAvailable") : t("actionFailed", { status }))); return; }
    if (!data.rooms.length) { panel.append(h("p", { class: "empty" }, t("noRooms"))); return; }
    panel.append(h("div", { class: "rooms" }, data.rooms.map((room) => {
      const minutes = room.since_ms ? Math.max(0, Math.round((Date.now() - room.since_ms) / 60000)) : 0;
      return h("div", { class: "room " + (room.occupied ? "occupied" : "free"), dataset: { zone: room.zone } },
        h("div", { class: "room-name" }, room.zone.replace(/^fitting-room-?/, "#")),
        h("div", { class: "room-state" }, room.occupied ? `${t("occupied")} · ${t("since", { min: minutes })}` : t("free")),
        room.occupied ? h("div", { class: "room-meta" },
          t("items", { n: room.tried }), " · ", room.staff_present ? t("staffPresent") : t("noStaff")) : null,
        room.member && room.member.name ? h("div", { class: "room-member" }, room.member.name + (room.member.tier ? ` (${room.member.tier})` : "")) : null,
        room.items.length ? h("ul", { class: "room-items" }, room.items.map((item) =>
          h("li", {}, [item.name, item.colour, item.size].filter(Boolean).join(" · ")))) : null);
    })));
  }
  load();
  const timer = setInterval(load, 15000);
  return () => clearInterval(timer);
}

const TASK_OUTCOMES = ["contacted", "visit_booked", "purchased", "not_interested", "unreachable", "not_needed"];

// Follow-up tasks (GET /api/v1/tasks): the open ones for me (or anyone), completed with an
// outcome; an assistant sees theirs and the unassigned ones.
export function tasksPanel(panel, store) {
  const notice = h("div", { class: "notice", role: "status" });
  async function complete(task, outcome) {
    const { ok, status, data } = await api(`/api/v1/tasks/${task.id}/complete`, { method: "POST", body: { staff: staffId(), outcome } });
    notice.textContent = ok ? "" : t("actionFailed", { status }) + (data && data.detail ? " " + (data.detail.message || data.detail) : "");
    if (ok) load();
  }
  async function load() {
    const me = staffId();
    const query = new URLSearchParams({ store, state: "open" });
    if (me && user().role === "assistant") query.set("assignee", me);
    const { ok, status, data } = await api("/api/v1/tasks?" + query);
    clear(panel).append(notice);
    if (status === 404 || status === 405) { panel.append(h("p", { class: "na", id: "tasks-na" }, t("notAvailable"))); return; }
    if (!ok) { panel.append(h("p", { class: "na" }, t("actionFailed", { status }))); return; }
    const tasks = data.tasks || [];
    if (!tasks.length) { panel.append(h("p", { class: "empty" }, t("noTasks"))); return; }
    panel.append(h("div", { class: "cards" }, tasks.map((task) => h("article", { class: "alert task state-open", dataset: { taskId: task.id } },
      h("header", {}, h("h3", {}, task.title), h("span", { class: "badge badge-open" }, task.tier || "")),
      h("p", { class: "body" }, task.body),
      task.items && task.items.length ? h("ul", { class: "room-items" }, task.items.map((item) =>
        h("li", {}, [item.name || item.gtin, item.colour, item.size].filter(Boolean).join(" · ") + (item.in_stock === false ? " ✕" : "")))) : null,
      task.note ? h("p", { class: "meta" }, task.note) : null,
      h("div", { class: "meta" }, [task.member_name, task.assignee, time(task.created_ms)].filter(Boolean).join(" · ")),
      h("div", { class: "actions" }, h("div", { class: "prompt" }, t("resolveAs")),
        h("div", { class: "outcomes" }, TASK_OUTCOMES.map((outcome) =>
          h("button", { class: "outcome", dataset: { outcome }, onclick: () => complete(task, outcome) }, t("task_" + outcome)))))))));
  }
  load();
  const timer = setInterval(load, 30000);
  return () => clearInterval(timer);
}

export function assistantView(root, { store, setStatus, tab }) {
  if (tab === "rooms") return roomsPanel(root, store);
  if (tab === "tasks") return tasksPanel(root, store);
  const list = h("div", { class: "feed" });
  root.append(toggles(), list);
  // The manager's alerts (traffic, unsold SKUs, escalations) are not for the shop floor.
  const feed = alertList(list, { stores: [store], onStatus: setStatus,
    show: (alert) => alert.audience !== "manager" });
  return () => feed.stop();
}
