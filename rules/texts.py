"""Alert titles and bodies in the store's locale (`en`, `zh-CN`), from templates.

Every built-in rule has a text here; custom rules carry their own (rendered from the
store's YAML templates into `facts["texts"]`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

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
    texts = draft.facts.get("texts")
    if draft.type.startswith("custom.") and isinstance(texts, dict) and locale in texts:
        title, body = texts[locale]
        return str(title), str(body)
    if draft.type in ("member.arrived", "member.returning") and draft.member is not None:
        return _member(draft, locale, now_ms)
    template = _TEMPLATES.get(draft.type)
    if template is not None:
        return template(draft.facts, _zone(draft.zone, locale), locale)
    if locale == "zh-CN":
        return (f"提醒：{draft.type}", f"门店 {draft.store}")
    return (f"Alert: {draft.type}", f"Store {draft.store}")


def _member(draft: AlertDraft, locale: Locale, now_ms: int) -> tuple[str, str]:
    assert draft.member is not None
    name = draft.member.name
    tier = _TIERS[locale].get(draft.member.tier or "", draft.member.tier or "")
    last = _last_visit(draft.facts.get("last_visit_ts"), locale, now_ms)
    zone = _zone(draft.zone, locale)
    facts = draft.facts
    if draft.type == "member.returning":
        days = facts.get("absent_days", 0)
        if locale == "zh-CN":
            title = (
                f"{tier}会员 {name} 时隔 {days} 天再次到店"
                if tier
                else f"会员 {name} 时隔 {days} 天再次到店"
            )
            return title, "好久不见：请热情欢迎，了解近况。" + (f"位置：{zone}。" if zone else "")
        title = f"{name} is back after {days} days"
        return title, "Welcome them back warmly." + (f" Seen at {zone}." if zone else "")
    if locale == "zh-CN":
        title = f"{tier}会员 {name} 到店" if tier else f"会员 {name} 到店"
        body = f"上次到店：{last}。" + (f"位置：{zone}。" if zone else "")
        body += _profile_zh(facts)
        return title, body
    title = f"{name} ({tier}) just arrived" if tier else f"{name} just arrived"
    body = f"Last visit: {last}." + (f" Seen at {zone}." if zone else "")
    return title, body + _profile_en(facts)


def _profile_en(facts: dict[str, Any]) -> str:
    parts = []
    visits = facts.get("visits_90d")
    if isinstance(visits, int) and visits > 0:
        parts.append(f"{visits} visit{'s' if visits != 1 else ''} in 90 days.")
    if facts.get("favourite_styles"):
        parts.append(f"Likes: {', '.join(facts['favourite_styles'])}.")
    if facts.get("favourite_sizes"):
        parts.append(f"Size: {', '.join(facts['favourite_sizes'])}.")
    if facts.get("tried_not_bought"):
        parts.append(f"Tried last time, not bought: {', '.join(facts['tried_not_bought'])}.")
    return "".join(f" {part}" for part in parts)


def _profile_zh(facts: dict[str, Any]) -> str:
    parts = []
    visits = facts.get("visits_90d")
    if isinstance(visits, int) and visits > 0:
        parts.append(f"近 90 天到店 {visits} 次。")
    if facts.get("favourite_styles"):
        parts.append(f"偏好：{'、'.join(facts['favourite_styles'])}。")
    if facts.get("favourite_sizes"):
        parts.append(f"常穿尺码：{'、'.join(facts['favourite_sizes'])}。")
    if facts.get("tried_not_bought"):
        parts.append(f"上次试穿未购买：{'、'.join(facts['tried_not_bought'])}。")
    return "".join(parts)


_Template = Callable[[dict[str, Any], str, Locale], tuple[str, str]]


def _unattended(facts: dict[str, Any], zone: str, locale: Locale) -> tuple[str, str]:
    minutes, items = facts.get("minutes", 0), facts.get("items", 0)
    if locale == "zh-CN":
        return f"{zone} 无人照应", f"顾客已试衣 {minutes} 分钟（{items} 件），尚无店员前往。"
    return (
        f"{zone}: nobody has checked in",
        f"A customer has been trying on for {minutes} min ({items} items), no staff yet.",
    )


def _help(facts: dict[str, Any], zone: str, locale: Locale) -> tuple[str, str]:
    if facts.get("kind") == "sizes":
        sizes = ", ".join(facts.get("sizes", []))
        if locale == "zh-CN":
            return f"{zone} 需要尺码帮助", f"顾客在试 {facts.get('name')} 的多个尺码（{sizes}）。"
        return (
            f"{zone}: size help",
            f"Trying {facts.get('name')} in several sizes ({sizes}): offer the right fit.",
        )
    items = facts.get("items", 0)
    if locale == "zh-CN":
        return f"{zone} 搭配建议机会", f"顾客本次已试 {items} 件，可提供搭配建议。"
    return f"{zone}: styling opportunity", f"{items} items tried this session: offer styling help."


def _product(facts: dict[str, Any]) -> str:
    parts = [facts.get("name"), facts.get("colour"), facts.get("size")]
    named = " ".join(str(part) for part in parts if part)
    return named or str(facts.get("gtin", ""))


def _tried_not_bought(facts: dict[str, Any], zone: str, locale: Locale) -> tuple[str, str]:
    product, tried = _product(facts), facts.get("tried", 0)
    if locale == "zh-CN":
        return f"{product} 试穿多、未售出", f"今天已试穿 {tried} 次，无一售出：请检查版型或价格。"
    return (
        f"{product}: tried often, not bought",
        f"Tried {tried} times today and never bought: check fit or price.",
    )


def _restock(facts: dict[str, Any], zone: str, locale: Locale) -> tuple[str, str]:
    product, backroom = _product(facts), facts.get("backroom", 0)
    if locale == "zh-CN":
        return f"补货：{product}", f"卖场已无此尺码，仓库有 {backroom} 件。"
    return f"Restock {product}", f"None left on the floor; {backroom} in the backroom."


def _surge(facts: dict[str, Any], zone: str, locale: Locale) -> tuple[str, str]:
    entries, usual = facts.get("entries", 0), facts.get("usual", 0)
    window, staff = facts.get("window_min", 10), facts.get("staff_on_shift", 0)
    if locale == "zh-CN":
        return (
            "客流激增",
            f"最近 {window} 分钟进店 {entries} 人（平时约 {usual} 人），在岗店员 {staff} 人。",
        )
    return (
        "Traffic surge",
        f"{entries} people in over the last {window} min (usually about {usual}); "
        f"{staff} staff on shift.",
    )


def _offline(facts: dict[str, Any], zone: str, locale: Locale) -> tuple[str, str]:
    device = facts.get("device", "")
    if locale == "zh-CN":
        return f"设备离线：{device}", "设备已报告离线，请检查电源和网络。"
    return f"Device offline: {device}", "It reported itself offline: check power and network."


def _silent(facts: dict[str, Any], zone: str, locale: Locale) -> tuple[str, str]:
    device, minutes = facts.get("device", ""), facts.get("minutes", 0)
    if locale == "zh-CN":
        return f"设备无数据：{device}", f"已 {minutes} 分钟没有事件，请检查设备。"
    return f"Device silent: {device}", f"No events for {minutes} min: check the device."


_TEMPLATES: dict[str, _Template] = {
    "fitting_room.unattended": _unattended,
    "fitting_room.help": _help,
    "sku.tried_not_bought": _tried_not_bought,
    "stock.restock": _restock,
    "traffic.surge": _surge,
    "device.offline": _offline,
    "device.silent": _silent,
}


def _zone(zone: str | None, locale: Locale) -> str:
    if zone is None:
        return ""
    if locale == "zh-CN" and zone.startswith("fitting-room-"):
        return f"{zone.removeprefix('fitting-room-')} 号试衣间"
    return _ZONES[locale].get(zone, zone)


def _last_visit(last_ms: object, locale: Locale, now_ms: int) -> str:
    if not isinstance(last_ms, int):
        return "首次到店" if locale == "zh-CN" else "first visit"
    days = max(0, (now_ms - last_ms) // 86_400_000)
    if locale == "zh-CN":
        return "今天" if days == 0 else ("昨天" if days == 1 else f"{days} 天前")
    return "today" if days == 0 else ("yesterday" if days == 1 else f"{days} days ago")
