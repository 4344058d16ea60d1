"""Telling the current app ID from the ones BlueZ still lists after a rotation."""

from __future__ import annotations

from edge.beacon.staleids import AppIdAges


def test_the_id_first_heard_last_is_current() -> None:
    ages = AppIdAges(forget_after=20)
    assert ages.current("door", "A", ["old"], 0.0) == (["old"], [])
    assert ages.current("door", "A", ["old", "new"], 1.0) == (["new"], ["old"])
    assert ages.current("door", "A", ["new", "old"], 2.0) == (["new"], ["old"])


def test_ids_heard_together_first_are_all_current() -> None:
    ages = AppIdAges(forget_after=20)
    assert ages.current("door", "A", ["x", "y"], 0.0) == (["x", "y"], [])


def test_each_scanner_and_address_keeps_its_own_ages() -> None:
    ages = AppIdAges(forget_after=20)
    ages.current("door", "A", ["old"], 0.0)
    assert ages.current("till", "A", ["old", "new"], 1.0) == (["old", "new"], [])
    assert ages.current("door", "B", ["old", "new"], 1.0) == (["old", "new"], [])


def test_without_an_address_nothing_is_judged_stale() -> None:
    ages = AppIdAges(forget_after=20)
    ages.current("door", "", ["old"], 0.0)
    assert ages.current("door", "", ["old", "new"], 1.0) == (["old", "new"], [])
    assert len(ages) == 0


def test_a_device_not_heard_for_a_while_is_forgotten() -> None:
    ages = AppIdAges(forget_after=20)
    ages.current("door", "A", ["old"], 0.0)
    ages.current("door", "B", ["x"], 15.0)
    ages.expire(21.0)
    assert len(ages) == 1
    assert ages.current("door", "A", ["old", "new"], 22.0) == (["old", "new"], [])
