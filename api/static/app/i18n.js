// Texts of the app in en and zh-CN. Alert titles and bodies come from the server, already
// in the store's locale. The choice: what the user picked, else the store's locale (from
// the alerts it sends), else the browser's language.
const TEXTS = {
  en: {
    app: "storesense", signIn: "Sign in", username: "User name", password: "Password",
    badLogin: "Wrong user name or password.", limited: "Too many attempts; try again in {s} s.",
    loginFailed: "Sign-in failed ({status}).", signOut: "Sign out",
    live: "live", connecting: "connecting…", reconnecting: "reconnecting…", offline: "offline",
    alerts: "Alerts", rooms: "Fitting rooms", tasks: "Tasks", today: "Today", rules: "Rules",
    stores: "Stores", noAlerts: "No alerts yet. New ones appear here as they happen.",
    claim: "Claim", claimedBy: "Claimed by {who}", claimedByYou: "Claimed by you",
    resolveAs: "How did it go?", resolvedAs: "Resolved: {outcome}", expired: "Expired",
    escalated: "Escalated to the manager",
    outcome_served: "Served", outcome_purchased: "Purchased", outcome_not_needed: "Not needed",
    outcome_no_show: "No show", outcome_false_alarm: "False alarm", outcome_expired: "Expired",
    state_open: "new", state_claimed: "claimed", state_resolved: "resolved",
    state_escalated: "escalated", state_expired: "expired",
    takenBy: "Already taken by {who}.", actionFailed: "That did not work ({status}).",
    tier: "Tier", lastVisit: "Last visit", neverVisited: "first visit", visits90: "Visits (90 days)",
    usualSizes: "Usual sizes", likes: "Likes", triedNotBought: "Tried last time, not bought",
    sound: "Sound", vibrate: "Vibrate", notifications: "Notifications", enable: "Enable",
    pushOn: "Notifications on", pushUnavailable: "Notifications are not available here",
    pushDenied: "Notifications are blocked in the browser",
    occupied: "occupied", free: "free", since: "for {min} min", items: "{n} items tried",
    staffPresent: "staff with them", noStaff: "no staff yet", noRooms: "No fitting rooms reported yet.",
    notAvailable: "Not available on this server yet.", loading: "Loading…", noTasks: "No follow-up tasks.",
    due: "due {when}", complete: "Done",
    footfall: "Footfall by hour", footfallToday: "Footfall today", usual: "usual", todayLabel: "today", conversion: "Conversion",
    fittingUse: "Fitting rooms", alertOutcomes: "Alerts and outcomes today", devicesOnline: "Devices online",
    raised: "raised", claimed: "claimed", type: "type", total: "total",
    nowOccupied: "{n} of {m} occupied now", sessions: "sessions", tryOns: "try-ons",
    visitsWithSale: "visits with a sale", triedBought: "tried → bought", followupPurchases: "bought after a follow-up",
    save: "Save", saved: "Saved.", reset: "Reset", ruleHelp: "Changes apply to this store only.",
    compare: "Stores side by side", alertsRaised: "Alerts raised", purchases: "Purchased after an alert",
    devicesOf: "{n} of {m}", language: "中文", store: "Store", refresh: "Refresh",
    justNow: "just now", minutesAgo: "{n} min ago", hoursAgo: "{n} h ago", daysAgo: "{n} days ago",
    task_contacted: "Contacted", task_visit_booked: "Visit booked", task_purchased: "Purchased",
    task_not_interested: "Not interested", task_unreachable: "Unreachable", task_not_needed: "Not needed",
    "type_followup.task": "Follow-up",
    "type_member.arrived": "Member arrived", "type_member.returning": "Member back",
    "type_fitting_room.unattended": "Room unattended", "type_fitting_room.help": "Room needs help",
    "type_sku.tried_not_bought": "Tried, not bought", "type_stock.restock": "Restock",
    "type_traffic.surge": "Traffic surge", "type_device.offline": "Device offline", "type_device.silent": "Device silent",
    staff: "Staff", onShiftNow: "On shift now", nobodyOnShift: "Nobody is on shift now.",
    storeTime: "Store time {time}", shiftsToday: "Shifts today ({day})", noShiftsToday: "No shifts today.",
    thisWeek: "This week", noStaffHere: "No staff in this store yet.", noShifts: "No shifts here.",
    shiftHelp: "Shifts repeat every week, in the store's local time.",
    role: "Role", badge: "Badge", noBadge: "none", onShift: "on shift", offShift: "off shift",
    addShift: "Add shift", editShift: "Edit", removeShift: "Remove", cancel: "Cancel",
    from: "From", to: "To", allDay: "all day", everyDay: "every day", allZones: "all zones",
    shiftSaved: "Shift saved.", shiftRemoved: "Shift removed.",
    field_days: "Days", field_hours: "Hours", field_zones: "Zones", field_shifts: "Shifts",
    role_assistant: "Assistant", role_manager: "Manager", role_store_manager: "Manager", role_supervisor: "Supervisor",
    day_mon: "Mon", day_tue: "Tue", day_wed: "Wed", day_thu: "Thu", day_fri: "Fri", day_sat: "Sat", day_sun: "Sun",
  },
  "zh-CN": {
    app: "storesense", signIn: "登录", username: "用户名", password: "密码",
    badLogin: "用户名或密码错误。", limited: "尝试次数过多，请 {s} 秒后再试。",
    loginFailed: "登录失败（{status}）。", signOut: "退出",
    live: "实时", connecting: "连接中…", reconnecting: "重新连接中…", offline: "离线",
    alerts: "提醒", rooms: "试衣间", tasks: "任务", today: "今日", rules: "规则",
    stores: "门店", noAlerts: "暂无提醒，新提醒会实时显示在这里。",
    claim: "认领", claimedBy: "已由 {who} 认领", claimedByYou: "已由你认领",
    resolveAs: "结果如何？", resolvedAs: "已处理：{outcome}", expired: "已过期",
    escalated: "已升级给店长",
    outcome_served: "已接待", outcome_purchased: "已购买", outcome_not_needed: "无需跟进",
    outcome_no_show: "未见到顾客", outcome_false_alarm: "误报", outcome_expired: "已过期",
    state_open: "新", state_claimed: "已认领", state_resolved: "已处理",
    state_escalated: "已升级", state_expired: "已过期",
    takenBy: "已被 {who} 认领。", actionFailed: "操作失败（{status}）。",
    tier: "等级", lastVisit: "上次到店", neverVisited: "首次到店", visits90: "近 90 天到店",
    usualSizes: "常穿尺码", likes: "偏好", triedNotBought: "上次试穿未购买",
    sound: "声音", vibrate: "振动", notifications: "通知", enable: "开启",
    pushOn: "通知已开启", pushUnavailable: "此处无法使用通知", pushDenied: "浏览器已阻止通知",
    occupied: "使用中", free: "空闲", since: "已 {min} 分钟", items: "试穿 {n} 件",
    staffPresent: "有店员陪同", noStaff: "暂无店员", noRooms: "暂无试衣间数据。",
    notAvailable: "此服务器暂不支持。", loading: "加载中…", noTasks: "暂无跟进任务。",
    due: "截止 {when}", complete: "完成",
    footfall: "每小时客流", footfallToday: "今日客流", usual: "平常", todayLabel: "今日", conversion: "转化率",
    fittingUse: "试衣间", alertOutcomes: "今日提醒与结果", devicesOnline: "在线设备",
    raised: "发出", claimed: "认领", type: "类型", total: "合计",
    nowOccupied: "当前 {n}/{m} 间使用中", sessions: "试衣次数", tryOns: "试穿件数",
    visitsWithSale: "成交到店", triedBought: "试穿 → 购买", followupPurchases: "跟进后购买",
    save: "保存", saved: "已保存。", reset: "恢复", ruleHelp: "修改只对本店生效。",
    compare: "门店对比", alertsRaised: "发出的提醒", purchases: "提醒后购买",
    devicesOf: "{n}/{m}", language: "EN", store: "门店", refresh: "刷新",
    justNow: "刚刚", minutesAgo: "{n} 分钟前", hoursAgo: "{n} 小时前", daysAgo: "{n} 天前",
    task_contacted: "已联系", task_visit_booked: "已预约到店", task_purchased: "已购买",
    task_not_interested: "不感兴趣", task_unreachable: "联系不上", task_not_needed: "无需跟进",
    "type_followup.task": "跟进任务",
    "type_member.arrived": "会员到店", "type_member.returning": "会员回归",
    "type_fitting_room.unattended": "试衣间无人照应", "type_fitting_room.help": "试衣间需要帮助",
    "type_sku.tried_not_bought": "试穿未购买", "type_stock.restock": "补货",
    "type_traffic.surge": "客流激增", "type_device.offline": "设备离线", "type_device.silent": "设备无数据",
    staff: "员工", onShiftNow: "当前在岗", nobodyOnShift: "当前无人在岗。",
    storeTime: "门店时间 {time}", shiftsToday: "今日班次（{day}）", noShiftsToday: "今日无班次。",
    thisWeek: "本周排班", noStaffHere: "本店暂无员工。", noShifts: "在本店暂无班次。",
    shiftHelp: "班次每周重复，按门店当地时间。",
    role: "岗位", badge: "工牌", noBadge: "无", onShift: "在岗", offShift: "不在岗",
    addShift: "添加班次", editShift: "编辑", removeShift: "删除", cancel: "取消",
    from: "开始", to: "结束", allDay: "全天", everyDay: "每天", allZones: "全部区域",
    shiftSaved: "班次已保存。", shiftRemoved: "班次已删除。",
    field_days: "日期", field_hours: "时间", field_zones: "区域", field_shifts: "班次",
    role_assistant: "店员", role_manager: "店长", role_store_manager: "店长", role_supervisor: "主管",
    day_mon: "周一", day_tue: "周二", day_wed: "周三", day_thu: "周四", day_fri: "周五", day_sat: "周六", day_sun: "周日",
  },
};

