// Staff and shifts (managers): the store's staff with role and badge, who is on shift now,
// today's and this week's shifts, and a form to add, change or remove a shift. Shifts repeat
// weekly in the store's local time; each save replaces the person's shifts in this store
// (PUT /api/v1/stores/{store}/staff/{id}/shifts), and a 422 is shown naming the field.
import { api } from "../api.js";
import { clear, h } from "../dom.js";
import { t } from "../i18n.js";

const q = encodeURIComponent;
export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const ALL_DAY = "00:00-24:00";

function roleLabel(role) {
  if (!role) return "–";
  const key = "role_" + role.toLowerCase();
  const text = t(key);
  return text === key ? role : text;
}

function hoursLabel(hours) { return hours === ALL_DAY ? t("allDay") : hours; }

function shiftLabel(shift) {
  const days = shift.days.length === 7 ? t("everyDay") : shift.days.map((d) => t("day_" + d)).join(" ");
  const zones = shift.zones.length ? " · " + shift.zones.join(", ") : "";
  return `${days} ${hoursLabel(shift.hours)}${zones}`;
}

// What a refused save says: each problem with the field named (422: pydantic's `loc`, or the
// registry's `{field, message}`).
export function problemText(status, data) {
  const detail = data && data.detail;
  const problems = Array.isArray(detail) ? detail : detail && typeof detail === "object" ? [detail] : [];
  const named = problems.map((p) => {
    const path = p.field ? String(p.field).split(".") : (p.loc || []).filter((part) => part !== "body").map(String);
    const field = [...path].reverse().find((part) => !/^\d+$/.test(part)) || "";
    const label = t("field_" + field);
    return `${label === "field_" + field ? field : label}: ${String(p.message ?? p.msg).replace(/^Value error, /, "")}`;
  });
  const text = named.length ? named.join("; ") : typeof detail === "string" ? detail : "";
  return t("actionFailed", { status }) + (text ? " " + text : "");
}

function panel(title, id, ...children) {
  return h("section", { class: "panel", id }, h("h2", {}, title), ...children);
}

