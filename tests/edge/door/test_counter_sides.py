"""The counter's bookkeeping of which side of the line each track has been on, driven with
tracks made by hand (the tracker's own behaviour is tested in test_tracker.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from edge.door.blobs import Detection
from edge.door.counter import CounterSettings, DoorCounter
from edge.door.tracker import Track

# A horizontal line at y=100; "in" is below it; +-10 px band; no downscaling.
SETTINGS = CounterSettings(line=((0.0, 100.0), (400.0, 100.0)), band=10.0, downscale=1)


def _track(track_id: int, x: float, y: float, observed: bool = True) -> Track:
    return Track(
        track_id,
        np.array([x, y, 0.0, 0.0]),
        np.eye(4),
        hits=5,
        confirmed=True,
        observed=observed,
    )


def _run(counter: DoorCounter, frames: list[list[Track]]) -> list[tuple[int, str]]:
    crossings: list[tuple[int, str]] = []
    for tracks in frames:
        counter.frame_index += 1
        crossings += [(c.track, c.direction) for c in counter._count(tracks)]
    return crossings


def test_a_track_born_in_the_band_where_one_was_just_lost_carries_on_its_side() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    walk_up = [[_track(1, 200, y)] for y in (60, 75, 88, 96)]  # from outside into the band
    # Lost there (merged with someone); a new track picks the person up a step further on.
    carried_on = [[_track(2, 205, y)] for y in (99, 104, 115, 130)]
    assert _run(counter, [*walk_up, [], *carried_on]) == [(2, "in")]
    assert (counter.ins, counter.outs) == (1, 0)


def test_a_track_born_in_the_band_with_nobody_lost_nearby_counts_nothing() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    elsewhere = [[_track(1, 20, y)] for y in (60, 75, 88, 96)]
    appears = [[_track(2, 300, y)] for y in (99, 104, 115, 130)]  # 280 px away
    assert _run(counter, [*elsewhere, [], *appears]) == []


def _along(path: list[float], make: Callable[[int, float], Track]) -> Iterator[Track]:
    """A track at each step of `path` down x=200 (`make(sightings so far, y)`), carrying
    its trail so far."""
    for seen, y in enumerate(path, start=1):
        track = make(seen, y)
        track.trail.extend((200.0, p) for p in path[:seen])
        yield track


def _walking(track_id: int, path: list[float]) -> list[list[Track]]:
    """Frames of a confirmed track walking `path`."""
    return [[track] for track in _along(path, lambda _, y: _track(track_id, 200, y))]


def test_a_track_born_in_the_band_that_walks_across_the_line_out_of_it_is_counted() -> None:
    # Nobody was lost nearby: its blob came out of one that was not followed (a group
    # whose centre lay beyond the counting zone). It was first seen well outside the line.
    counter = DoorCounter(SETTINGS, 10.0)
    assert _run(counter, _walking(1, [93, 97, 102, 108, 115])) == [(1, "in")]
    assert (counter.ins, counter.outs) == (1, 0)


def test_a_track_born_in_the_band_that_goes_back_the_way_it_faced_counts_nothing() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    assert _run(counter, _walking(1, [93, 90, 86, 80])) == []


def test_a_track_born_on_the_line_itself_counts_nothing_whichever_way_it_goes() -> None:
    # Too close to the line to tell which side it came from.
    counter = DoorCounter(SETTINGS, 10.0)
    assert _run(counter, _walking(1, [99, 104, 110, 120])) == []
    assert _run(counter, _walking(2, [101, 96, 90, 80])) == []


def test_a_coasting_track_that_took_over_someone_s_sighting_steps_to_where_they_were() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    walks_out = [[_seen_holding(_track(1, 200, y), 1)] for y in (125, 112, 104)]
    # The tracker swapped who two tracks are after a head-on meeting (see
    # `Tracker._untangle`): track 1, coasting unseen now, stands for someone last seen
    # well outside, who walked on out of view.
    swapped = _track(1, 200, 104, observed=False)
    swapped.last_seen = Detection(200.0, 80.0, 3000.0, (170, 50, 60, 60), 1)
    assert _run(counter, [*walks_out, [swapped], [swapped]]) == [(1, "out")]
    assert (counter.ins, counter.outs) == (0, 1)


def test_a_lost_side_is_forgotten_after_the_coasting_time() -> None:
    counter = DoorCounter(SETTINGS, 10.0)  # coast_s 0.8 at 10 frames/s: 8 frames
    walk_up = [[_track(1, 200, y)] for y in (60, 75, 88, 96)]
    appears_late = [[_track(2, 205, y)] for y in (99, 104, 115, 130)]
    assert _run(counter, walk_up + [[]] * 12 + appears_late) == []


def test_a_new_track_beside_a_coasting_one_takes_its_side() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    walk_up = [[_track(1, 200, y)] for y in (60, 75, 88, 96)]
    # Track 1 coasts unseen while a new track takes over its person in the band.
    took_over = [[_track(1, 200, 97, observed=False), _track(2, 204, y)] for y in (99, 112, 130)]
    assert _run(counter, walk_up + took_over) == [(2, "in")]


def _member(track_id: int, parent: int, x: float, y: float, confirmed: bool = True) -> Track:
    track = _track(track_id, x, y)
    track.parent, track.confirmed = parent, confirmed
    return track


def _group(track_id: int, x: float, y: float, people: int = 2) -> Track:
    track = _track(track_id, x, y)
    track.head_counts.extend([people] * 5)
    return track


def _parting(path: list[float], group_at: float | None = None) -> list[list[Track]]:
    """Frames of track 2, split off group track 1, walking `path` (confirmed from its
    third sighting, its trail so far), beside the group standing at `group_at` if given."""
    tracks = _along(path, lambda seen, y: _member(2, 1, 200, y, confirmed=seen >= 3))
    if group_at is None:
        return [[track] for track in tracks]
    return [[_group(1, 200, group_at), track] for track in tracks]


def test_the_rear_of_a_file_parting_behind_the_line_the_file_crossed_is_not_counted_again() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    # Two in file, one blob centred between them: its centre crosses with both counted.
    file_crosses = [[_group(1, 200, y)] for y in (60, 75, 95, 112)]
    # The front one walks on out of view; the rear one, still outside, is a blob of its own.
    rear_walks_in = [[_member(2, 1, 200, y)] for y in (80, 88, 104, 120)]
    crossings = _run(counter, [*file_crosses, *rear_walks_in])
    assert crossings == [(1, "in")]
    assert (counter.ins, counter.outs) == (2, 0)


def test_the_rear_of_a_file_whose_crossing_counted_one_is_counted_when_they_cross() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    # The rear caught up just before the line: the file's head count still says one.
    file_crosses = [[_group(1, 200, y, people=1)] for y in (60, 75, 95, 112)]
    rear_walks_in = [[_member(2, 1, 200, y)] for y in (80, 88, 104, 120)]
    crossings = _run(counter, [*file_crosses, *rear_walks_in])
    assert crossings == [(1, "in"), (2, "in")]
    assert (counter.ins, counter.outs) == (2, 0)


def test_only_as_many_rears_as_a_file_s_crossing_counted_beyond_one_are_not_counted_again() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    file_crosses = [[_group(1, 200, y, people=2)] for y in (60, 75, 95, 112)]
    # Two part from it behind the line: the crossing counted only one of them.
    rears = [
        [_group(1, 200, 130, people=1), _member(2, 1, 180, y), _member(3, 1, 220, y)]
        for y in (80, 88, 104, 120)
    ]
    crossings = _run(counter, [*file_crosses, *rears])
    assert crossings == [(1, "in"), (3, "in")]
    assert (counter.ins, counter.outs) == (3, 0)


def test_someone_who_crossed_the_other_way_inside_a_group_s_blob_is_counted() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    group_crosses = [[_group(1, 200, y)] for y in (60, 75, 95, 112)]
    # Someone going out met the group in the doorway, one blob with it, and comes out of
    # it on the street side walking away from the line: not the rear of the group's file.
    comes_out = _parting([80.0, 72.0, 64.0, 50.0], group_at=125)
    assert _run(counter, [*group_crosses, *comes_out]) == [(1, "in"), (2, "out")]
    assert (counter.ins, counter.outs) == (2, 1)


def test_someone_parting_from_a_file_just_before_it_crosses_is_not_counted_again() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    approach = [[_group(1, 200, y)] for y in (50, 60, 70)]
    # The rear one shows as a blob of their own (not yet confirmed, so still in the
    # file's head count) as the file's centre crosses the line.
    parting = [
        [_group(1, 200, 80), _member(2, 1, 200, 60, confirmed=False)],
        [_group(1, 200, 112), _member(2, 1, 200, 66, confirmed=False)],
    ]
    rear_walks_in = [[_member(2, 1, 200, y)] for y in (80, 95, 112, 130)]
    assert _run(counter, [*approach, *parting, *rear_walks_in]) == [(1, "in")]
    assert counter.ins == 2


def test_someone_leaving_a_group_ahead_of_it_is_counted_when_they_cross() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    approach = [[_group(1, 200, y)] for y in (50, 60, 70)]
    # The front one steps out of the group's blob already across the line; the group,
    # one smaller now, follows.
    front = [[_group(1, 200, 75, people=1), _member(2, 1, 200, y)] for y in (112, 125)]
    follows = [[_group(1, 200, y, people=1)] for y in (95, 115)]
    assert _run(counter, [*approach, *front, *follows]) == [(2, "in"), (1, "in")]
    assert counter.ins == 2


def test_someone_meeting_a_group_across_the_line_from_it_counts_only_their_own_crossing() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    group_walks_up = [[_group(1, 200, y)] for y in (135, 130, 125)]
    # From an angle the group's blob reaches far up the image, over someone walking in
    # beyond the line; they part from it there and walk on to the line and across it.
    walks_in = _parting([78.0, 80.0, 83.0, 86.0, 92.0, 100.0, 108.0, 116.0], group_at=122)
    for seen, (_, member) in enumerate(walks_in, start=1):
        _seen_holding(member, 1)
        member.hits, member.alone = seen, seen - 1  # a blob of their own all along
    assert _run(counter, [*group_walks_up, *walks_in]) == [(2, "in")]
    assert (counter.ins, counter.outs) == (1, 0)


def _met_head_on(coming_from: list[float], people: int = 1) -> list[list[Track]]:
    """Track 1 (`people` in its blob) walks out; track 2 walks `coming_from` and coasts
    unseen in track 1's blob; track 3 comes out of that blob inside the line, walks on in."""
    meet = [
        [_group(1, 200, a, people), _track(2, 200, b)]
        for a, b in zip((130, 120, 112), coming_from, strict=True)
    ]
    hidden = _track(2, 200, coming_from[-1] + 3, observed=False)
    in_one_blob = [[_group(1, 200, 106, people), hidden]]
    parts = _along([114.0, 125.0, 140.0], lambda seen, y: _member(3, 1, 200, y, seen >= 3))
    walk_on = [
        [_group(1, 200, a, people), hidden, b] for a, b in zip((100, 92, 85), parts, strict=True)
    ]
    return [*meet, *in_one_blob, *walk_on]


