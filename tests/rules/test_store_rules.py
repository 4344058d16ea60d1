"""The time- and store-based built-in rules, as pure functions of views and parameters."""

import pytest

from rules.devices import device_down
from rules.fitting_room import help_needed, unattended
from rules.merchandise import restock, tried_not_bought
from rules.params import (
    DeviceSilentRule,
    FittingRoomHelpRule,
    FittingRoomUnattendedRule,
    RestockRule,
    SkuTriedNotBoughtRule,
    TrafficSurgeRule,
)
from rules.texts import render
from rules.traffic import surge
from rules.views import DeviceView, RoomView, SkuDay, StockView, TrafficView
from storesense.backends.state.base import DeviceRecord
from storesense.registry.products import Product

NOW = 1_795_658_400_000
MIN = 60_000


def product(style: str, size: str) -> Product:
    return Product(gtin=f"0{style}{size}", style=style, name=f"Shirt {style}", size=size)


def room(start: int | None = NOW - 10 * MIN, **kw: object) -> RoomView:
    values: dict[str, object] = dict(
        zone="fitting-room-2", session_start_ms=start, staff_present=False, staff_attended=False,
        tried=2,
    )  # fmt: skip
    values.update(kw)
    return RoomView(**values)  # type: ignore[arg-type]


class TestUnattended:
    params = FittingRoomUnattendedRule(after_min=8)

    def test_fires_once_the_session_ran_past_the_limit_with_no_staff(self) -> None:
        draft = unattended("s1", room(), self.params, NOW)
        assert draft is not None and draft.subject == f"fitting-room-2@{NOW - 10 * MIN}"
        assert draft.zone == "fitting-room-2" and draft.facts["minutes"] == 10
        assert render(draft, "zh-CN", NOW)[0] == "2 号试衣间 无人照应"
        # the next evaluation yields the same situation (the raiser dedupes on it)
        again = unattended("s1", room(), self.params, NOW + MIN)
        assert again is not None and again.subject == draft.subject

    @pytest.mark.parametrize(
        "view",
        [
            room(start=NOW - 7 * MIN),
            room(start=None),
            room(staff_present=True),
            room(staff_attended=True),
        ],
        ids=["too-early", "empty", "staff-inside", "staff-came"],
    )
    def test_silent(self, view: RoomView) -> None:
        assert unattended("s1", view, self.params, NOW) is None

    def test_disabled(self) -> None:
        assert unattended("s1", room(), FittingRoomUnattendedRule(enabled=False), NOW) is None


class TestHelp:
    params = FittingRoomHelpRule(min_sizes=2, min_items=4)

    def test_several_sizes_of_one_style_ask_for_size_help(self) -> None:
        items = (product("A", "S"), product("A", "M"), product("B", "M"))
        draft = help_needed("s1", room(items=items, tried=3), self.params)
        assert draft is not None
        assert draft.facts["kind"] == "sizes" and draft.facts["sizes"] == ["M", "S"]
        assert render(draft, "en", NOW)[0] == "fitting-room-2: size help"

    def test_many_items_ask_for_styling(self) -> None:
        items = tuple(product(style, "M") for style in "ABCD")
        draft = help_needed("s1", room(items=items, tried=4), self.params)
        assert draft is not None and draft.facts["kind"] == "items"
        assert draft.subject == f"fitting-room-2@{NOW - 10 * MIN}"

    def test_few_items_in_one_size_each_need_nothing(self) -> None:
        items = (product("A", "M"), product("B", "M"))
        assert help_needed("s1", room(items=items, tried=2), self.params) is None


class TestTriedNotBought:
    params = SkuTriedNotBoughtRule(min_tries=5, grace_min=30)

    def sku(self, tried_min_ago: list[int], sold: int = 0) -> SkuDay:
        times = tuple(sorted(NOW - m * MIN for m in tried_min_ago))
        return SkuDay(
            gtin="0614", day="2026-11-26", tried=len(times), sold=sold,
            product=product("A", "M"), tried_ms=times,
        )  # fmt: skip

    def test_tried_often_never_bought_goes_to_the_manager(self) -> None:
        draft = tried_not_bought("s1", self.sku([90, 80, 70, 60, 40, 5]), self.params, NOW)
        assert draft is not None and draft.audience == "manager"
        assert draft.subject == "0614@2026-11-26" and draft.facts["tried"] == 6
        assert draft.ts_ms == NOW - 40 * MIN + 30 * MIN  # the fifth settled try-on
        assert render(draft, "en", NOW)[0] == "Shirt A M: tried often, not bought"
        later = tried_not_bought("s1", self.sku([95, 85, 75, 65, 45, 10]), self.params, NOW)
        assert later is not None and later.ts_ms == draft.ts_ms - 5 * MIN

    @pytest.mark.parametrize(
        ("ago", "sold"),
        [([90, 80, 70, 60], 0), ([90, 80, 70, 60, 20], 0), ([90, 80, 70, 60, 50, 40], 1)],
        ids=["too-few", "last-still-in-grace", "one-sold"],
    )
    def test_silent(self, ago: list[int], sold: int) -> None:
        assert tried_not_bought("s1", self.sku(ago, sold), self.params, NOW) is None


