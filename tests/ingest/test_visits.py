from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import visits

GAP = 1000


def test_sightings_within_the_gap_are_one_visit_with_zone_dwell() -> None:
    visit, started = visits.on_sighting(None, "m1", 0, "entrance", "app", GAP)
    visit, _ = visits.on_sighting(visit, "m1", 500, "floor", "app", GAP)
    visit, same = visits.on_sighting(visit, "m1", 1200, "floor", "card", GAP)
    assert started.new_visit and not same.new_visit
    summary = visits.summarize(visit)
    assert summary.dwell_ms == {"entrance": 500, "floor": 700}
    assert (summary.start_ms, summary.end_ms, summary.sources) == (0, 1200, ["app", "card"])


def test_a_sighting_after_the_gap_closes_the_visit_and_starts_another() -> None:
    visit, _ = visits.on_sighting(None, "m1", 0, None, "app", GAP, last_visit_ms=-50_000)
    visit, result = visits.on_sighting(visit, "m1", 5000, None, "sale", GAP)
    assert result.new_visit and result.previous_visit_ms == 0
    assert result.closed is not None and result.closed.end_ms == 0


def test_sweep_closes_once_and_the_next_visit_does_not_report_it_again() -> None:
    visit, first = visits.on_sighting(None, "m1", 0, None, "app", GAP, last_visit_ms=-9)
    assert first.previous_visit_ms == -9
    assert visits.close_if_over(visit, 500, GAP) is None
    assert visits.close_if_over(visit, 5000, GAP) is not None
    assert visits.close_if_over(visit, 6000, GAP) is None
    _, later = visits.on_sighting(visit, "m1", 7000, None, "app", GAP)
    assert later.new_visit and later.closed is None


def test_late_sighting_does_not_move_the_visit_back() -> None:
    visit, _ = visits.on_sighting(None, "m1", 5000, "floor", "app", GAP)
    visit, result = visits.on_sighting(visit, "m1", 4500, "entrance", "app", GAP)
    assert not result.new_visit and visit.last_seen_ms == 5000 and visit.zone == "floor"


def test_a_sale_is_recorded_once() -> None:
    visit, _ = visits.on_sighting(None, "m1", 0, None, "sale", GAP)
    assert visits.add_sale(visit, "s1", ["g1", "g2"])
    assert not visits.add_sale(visit, "s1", ["g1", "g2"])
    assert visits.summarize(visit).bought == 2


@settings(deadline=None)
@given(st.lists(st.integers(0, 3000), min_size=1, max_size=50))
def test_new_visits_are_exactly_the_gaps_larger_than_the_threshold(steps: list[int]) -> None:
    visit = None
    ts = 0
    started = 0
    for step in steps:
        ts += step
        visit, result = visits.on_sighting(visit, "m", ts, None, "app", GAP)
        started += result.new_visit
    assert started == 1 + sum(1 for step in steps[1:] if step > GAP)