def test_someone_out_of_a_blob_of_one_where_another_hid_coming_the_other_way_is_them() -> None:
    # Two met head-on in one blob; the one walking in hid there (their track coasts).
    # Nobody splits off one person: the newcomer is them, from the street side.
    counter = DoorCounter(SETTINGS, 10.0)
    assert sorted(_run(counter, _met_head_on([60, 75, 85]))) == [(1, "out"), (3, "in")]
    assert (counter.ins, counter.outs) == (1, 1)
    # Their old track, should it find a blob again, is not them: it counts nothing.
    found_again = [[_track(2, 200, y)] for y in (104, 112, 125)]
    assert _run(counter, found_again) == [] and counter.ins == 1
    # Whoever hid there came from inside too: the newcomer is on the blob's side.
    counter = DoorCounter(SETTINGS, 10.0)
    assert _run(counter, _met_head_on([150, 140, 125])) == [(1, "out")]
    # Nor is it one who crossed already (walking out ahead, now coasting out of view).
    counter = DoorCounter(SETTINGS, 10.0)
    assert _run(counter, _met_head_on([112, 95, 85])) == [(2, "out"), (1, "out")]
    # Out of a group's blob, it may be one of the group: it keeps the group's side.
    counter = DoorCounter(SETTINGS, 10.0)
    assert _run(counter, _met_head_on([60, 75, 85], people=2)) == [(1, "out")]