class TestRestock:
    @pytest.mark.parametrize(
        ("floor", "backroom", "fires"), [(0, 2, True), (1, 2, False), (0, 0, False)]
    )
    def test_fires_only_when_the_floor_is_out_and_the_backroom_has_it(
        self, floor: int, backroom: int, fires: bool
    ) -> None:
        stock = StockView(gtin="0614", floor=floor, backroom=backroom)
        draft = restock("s1", stock, RestockRule(), NOW, "2026-11-26")
        assert (draft is not None) is fires
        if draft is not None:
            assert draft.subject == "0614@2026-11-26" and draft.zone == "backroom"

    def test_one_alert_per_time_the_floor_ran_out(self) -> None:
        stock = StockView(gtin="0614", floor=0, backroom=2, floor_out_ms=NOW - 5)
        draft = restock("s1", stock, RestockRule(), NOW, "2026-11-26")
        assert draft is not None and draft.subject == f"0614@{NOW - 5}"


class TestSurge:
    params = TrafficSurgeRule(factor=2.0, min_entries=8, entries_per_staff=6, min_history_days=2)

    def view(
        self, entries: int, usual: float | None = 5, days: int = 3, staff: int = 1
    ) -> TrafficView:
        return TrafficView(NOW - 10 * MIN, entries, usual, days, staff)

    def test_fires_well_above_usual_for_too_few_staff(self) -> None:
        draft = surge("s1", self.view(12), self.params, NOW, "2026-11-26T14")
        assert draft is not None and draft.subject == "surge@2026-11-26T14"
        assert draft.facts["usual"] == 5 and draft.audience == "manager"

    @pytest.mark.parametrize(
        ("entries", "usual", "days", "staff"),
        [(9, 5, 3, 1), (7, 2, 3, 0), (12, 5, 3, 3), (12, 5, 1, 1), (12, None, 0, 1)],
        ids=["not-2x", "below-min", "enough-staff", "short-history", "no-baseline"],
    )
    def test_silent(self, entries: int, usual: float | None, days: int, staff: int) -> None:
        assert surge("s1", self.view(entries, usual, days, staff), self.params, NOW, "h") is None

    def test_configured_baseline_stands_in_until_history_exists(self) -> None:
        params = self.params.model_copy(update={"baseline_per_window": 4.0})
        assert surge("s1", self.view(12, None, 0, 0), params, NOW, "h") is not None


class TestDevices:
    params = DeviceSilentRule(offline_after_s=120, silent_after_min={"door": 30})

    def device(self, state: str = "online", kind: str = "door", ts: int = NOW - 3600_000,
               last: int | None = None) -> DeviceView:  # fmt: skip
        record = DeviceRecord(store="s1", device="door-1", state=state, ts_ms=ts, kind=kind)  # type: ignore[arg-type]
        return DeviceView(record, last)

    def test_offline_past_the_grace_time(self) -> None:
        draft = device_down("s1", self.device("offline", ts=NOW - 3 * MIN), self.params, NOW)
        assert draft is not None and draft.type == "device.offline"
        assert draft.subject == f"door-1@{NOW - 3 * MIN}"
        assert render(draft, "en", NOW)[0] == "Device offline: door-1"

    def test_online_but_silent_for_its_kind(self) -> None:
        draft = device_down("s1", self.device(last=NOW - 31 * MIN), self.params, NOW)
        assert draft is not None and draft.type == "device.silent"
        assert draft.subject == f"door-1@{NOW - 31 * MIN}" and draft.facts["minutes"] == 31

    @pytest.mark.parametrize(
        "view_args",
        [
            {"state": "offline", "ts": NOW - MIN},
            {"last": NOW - 29 * MIN},
            {"kind": "pos", "last": NOW - 300 * MIN},
            {"last": None},
        ],
        ids=["offline-briefly", "recent-event", "kind-may-be-quiet", "never-sent"],
    )
    def test_silent(self, view_args: dict[str, object]) -> None:
        assert device_down("s1", self.device(**view_args), self.params, NOW) is None  # type: ignore[arg-type]


def every_built_in_draft() -> list[object]:
    items = (product("A", "S"), product("A", "M"))
    sku = SkuDay(
        gtin="0614", day="d", tried=5, sold=0, product=product("A", "M"),
        tried_ms=tuple(NOW - 60 * MIN for _ in range(5)),
    )  # fmt: skip
    door = DeviceRecord(store="s1", device="door-1", state="online", ts_ms=NOW, kind="door")
    reader = DeviceRecord(
        store="s1", device="rfid-1", state="offline", ts_ms=NOW - MIN, kind="rfid"
    )
    return [
        unattended("s1", room(), FittingRoomUnattendedRule(), NOW),
        help_needed("s1", room(items=items), FittingRoomHelpRule()),
        help_needed("s1", room(tried=5), FittingRoomHelpRule()),
        tried_not_bought("s1", sku, SkuTriedNotBoughtRule(), NOW),
        restock("s1", StockView("0614", 0, 3, product("A", "M")), RestockRule(), NOW, "d"),
        surge("s1", TrafficView(NOW, 20, 5, 5, 1), TrafficSurgeRule(), NOW, "h"),
        device_down("s1", DeviceView(door, NOW - 40 * MIN), DeviceSilentRule(), NOW),
        device_down("s1", DeviceView(reader, None), DeviceSilentRule(offline_after_s=0), NOW),
    ]


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_every_built_in_alert_has_its_own_text_in_both_locales(locale: str) -> None:
    drafts = every_built_in_draft()
    assert all(draft is not None for draft in drafts)
    texts = [render(draft, locale, NOW) for draft in drafts]  # type: ignore[arg-type]
    for title, body in texts:
        assert title and body and not title.startswith(("Alert:", "提醒："))
    if locale == "zh-CN":
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in title + body) for title, body in texts)
