"""Alert titles and bodies in the store's locale (`en`, `zh-CN`), from templates."""

from __future__ import annotations

from typing import Literal

from rules.drafts import AlertDraft

Locale = Literal["en", "zh-CN"]

_TIERS: dict[Locale, dict[str, str]] = {
    "en": {},
    "zh-CN": {"classic": "普通", "silver": "银卡", "gold": "金卡", "platinum": "白金卡"},
}

_ZONES: dict[Locale, dict[str, str]] = {
    "en": {},
    "zh-CN": {"entrance": "入口", "floor": "卖场", "backroom": "仓库", "till": "收银台"},
}


def render(draft: AlertDraft, locale: Locale, now_ms: int) -> tuple[str, str]:
    """(title, body) for a draft; unknown alert types get a generic text."""
    if draft.type == "member.arrived" and draft.member is not None:
        return _member_arrived(draft, locale, now_ms)
    if locale == "zh-CN":
        return (f"提醒：{draft.type}", f"门店 {draft.store}")
    return (f"Alert: {draft.type}", f"Store {draft.store}")


def _member_arrived(draft: AlertDraft, locale: Locale, now_ms: int) -> tuple[str, str]:
    assert draft.member is not None
    name = draft.member.name
    tier = _TIERS[locale].get(draft.member.tier or "", draft.member.tier or "")
    last = _last_visit(draft.facts.get("last_visit_ts"), locale, now_ms)
    zone = _ZONES[locale].get(draft.zone or "", draft.zone or "")
    if locale == "zh-CN":
        title = f"{tier}会员 {name} 到店" if tier else f"会员 {name} 到店"
        body = f"上次到店：{last}。" + (f"位置：{zone}。" if zone else "")
        return title, body
    title = f"{name} ({tier}) just arrived" if tier else f"{name} just arrived"
    body = f"Last visit: {last}." + (f" Seen at {zone}." if zone else "")
    return title, body


def _last_visit(last_ms: object, locale: Locale, now_ms: int) -> str:
    if not isinstance(last_ms, int):
        return "首次到店" if locale == "zh-CN" else "first visit"
    days = max(0, (now_ms - last_ms) // 86_400_000)
    if locale == "zh-CN":
        return "今天" if days == 0 else ("昨天" if days == 1 else f"{days} 天前")
    return "today" if days == 0 else ("yesterday" if days == 1 else f"{days} days ago")