def test_someone_leaving_a_group_across_the_line_in_shares_of_its_blob_is_counted() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    approach = [[_group(1, 200, y)] for y in (50, 60, 70)]
    # The front one steps across the line out of the group's blob, then takes shares of
    # one blob with the others a while: their centre drifts back towards the line as the
    # blob is split, which says nothing of where they walk.
    path = [118.0, 114.0, 110.0, 106.0, 104.0, 105.0, 108.0, 112.0, 117.0, 122.0, 127.0]
    front = _parting(path, group_at=80)
    for _, member in front:
        _seen_holding(member, 1).hits = 5  # alone stays 0: it took a share lately
    assert _run(counter, [*approach, *front]) == [(2, "in")]


def test_someone_leaving_a_group_ahead_of_it_who_stands_a_moment_is_counted() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    approach = [[_group(1, 200, y)] for y in (50, 60, 70)]
    stands = _parting([114.0] * 12, group_at=80)
    crossings = _run(counter, [*approach, *stands])
    assert crossings == [(2, "in")]
    assert counter.ins == 1


def test_someone_coming_out_of_a_group_s_blob_who_walks_away_only_later_is_counted() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    group_crosses = [[_group(1, 200, y)] for y in (60, 75, 95, 112)]
    # As above, but they stand a moment on the street side before walking away: by the
    # time their track is confirmed they have not yet moved from the line.
    comes_out = _parting([70.0, 69.0, 68.0, 67.0, 63.0, 56.0, 48.0], group_at=125)
    assert _run(counter, [*group_crosses, *comes_out]) == [(1, "in"), (2, "out")]
    assert (counter.ins, counter.outs) == (2, 1)