export function staffView(root, store) {
  const status = h("p", { class: "notice", role: "status", id: "shift-status" });
  const body = h("div", {}, h("p", { class: "muted" }, t("loading")));
  root.append(body);
  let data = null;
  let editing = null;  // {staff_id, index|null}

  async function load() {
    const answer = await api(`/api/v1/stores/${q(store)}/staff`);
    if (!answer.ok) {
      clear(body).append(h("p", { class: "na" }, answer.status === 404 ? t("notAvailable") : t("actionFailed", { status: answer.status })));
      return;
    }
    data = answer.data;
    render();
  }

  async function save(person, shifts, done) {
    const answer = await api(`/api/v1/stores/${q(store)}/staff/${q(person.staff_id)}/shifts`, { method: "PUT", body: { shifts } });
    if (!answer.ok) { status.textContent = problemText(answer.status, answer.data); return false; }
    editing = null;
    await load();
    status.textContent = done;
    return true;
  }

  function shiftForm(person, index) {
    const current = index === null ? null : person.shifts[index];
    const [from, to] = (current ? current.hours : "09:00-17:00").split("-");
    const checked = current ? current.days : [data.weekday];
    const boxes = DAYS.map((day) => {
      const box = h("input", { type: "checkbox", name: "day", value: day, id: `shift-day-${day}` });
      box.checked = checked.includes(day);
      return h("label", { class: "day", for: `shift-day-${day}` }, box, t("day_" + day));
    });
    const start = h("input", { type: "time", id: "shift-from", value: from, required: false });
    const end = h("input", { type: "time", id: "shift-to", value: to === "24:00" ? "00:00" : to });
    const zones = h("input", { type: "text", id: "shift-zones", value: current ? current.zones.join(", ") : "", placeholder: t("allZones") });
    const form = h("form", { class: "shift-form", id: "shift-form", dataset: { staffId: person.staff_id } },
      h("h3", {}, `${person.name}: ${current ? t("editShift") : t("addShift")}`),
      h("fieldset", { class: "days" }, h("legend", {}, t("field_days")), boxes),
      h("div", { class: "times" },
        h("label", { for: "shift-from" }, h("span", {}, t("from")), start),
        h("label", { for: "shift-to" }, h("span", {}, t("to")), end)),
      h("label", { class: "field", for: "shift-zones" }, h("span", {}, t("field_zones")), zones),
      h("div", { class: "form-actions" },
        h("button", { type: "submit", class: "primary", id: "shift-save" }, t("save")),
        h("button", { type: "button", id: "shift-cancel", onclick: () => { editing = null; status.textContent = ""; render(); } }, t("cancel"))));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      let hours = `${start.value}-${end.value}`;
      if (hours === "00:00-00:00") hours = ALL_DAY;
      const shift = {
        days: [...form.querySelectorAll("input[name=day]:checked")].map((box) => box.value),
        hours,
        zones: zones.value.split(",").map((zone) => zone.trim()).filter(Boolean),
      };
      const shifts = person.shifts.slice();
      if (index === null) shifts.push(shift); else shifts[index] = shift;
      await save(person, shifts, t("shiftSaved"));
    });
    return form;
  }

  function personCard(person) {
    const badges = person.badge_epcs === null ? null : [...person.badge_epcs, ...(person.beacons || [])];
    const shifts = person.shifts.map((shift, index) => h("li", { class: "shift", dataset: { index } },
      h("span", {}, shiftLabel(shift)),
      h("span", { class: "shift-actions" },
        h("button", { type: "button", class: "small edit-shift", onclick: () => { editing = { staff_id: person.staff_id, index }; status.textContent = ""; render(); } }, t("editShift")),
        h("button", { type: "button", class: "small remove-shift", onclick: () => save(person, person.shifts.filter((_, i) => i !== index), t("shiftRemoved")) }, t("removeShift")))));
    const open = editing && editing.staff_id === person.staff_id;
    return h("article", { class: "staff-person" + (person.on_shift_now ? " on-shift" : ""), dataset: { staffId: person.staff_id } },
      h("header", {},
        h("strong", { class: "staff-name" }, person.name),
        h("span", { class: "badge " + (person.on_shift_now ? "badge-resolved" : "") }, person.on_shift_now ? t("onShift") : t("offShift"))),
      h("div", { class: "meta" }, `${t("role")}: ${roleLabel(person.role)} · ${person.staff_id}`),
      badges === null ? null : h("div", { class: "meta staff-badge" }, `${t("badge")}: ${badges.length ? badges.join(", ") : t("noBadge")}`),
      shifts.length ? h("ul", { class: "shifts" }, shifts) : h("p", { class: "muted" }, t("noShifts")),
      open ? shiftForm(person, editing.index) : h("button", { type: "button", class: "add-shift", onclick: () => { editing = { staff_id: person.staff_id, index: null }; status.textContent = ""; render(); } }, t("addShift")));
  }

  function render() {
    const staff = data.staff;
    const today = data.weekday;
    const onShift = staff.filter((p) => p.on_shift_now);
    const todays = staff.flatMap((p) => p.shifts.filter((s) => s.days.includes(today)).map((s) => ({ person: p, shift: s })))
      .sort((a, b) => a.shift.hours.localeCompare(b.shift.hours) || a.person.name.localeCompare(b.person.name));
    const local = data.local_time.slice(11, 16);
    const week = h("div", { class: "scroll" }, h("table", { class: "week" },
      h("thead", {}, h("tr", {}, h("th", {}, t("staff")), DAYS.map((d) => h("th", { class: d === today ? "today" : "" }, t("day_" + d))))),
      h("tbody", {}, staff.map((p) => h("tr", { dataset: { staffId: p.staff_id } }, h("th", {}, p.name),
        DAYS.map((d) => h("td", { class: d === today ? "today" : "", dataset: { day: d } },
          p.shifts.filter((s) => s.days.includes(d)).map((s) => h("div", {}, hoursLabel(s.hours).replace("-", "-\u200b"))))))))));
    clear(body).append(
      panel(t("onShiftNow"), "panel-on-shift",
        h("p", { class: "muted" }, t("storeTime", { time: local })),
        onShift.length ? h("ul", { class: "on-shift-list" }, onShift.map((p) => h("li", { dataset: { staffId: p.staff_id } }, p.name)))
          : h("p", { class: "muted" }, t("nobodyOnShift"))),
      panel(t("shiftsToday", { day: t("day_" + today) }), "panel-shifts-today",
        todays.length ? h("ul", { class: "today-shifts" }, todays.map(({ person, shift }) =>
          h("li", { dataset: { staffId: person.staff_id } }, h("strong", {}, person.name), " ", hoursLabel(shift.hours),
            shift.zones.length ? h("span", { class: "muted" }, " · " + shift.zones.join(", ")) : null)))
          : h("p", { class: "muted" }, t("noShiftsToday"))),
      panel(t("thisWeek"), "panel-week", staff.length ? week : h("p", { class: "muted" }, t("noStaffHere"))),
      panel(t("staff"), "panel-staff", h("p", { class: "muted" }, t("shiftHelp")), status,
        staff.length ? staff.map(personCard) : h("p", { class: "muted" }, t("noStaffHere"))));
    const form = body.querySelector("#shift-form");
    if (form) { form.append(status); form.scrollIntoView({ block: "nearest" }); }
  }

  load();
  return () => {};
}
