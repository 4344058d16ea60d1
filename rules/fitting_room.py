"""Fitting-room rules: `fitting_room.unattended` (occupied for long, no staff came) and
`fitting_room.help` (several sizes of one style: size help; many garments: styling)."""

from __future__ import annotations

from collections import defaultdict

from rules.drafts import AlertDraft
from rules.params import FittingRoomHelpRule, FittingRoomUnattendedRule
from rules.views import RoomView


def unattended(
    store: str, room: RoomView, params: FittingRoomUnattendedRule, now_ms: int
) -> AlertDraft | None:
    """A session running `after_min` without any staff badge in the room; one per session."""
    start = room.session_start_ms
    if not params.enabled or start is None or room.staff_present or room.staff_attended:
        return None
    waited_ms = now_ms - start
    if waited_ms < params.after_min * 60_000:
        return None
    return AlertDraft(
        type="fitting_room.unattended",
        store=store,
        ts_ms=start + int(params.after_min * 60_000),
        zone=room.zone,
        facts={"session_start_ts": start, "minutes": waited_ms // 60_000, "items": room.tried},
        rule="fitting_room.unattended",
        subject=f"{room.zone}@{start}",
    )


def help_needed(store: str, room: RoomView, params: FittingRoomHelpRule) -> AlertDraft | None:
    """Sizes first (the more specific need), else many garments; one alert per session
    (dated at the session's start, so re-evaluations are the same situation)."""
    start = room.session_start_ms
    if not params.enabled or start is None:
        return None
    sizes: dict[str, set[str]] = defaultdict(set)
    names: dict[str, str] = {}
    for product in room.items:
        if product.size:
            sizes[product.style].add(product.size)
            names[product.style] = product.name
    style = max(sizes, key=lambda s: (len(sizes[s]), s), default=None)
    facts: dict[str, object] = {"session_start_ts": start, "items": room.tried}
    if style is not None and len(sizes[style]) >= params.min_sizes:
        facts.update(kind="sizes", style=style, name=names[style], sizes=sorted(sizes[style]))
    elif room.tried >= params.min_items:
        facts["kind"] = "items"
    else:
        return None
    return AlertDraft(
        type="fitting_room.help",
        store=store,
        ts_ms=start,
        zone=room.zone,
        facts=facts,
        rule="fitting_room.help",
        subject=f"{room.zone}@{start}",
    )
