"""Event points: the fast path (no `Point` checks, keys-only unknown-field test) builds
exactly what the checked path builds, and still refuses what no store could keep."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.points import event_point
from storesense.backends.timeseries.base import Point
from storesense.backends.timeseries.line_protocol import encode_point
from storesense.protocol.decode import decode_events

T0 = 1_795_658_400_000


def decoded(event: dict[str, Any], store: str = "s1", device: str = "d1") -> Any:
    result = decode_events(json.dumps(event).encode(), store, device)
    assert not result.rejected, result.rejected
    return result.accepted[0]


def checked(point: Point) -> Point:
    """The same values through `Point`'s checks."""
    return Point(point.measurement, dict(point.tags), dict(point.fields), point.ts_ns)


names = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\\\x7f"), min_size=1
).filter(lambda s: all(ord(c) >= 0x20 for c in s))

events = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("door.crossing"), "direction": st.sampled_from(["in", "out"])},
        optional={"count": st.integers(1, 1000), "door": names.map(lambda s: s[:64])},
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("rfid.tag"),
            "epc": st.from_regex(r"[0-9a-fA-F]{24,64}", fullmatch=True),
            "action": st.sampled_from(["enter", "leave"]),
            "zone": names.map(lambda s: s[:64]),
        },
        optional={
            "antenna": st.integers(0, 2**64),
            "rssi": st.floats(allow_nan=False, allow_infinity=False),
        },
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("beacon.sighting"),
            "beacon": st.from_regex(r"[0-9a-f]{16}", fullmatch=True),
            "rssi": st.integers(-127, 20),
        },
        optional={"zone": names.map(lambda s: s[:64]), "tx_power": st.integers(-127, 20)},
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    events,
    st.text(min_size=1, max_size=64),
    st.integers(100_000_000_000, 7_258_118_400_000),
    st.dictionaries(st.sampled_from(["fw", "battery", "x y"]), st.integers(), max_size=2),
)
def test_fast_points_equal_checked_points_and_encode_alike(
    event: dict[str, Any], event_id: str, ts: int, extra: dict[str, int]
) -> None:
    accepted = decoded({**event, "id": event_id, "ts": ts, **extra})
    if event.get("antenna", 0) >= 2**63:  # the one value here that int64 cannot hold
        with pytest.raises(ValueError, match="int64"):
            event_point(accepted)
        return
    point = event_point(accepted)
    assert point == checked(point)
    assert encode_point(point) == encode_point(checked(point))
    assert point.line in (None, encode_point(point))
    assert ("extra" in point.fields) == bool(extra)


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (
            {
                "type": "rfid.tag",
                "epc": "30" * 12,
                "action": "enter",
                "zone": "z",
                "antenna": 2**63,
            },
            "int64",
        ),
        ({"type": "door.crossing", "direction": "in", "ts": "0001-01-01T00:00:00Z"}, "ts_ns"),
    ],
)
def test_what_no_store_can_keep_is_still_refused(event: dict[str, Any], reason: str) -> None:
    accepted = decoded({"id": "e1", "ts": T0, **event})
    with pytest.raises(ValueError, match=reason):
        event_point(accepted)


def test_an_origin_no_tag_can_carry_is_refused_on_the_fast_path() -> None:
    accepted = decoded({"type": "door.crossing", "id": "e1", "ts": T0, "direction": "in"})
    bad = type(accepted)("s\n1", accepted.device, accepted.event, accepted.raw)
    with pytest.raises(ValueError, match="newline"):
        event_point(bad)


def test_unknown_fields_are_kept_and_known_ones_are_not() -> None:
    plain = decoded({"type": "door.crossing", "id": "e1", "ts": T0, "direction": "in"})
    assert "extra" not in event_point(plain).fields
    odd = decoded(
        {"type": "door.crossing", "id": "e2", "ts": T0, "direction": "in", "fw": "1.2", "door": "a"}
    )
    assert event_point(odd).fields["extra"] == '{"fw":"1.2"}'
