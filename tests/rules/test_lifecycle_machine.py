"""The alert state machine: one holder, closed outcomes, escalation then expiry."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.lifecycle.machine import Changed, Refused, advance, claim, mark_delivered, resolve
from storesense.protocol.alerts import Alert, Outcome

RAISED_MS = 1_795_000_000_000


def open_alert(**changes: Any) -> Alert:
    base = Alert(id=f"{RAISED_MS:013x}aaaaaaaaaaaa", store="s1", type="member.arrived",
                 ts=RAISED_MS, state="open", title="t", body="b", due=RAISED_MS + 120_000)  # fmt: skip
    return msgspec.structs.replace(base, **changes)


def test_claim_takes_an_open_alert_and_a_second_claim_names_the_holder() -> None:
    first = claim(open_alert(), "a1", RAISED_MS + 5000)
    assert isinstance(first, Changed)
    assert first.alert.state == "claimed" and first.alert.claimed_by == "a1"
    assert first.alert.version == 2 and first.alert.updated == RAISED_MS + 5000
    assert first.alert.due is None  # a claimed alert no longer escalates
    second = claim(first.alert, "a2", RAISED_MS + 5001)
    assert isinstance(second, Refused) and second.reason == "taken"
    assert "a1" in second.message
    again = claim(first.alert, "a1", RAISED_MS + 5002)
    assert isinstance(again, Changed) and not again.changed  # idempotent for the holder


def test_resolve_needs_the_holder_and_closes_once() -> None:
    claimed = claim(open_alert(), "a1", RAISED_MS + 1000)
    assert isinstance(claimed, Changed)
    other = resolve(claimed.alert, "a2", "served", RAISED_MS + 2000)
    assert isinstance(other, Refused) and other.reason == "not_holder"
    done = resolve(claimed.alert, "a1", "purchased", RAISED_MS + 3000)
    assert isinstance(done, Changed) and done.alert.state == "resolved"
    assert done.alert.outcome == "purchased" and done.alert.resolved == RAISED_MS + 3000
    late = resolve(done.alert, "a1", "served", RAISED_MS + 4000)
    assert isinstance(late, Refused) and late.reason == "final"
    late_claim = claim(done.alert, "a3", RAISED_MS + 4000)
    assert isinstance(late_claim, Refused) and late_claim.reason == "final"


def test_resolving_an_unclaimed_alert_counts_as_claimed_by_the_resolver() -> None:
    done = resolve(open_alert(), "a1", "not_needed", RAISED_MS + 9000)
    assert isinstance(done, Changed)
    assert done.alert.claimed_by == "a1" and done.alert.claimed == RAISED_MS + 9000


def test_unclaimed_alert_escalates_to_managers_then_expires() -> None:
    expire_at = RAISED_MS + 600_000
    assert (
        advance(open_alert(), RAISED_MS + 119_999, expire_at_ms=expire_at, managers=["m"]) is None
    )
    escalated = advance(open_alert(), RAISED_MS + 120_000, expire_at_ms=expire_at, managers=["m"])
    assert escalated is not None and escalated.state == "escalated"
    assert escalated.audience == "manager" and escalated.targets == ["m"]
    assert escalated.due == expire_at and escalated.version == 2
    # A second process making the same step finds nothing due any more.
    assert advance(escalated, RAISED_MS + 120_001, expire_at_ms=expire_at, managers=["m"]) is None
    expired = advance(escalated, expire_at, expire_at_ms=expire_at, managers=["m"])
    assert expired is not None and expired.state == "expired" and expired.due is None
    claimable = claim(escalated, "m", RAISED_MS + 130_000)
    assert isinstance(claimable, Changed)  # the manager (or anyone) can still take it


def test_manager_alert_does_not_escalate_it_expires() -> None:
    alert = open_alert(audience="manager", due=RAISED_MS + 600_000)
    expired = advance(alert, RAISED_MS + 600_000, expire_at_ms=RAISED_MS + 600_000, managers=[])
    assert expired is not None and expired.state == "expired"


def test_stale_timer_of_a_claimed_alert_is_cleared_without_a_new_version() -> None:
    stale = open_alert(state="claimed", claimed_by="a1", due=RAISED_MS)
    cleared = advance(stale, RAISED_MS + 1, expire_at_ms=RAISED_MS + 9, managers=[])
    assert cleared is not None and cleared.due is None and cleared.version == stale.version


def test_delivery_is_recorded_once_without_a_new_version() -> None:
    delivered = mark_delivered(open_alert(), RAISED_MS + 10)
    assert delivered is not None and delivered.delivered == RAISED_MS + 10
    assert delivered.version == 1
    assert mark_delivered(delivered, RAISED_MS + 20) is None


@pytest.mark.parametrize("unknown", [None])
def test_unknown_alert_is_refused(unknown: None) -> None:
    assert isinstance(claim(unknown, "a1", 0), Refused)
    assert isinstance(resolve(unknown, "a1", "served", 0), Refused)


@given(st.lists(st.tuples(st.sampled_from(["claim", "resolve"]), st.sampled_from(["a", "b", "c"]),
                          st.sampled_from(["served", "purchased", "no_show"])), max_size=12))  # fmt: skip
def test_any_sequence_of_requests_has_at_most_one_holder_and_one_outcome(
    steps: list[tuple[str, str, Outcome]],
) -> None:
    alert = open_alert()
    holders: set[str] = set()
    outcomes = 0
    for n, (kind, staff, outcome) in enumerate(steps):
        now = RAISED_MS + n
        result = (
            claim(alert, staff, now) if kind == "claim" else resolve(alert, staff, outcome, now)
        )
        if isinstance(result, Changed) and result.changed:
            assert result.alert.version == alert.version + 1
            alert = result.alert
            holders.add(alert.claimed_by or "")
            outcomes += alert.state == "resolved"
    assert len(holders) <= 1 and outcomes <= 1