def test_the_rear_of_a_file_who_stands_a_moment_then_follows_is_not_counted_again() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    file_crosses = [[_group(1, 200, y)] for y in (60, 75, 95, 112)]
    rear = _parting([80.0, 80.0, 79.0, 80.0, 84.0, 95.0, 112.0, 125.0])
    assert _run(counter, [*file_crosses, *rear]) == [(1, "in")]
    assert (counter.ins, counter.outs) == (2, 0)


def _seen_holding(track: Track, people: int) -> Track:
    x, y = track.position
    track.last_seen = Detection(x, y, 3000.0 * people, (int(x) - 30, int(y) - 30, 60, 60), people)
    return track


def test_a_group_s_track_crossing_back_counts_only_those_in_its_blob_now() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    # Three walk in as one blob; someone going out merges into it in the doorway and the
    # blob's centre follows them back out, while the three walk on out of view.
    group_crosses = [[_seen_holding(_group(1, 200, y, people=3), 3)] for y in (60, 75, 95, 112)]
    back_out = [[_seen_holding(_group(1, 200, y, people=3), 1)] for y in (95, 80, 70)]
    assert _run(counter, [*group_crosses, *back_out]) == [(1, "in"), (1, "out")]
    assert (counter.ins, counter.outs) == (3, 1)


def test_a_track_s_head_count_is_the_median_of_a_second_of_blobs_at_any_frame_rate() -> None:
    # A group coming into view one by one must be counted as it is when it crosses; 25
    # frames are 2.5 s at 10 frames/s. A very low rate still takes the median of a few.
    windows = {}
    for fps in (3.0, 10.0, 25.0):
        tracker = DoorCounter(SETTINGS, fps)._tracker
        assert tracker is not None
        windows[fps] = tracker.settings.head_counts
    assert windows == {3.0: 5, 10.0: 10, 25.0: 25}


