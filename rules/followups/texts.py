"""Task texts in the store's locale: "Ms Li tried the navy coat in M; it is back in stock"."""

from __future__ import annotations

from typing import Literal

from rules.followups.model import TaskItem

Locale = Literal["en", "zh-CN"]


def _item(item: TaskItem, locale: Locale) -> str:
    name = item.name or item.gtin
    if locale == "zh-CN":
        detail = "".join(part for part in (item.colour, name) if part)
        return f"{detail}（{item.size}码）" if item.size else detail
    detail = " ".join(part for part in (item.colour, name) if part)
    return f"the {detail} in {item.size}" if item.size else f"the {detail}"


def render(
    member_name: str, items: tuple[TaskItem, ...], note: str | None, locale: Locale
) -> tuple[str, str]:
    """(title, body) of a follow-up task."""
    shown = items[:3]
    in_stock = [item for item in shown if item.in_stock]
    if locale == "zh-CN":
        title = f"跟进：{member_name}"
        parts = []
        if shown:
            parts.append(f"{member_name}试穿了" + "、".join(_item(i, locale) for i in shown))
        if in_stock:
            parts.append("现已有货")
        if note:
            parts.append(note)
        return title, "；".join(parts) + "。" if parts else title
    title = f"Follow up: {member_name}"
    parts = []
    if shown:
        parts.append(f"{member_name} tried " + ", ".join(_item(i, locale) for i in shown))
    if in_stock:
        parts.append("it is back in stock" if len(in_stock) == 1 else "they are in stock")
    if note:
        parts.append(note)
    return title, ("; ".join(parts) + ".") if parts else title
