"""Custom rules from YAML: conditions, counts over a window, safe templates."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from rules.custom import (
    Count,
    CustomRule,
    EventFacts,
    Window,
    count_in_window,
    custom_draft,
    matches,
)
from rules.texts import render
from storesense.registry.members import Member

NOW = 1_795_658_400_000
GOLD = Member(member_id="m1", name="Li Na", tier="gold", consent=True)


def rule(**kw: Any) -> CustomRule:
    raw: dict[str, Any] = {
        "id": "r1",
        "when": {},
        "title": {"en": "$zone busy", "zh-CN": "$zone 繁忙"},
        "body": {"en": "$count in $within_min min", "zh-CN": "$within_min 分钟 $count 次"},
    }
    raw.update(kw)
    return CustomRule.model_validate(raw)


def event(type_: str = "rfid.tag", zone: str | None = "fitting-room-2",
          member: Member | None = None, **fields: Any) -> EventFacts:  # fmt: skip
    return EventFacts("s1", "rfid-fr2", type_, NOW, zone, fields, member)


@pytest.mark.parametrize(
    ("when", "facts", "expected"),
    [
        ({"type": "rfid.tag"}, event(), True),
        ({"type": "door.crossing"}, event(), False),
        ({"zone": "fitting-room-*"}, event(), True),
        ({"zone": "fitting-room-*"}, event(zone="floor"), False),
        ({"zone": "fitting-room-*"}, event(zone=None), False),
        ({"tiers": ["gold"]}, event(member=GOLD), True),
        ({"tiers": ["platinum"]}, event(member=GOLD), False),
        ({"tiers": ["gold"]}, event(), False),
        ({"tiers": ["gold"]}, event(member=Member(member_id="x", name="x", tier="gold")), False),
        ({"fields": [{"field": "action", "value": "enter"}]}, event(action="enter"), True),
        (
            {"fields": [{"field": "action", "op": "ne", "value": "enter"}]},
            event(action="leave"),
            True,
        ),
        ({"fields": [{"field": "action", "op": "ne", "value": "x"}]}, event(), True),
        ({"fields": [{"field": "action", "value": "enter"}]}, event(), False),
        ({"fields": [{"field": "rssi", "op": "gt", "value": -50}]}, event(rssi=-42.5), True),
        ({"fields": [{"field": "rssi", "op": "lt", "value": -50}]}, event(rssi=-42.5), False),
        ({"fields": [{"field": "rssi", "op": "gt", "value": -50}]}, event(rssi="strong"), False),
        (
            {"fields": [{"field": "direction", "op": "in", "value": ["in"]}]},
            event(direction="in"),
            True,
        ),
        (
            {"fields": [{"field": "epc", "op": "contains", "value": "abc"}]},
            event(epc="00abc0"),
            True,
        ),
        (
            {"fields": [{"field": "items", "op": "contains", "value": "00614141123452"}]},
            event("pos.sale", items=[{"gtin": "00614141123452", "qty": 1}]),
            True,
        ),
        ({"fields": [{"field": "meta.fw", "value": "2.1"}]}, event(meta={"fw": "2.1"}), True),
    ],
)
def test_conditions(when: dict[str, Any], facts: EventFacts, expected: bool) -> None:
    assert matches(rule(when=when), facts) is expected


def test_a_disabled_rule_matches_nothing() -> None:
    assert not matches(rule(enabled=False), event())


def test_a_burst_in_the_window_fires_once_and_then_starts_over() -> None:
    count = Count(at_least=3, within_min=10)
    window = Window()
    minute = 60_000
    assert count_in_window(window, NOW, count) is None
    assert count_in_window(window, NOW + 11 * minute, count) is None  # the first fell out
    assert count_in_window(window, NOW + 12 * minute, count) is None
    assert count_in_window(window, NOW + 13 * minute, count) == (NOW + 11 * minute, 3)
    assert count_in_window(window, NOW + 14 * minute, count) is None  # one situation, one alert
    assert window.times == [NOW + 14 * minute]


def test_the_draft_renders_the_templates_in_both_locales() -> None:
    fired = rule(count={"at_least": 3, "within_min": 10, "per": "zone"}, audience="manager")
    draft = custom_draft(fired, event(), started_ms=NOW - 1000, counted=3)
    assert (draft.type, draft.rule, draft.audience) == ("custom.r1", "custom.r1", "manager")
    assert draft.subject == f"fitting-room-2@{NOW - 1000}"
    assert render(draft, "en", NOW) == ("fitting-room-2 busy", "3 in 10 min")
    assert render(draft, "zh-CN", NOW) == ("fitting-room-2 繁忙", "10 分钟 3 次")


def test_member_fields_are_filled_and_values_are_never_code() -> None:
    named = rule(title={"en": "$member_name ($member_tier)", "zh-CN": "$member_name"},
                 body={"en": "$epc", "zh-CN": "$epc"})  # fmt: skip
    draft = custom_draft(named, event(member=GOLD, epc="${store} {0.__class__}"))
    assert render(draft, "en", NOW) == ("Li Na (gold)", "${store} {0.__class__}")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"title": {"en": "$nope", "zh-CN": "x"}}, "unknown placeholders ['nope']"),
        ({"title": {"en": "cost $", "zh-CN": "x"}}, "bad placeholder syntax"),
        ({"title": {"en": "x"}}, "zh-CN"),
        ({"id": "Bad Id"}, "String should match pattern"),
        ({"when": {"type": "rfid.tags"}}, "Input should be"),
        ({"when": {"fields": [{"field": "a", "op": "in", "value": "x"}]}}, "needs a list"),
        ({"when": {"fields": [{"field": "a", "op": "regex", "value": "x"}]}}, "Input should be"),
        ({"count": {"at_least": 2, "within_min": 5, "per": "member"}}, "needs `when.tiers`"),
        ({"count": {"at_least": 1, "within_min": 5}}, "greater than or equal to 2"),
    ],
)
def test_invalid_rules_are_refused(change: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error.replace("[", r"\[").replace("]", r"\]")):
        rule(**change)


@given(
    gaps=st.lists(st.integers(min_value=0, max_value=20 * 60_000), min_size=1, max_size=60),
    at_least=st.integers(min_value=2, max_value=6),
)
def test_a_window_fires_at_most_once_per_at_least_events(gaps: list[int], at_least: int) -> None:
    count = Count(at_least=at_least, within_min=10)
    window, ts, fired = Window(), NOW, []
    for gap in gaps:
        ts += gap
        result = count_in_window(window, ts, count)
        if result is not None:
            start, counted = result
            assert counted == at_least and ts - start < 10 * 60_000
            fired.append(ts)
    assert len(fired) <= len(gaps) // at_least