def _landing(track_id: int, y: float, setback: float, trail: list[float], people: int = 2) -> Track:
    """A confirmed track whose centre landed at y, `setback` px behind where it was expected
    along its way, in a blob of other make-up (the tracker's `setback`) holding `people`,
    after being at each of `trail`."""
    track = _seen_holding(_track(track_id, 200, y), people)
    track.setback = setback
    track.trail.extend((200.0, p) for p in [*trail, y])
    return track


# One person's blob here (3000 px) is 62 px wide: landing more than 0.65 of that, 40 px,
# behind is a change of who the track stands for, not a step.
LANDED_ON_OTHERS, STEPPED_BACK = 60.0, 35.0


def test_a_track_whose_centre_lands_back_across_the_line_on_others_counts_nothing() -> None:
    # Someone walking out; a group behind them, still inside, catches up with their blob,
    # whose centre lands back inside. The group is counted only when it walks out itself.
    counter = DoorCounter(SETTINGS, 10.0)
    out_walk = [[_track(1, 200, y)] for y in (125, 112, 95, 80, 70)]
    caught_up = [[_landing(1, 130, LANDED_ON_OTHERS, [80, 70])]]
    group_out = [[_seen_holding(_track(1, 200, y), 1)] for y in (125, 112, 95, 80)]
    assert _run(counter, [*out_walk, *caught_up]) == [(1, "out")]
    assert _run(counter, group_out) == [(1, "out")]
    assert (counter.ins, counter.outs) == (0, 2)


def test_someone_alone_landing_behind_in_a_blob_of_one_is_still_themselves() -> None:
    # A blob taken for theirs for a frame (their shadow, a fragment) threw the track off:
    # back on their own blob it lands far behind where it was expected, but it holds one,
    # as they did: still them, counted when they walk out.
    counter = DoorCounter(SETTINGS, 10.0)
    out_walk = [[_track(1, 200, y)] for y in (125, 115, 108)]
    back_on_them = [[_landing(1, 104, LANDED_ON_OTHERS, [115, 108], people=1)]]
    walks_on = [[_seen_holding(_track(1, 200, y), 1)] for y in (95, 85)]
    assert _run(counter, [*out_walk, *back_on_them, *walks_on]) == [(1, "out")]


def test_a_landing_behind_is_on_others_only_if_the_track_or_its_blob_holds_several() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    alone = _landing(1, 104, LANDED_ON_OTHERS, [115, 108], people=1)
    caught_up = _landing(1, 104, LANDED_ON_OTHERS, [115, 108], people=2)
    group_left_its_rear = _landing(1, 104, LANDED_ON_OTHERS, [115, 108], people=1)
    group_left_its_rear.head_counts.extend([2] * 5)  # the track stood for two
    assert not counter._landed_behind(alone)
    assert counter._landed_behind(caught_up)
    assert counter._landed_behind(group_left_its_rear)


def test_a_track_landing_in_the_band_takes_its_side_from_where_it_walks_not_its_trail() -> None:
    # First seen well outside, it lands in the band on others who walk in: where the
    # track was first seen says nothing of where they came from.
    counter = DoorCounter(SETTINGS, 10.0)
    first_seen = [[_track(1, 200, y)] for y in (40, 45, 50)]
    landed = _landing(1, 100, LANDED_ON_OTHERS, [40, 45, 50])
    walk_in = [_landing(1, y, 0.0, [40, 45, 50, 100]) for y in (105, 115, 125)]
    assert _run(counter, [*first_seen, [landed], *[[t] for t in walk_in]]) == []


def test_a_step_back_across_the_line_short_of_the_limit_is_a_crossing_back() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    out_walk = [[_track(1, 200, y)] for y in (125, 112, 95, 85)]
    back = [[_landing(1, 112, STEPPED_BACK, [95, 85])]]
    assert _run(counter, [*out_walk, *back]) == [(1, "out"), (1, "in")]