export const LOCALES = Object.keys(TEXTS);
let current = "en";

export function chooseLocale(storeLocale) {
  const picked = localStorage.getItem("storesense.locale");
  const browser = (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
  current = TEXTS[picked] ? picked : TEXTS[storeLocale] ? storeLocale : browser;
  document.documentElement.lang = current;
  return current;
}

export function locale() { return current; }

export function setLocale(value) {
  if (!TEXTS[value]) return;
  localStorage.setItem("storesense.locale", value);
  current = value;
  document.documentElement.lang = value;
}

export function hasChosenLocale() { return Boolean(localStorage.getItem("storesense.locale")); }

export function t(key, params = {}) {
  const text = (TEXTS[current] && TEXTS[current][key]) || TEXTS.en[key] || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : ""));
}

// A label for an alert type; custom rules' types show as they are.
export function typeLabel(type) {
  const key = "type_" + type;
  const text = t(key);
  return text === key ? type : text;
}

export function ago(ms) {
  const minutes = Math.round((Date.now() - ms) / 60000);
  if (minutes < 1) return t("justNow");
  if (minutes < 60) return t("minutesAgo", { n: minutes });
  if (minutes < 48 * 60) return t("hoursAgo", { n: Math.round(minutes / 60) });
  return t("daysAgo", { n: Math.round(minutes / 1440) });
}

export function time(ms) {
  return new Date(ms).toLocaleTimeString(current, { hour: "2-digit", minute: "2-digit" });
}
