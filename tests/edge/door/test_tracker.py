from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from edge.door.blobs import Detection
from edge.door.tracker import Tracker, TrackerSettings


def _at(x: float, y: float, people: int = 1, shared: bool = False) -> Detection:
    return Detection(x, y, 400.0, (int(x) - 10, int(y) - 10, 20, 20), people, shared)


def _tracker(**overrides: Any) -> Tracker:
    settings = TrackerSettings(
        gate=20.0, min_hits=3, max_misses=5, spawn_distance=8.0, inherit_distance=30.0
    )
    return Tracker(replace(settings, **overrides))


def test_a_walker_keeps_one_id_and_is_confirmed_after_three_frames() -> None:
    tracker = _tracker()
    ids, confirmed = set(), []
    for step in range(10):
        tracks = tracker.step([_at(100 + 8 * step, 200)])
        ids |= {t.id for t in tracks}
        confirmed.append(tracks[0].confirmed)
    assert ids == {1}
    assert confirmed[:2] == [False, False] and all(confirmed[2:])


def test_a_one_frame_blip_never_becomes_a_track() -> None:
    tracker = _tracker()
    tracker.step([_at(50, 50)])
    assert tracker.step([]) == []


def test_a_confirmed_track_coasts_through_misses_and_picks_up_again() -> None:
    tracker = _tracker()
    for step in range(5):
        tracker.step([_at(100 + 10 * step, 100)])
    for _ in range(3):  # hidden (merged with someone, faded against the floor)
        (track,) = tracker.step([])
        assert track.misses > 0
    (track,) = tracker.step([_at(180, 100)])
    assert track.id == 1 and track.misses == 0
    # The prediction carried it on at its walking speed.
    assert math.isclose(track.position[0], 180, abs_tol=4)


def test_a_track_is_dropped_after_too_many_misses() -> None:
    tracker = _tracker(max_misses=2)
    for step in range(4):
        tracker.step([_at(10 * step, 0)])
    tracker.step([])
    tracker.step([])
    assert tracker.step([]) == []


def test_two_people_passing_each_other_keep_their_ids() -> None:
    tracker = _tracker(gate=15.0)
    for step in range(12):
        # One walks right along y=100, the other left along y=130; they pass at step 6.
        a, b = _at(40 + 10 * step, 100), _at(160 - 10 * step, 130)
        tracks = tracker.step([b, a] if step % 2 else [a, b])
    by_id = {t.id: t.position for t in tracks}
    assert by_id[1][0] > by_id[2][0]  # 1 started on the left and walked right
    assert abs(by_id[1][1] - 100) < 3 and abs(by_id[2][1] - 130) < 3


def _in_one_lane(a: float, b: float) -> list[Detection]:
    """Two people at y `a` and `b` in one lane (x 100): their own blobs, or, when close,
    one blob split between their tracks: its upper and lower halves, whoever is where."""
    if abs(a - b) < 60:
        middle = (a + b) / 2
        return [_at(100, middle - 12, shared=True), _at(100, middle + 12, shared=True)]
    return [_at(100, a), _at(100, b)]


def test_two_walking_into_each_other_in_one_lane_keep_their_ids_through_their_shared_blob() -> None:
    # From an angle two people in one lane merge into one blob for several frames; split
    # between their tracks, its shares are its near and far halves, whoever is where.
    tracker = _tracker(share_noise=7.0)
    for step in range(20):
        a, b = 40 + 8 * step, 200 - 8 * step  # a walks down the image, b up
        tracks = tracker.step(_in_one_lane(a, b))
    by_id = {t.id: t.position for t in tracks}
    assert set(by_id) == {1, 2}
    assert by_id[1][1] > by_id[2][1]  # 1 started at the top and walked on down


def _meeting_in_one_lane(b_turns_back: bool) -> dict[int, float]:
    """Two walk into each other down one lane of the image, a from the top at 8 px a frame,
    b from the bottom. While they share a blob, its shares are its upper and lower halves,
    whoever is where (as k-means splits it): the upper track stays with whoever is upper.
    Returns where each track is (y) once they have parted and walked on."""
    tracker = _tracker()
    a_y, b_y, a_step, b_step = 40.0, 200.0, 8.0, -8.0
    for _ in range(22):
        if b_turns_back and b_y - a_y < 40:
            a_step, b_step = 4.0, 8.0  # a slows down, b walks away
        a_y, b_y = a_y + a_step, b_y + b_step
        tracks = tracker.step(_in_one_lane(a_y, b_y))
    return {t.id: t.position[1] for t in tracks}


def test_two_who_met_head_on_in_one_blob_are_followed_on_past_each_other() -> None:
    # After they parted, each track is on its own half of the lane, heading back the way
    # it came: both turning back at once is far less likely than walking on past.
    by_id = _meeting_in_one_lane(b_turns_back=False)
    assert set(by_id) == {1, 2}
    assert by_id[1] > by_id[2]  # 1 started at the top and walked on down


def test_a_walker_meeting_someone_who_turns_back_keeps_their_own_track() -> None:
    # b turns back as they meet and walks away ahead of a: only b's track ever reversed.
    by_id = _meeting_in_one_lane(b_turns_back=True)
    assert set(by_id) == {1, 2}
    assert by_id[1] < by_id[2]  # 1 walks on down behind b


def test_a_track_coasting_unseen_does_not_take_over_the_next_walker_s_detection() -> None:
    # One walks right along y=100 and out of sight at x=140; their track coasts on. Another,
    # followed since, walks down across the coasting track's path: in the frame where
    # their blob's centre jumps towards where the unseen one would be, it is still theirs.
    tracker = _tracker()
    for step in range(7):
        first = [_at(100 + 10 * step, 100)] if step < 5 else []
        second = [_at(180, 40 + 8 * (step - 2))] if step >= 2 else []
        tracker.step(first + second)
    by_id = {t.id: t for t in tracker.step([_at(174, 92)])}
    assert by_id[2].misses == 0 and by_id[1].misses == 3
    for step in range(8, 11):
        by_id = {t.id: t for t in tracker.step([_at(180, 40 + 8 * (step - 2))])}
    assert by_id[2].misses == 0 and abs(by_id[2].position[0] - 180) < 4


def test_no_new_track_right_on_top_of_a_confirmed_one() -> None:
    tracker = _tracker()
    for step in range(4):
        tracker.step([_at(100, 100 + 5 * step)])
    tracks = tracker.step([_at(100, 120), _at(104, 122)])  # a fragment of the same person
    assert [t.id for t in tracks] == [1]


def test_someone_leaving_a_group_track_is_marked_as_split_off_it() -> None:
    tracker = _tracker()
    for step in range(5):
        tracker.step([_at(100, 100 + 6 * step, people=2)])
    (group,) = tracker.tracks
    assert group.people == 2
    tracks = tracker.step([_at(100, 130, people=1), _at(125, 128, people=1)])
    new = [t for t in tracks if t.id != group.id]
    assert len(new) == 1 and new[0].parent == group.id
    assert group.people == 2  # not yet: it may be a blob breaking off for a frame
    tracker.step([_at(100, 136, people=1), _at(126, 134, people=1)])
    tracker.step([_at(100, 142, people=1), _at(127, 140, people=1)])
    assert new[0].confirmed
    assert group.people == 1  # confirmed: the group is one smaller at once


def test_someone_catching_up_with_a_group_whose_blob_still_holds_them_all_leaves_it_whole() -> None:
    tracker = _tracker()
    for step in range(5):
        tracker.step([_at(100, 100 + 6 * step, people=2)])
    (group,) = tracker.tracks
    # A third walks up behind the pair, close enough to be taken for one leaving them,
    # while the pair's own blob still reads two.
    for step in range(5, 8):
        tracker.step([_at(100, 100 + 6 * step, people=2), _at(110, 75 + 8 * step, people=1)])
    (newcomer,) = [t for t in tracker.tracks if t.id != group.id]
    assert newcomer.parent == group.id and newcomer.confirmed
    assert group.people == 2


def test_a_blob_breaking_off_a_group_for_a_frame_leaves_the_group_whole() -> None:
    tracker = _tracker()
    for step in range(5):
        tracker.step([_at(100, 100 + 6 * step, people=2)])
    (group,) = tracker.tracks
    tracker.step([_at(100, 130, people=1), _at(125, 128, people=1)])  # parts for a frame
    for step in range(6, 12):
        tracker.step([_at(100, 100 + 6 * step, people=2)])  # one blob again
    assert [t.id for t in tracker.tracks] == [group.id]
    assert group.people == 2


def test_head_count_is_the_median_of_recent_blobs_and_a_share_never_raises_it() -> None:
    tracker = _tracker()
    counts = [1, 2, 2, 1, 2, 2, 2]
    for step, people in enumerate(counts):
        tracker.step([_at(100, 10 * step, people=people)])
    (track,) = tracker.tracks
    assert track.people == 2
    for step in range(7, 20):
        tracker.step([_at(100, 10 * step, people=5, shared=True)])
    assert tracker.tracks[0].people == 2


def test_head_count_is_the_median_of_as_many_recent_blobs_as_the_settings_say() -> None:
    # A pair read as one for 8 frames, then as two for 6 (their blob widening as both come
    # into view): a window of 10 says two, the default 25 still one.
    counts = [1] * 8 + [2] * 6
    people = {}
    for window in (10, 25):
        tracker = _tracker(head_counts=window)
        for step, count in enumerate(counts):
            tracker.step([_at(100, 10 * step, people=count)])
        (track,) = tracker.tracks
        people[window] = track.people
    assert people == {10: 2, 25: 1}


def test_a_group_s_head_count_falls_while_its_share_of_a_split_blob_holds_fewer() -> None:
    """A track read as three in a merged blob, then followed as one share of blobs split
    between it and others: the shares each hold one, and so does the track, soon."""
    tracker = _tracker()
    for step in range(5):
        tracker.step([_at(100, 10 * step, people=3)])
    (track,) = tracker.tracks
    assert track.people == 3
    for step in range(5, 12):
        tracker.step([_at(100, 10 * step, people=1, shared=True)])
    assert tracker.tracks[0].people == 1


def test_a_blob_appearing_within_a_file_s_last_blob_is_someone_leaving_it() -> None:
    tracker = _tracker()
    # Two in file: one long blob (60 px along the walk), tracked at its centre.
    for step in range(5):
        tracker.step([replace(_at(100, 100 + 6 * step, people=2), box=(85, 70 + 6 * step, 30, 60))])
    (group,) = tracker.tracks
    # The front one walks out of view; the rear one is a new blob 28 px behind the centre,
    # beyond the inherit distance but inside where the file's blob was.
    tracker.settings = replace(tracker.settings, inherit_distance=20.0)
    tracks = tracker.step([_at(100, 102)])
    new = [t for t in tracks if t.id != group.id]
    assert len(new) == 1 and new[0].parent == group.id


def test_someone_stepping_out_of_a_group_s_blob_as_the_group_moves_on_is_split_off_it() -> None:
    tracker = _tracker(inherit_distance=20.0)
    # A group of three, one wide blob (80 px across) tracked at its centre.
    for step in range(5):
        blob = replace(_at(100, 100 + 6 * step, people=3), box=(60, 85 + 6 * step, 80, 30))
        tracker.step([blob])
    (group,) = tracker.tracks
    # The two on the left go on as one smaller blob, whose centre jumps 15 px left; the
    # one on the right steps out 40 px from the group's new centre and out of its new
    # box, but inside where the group's blob was the frame before.
    moved = replace(_at(85, 130, people=2), box=(62, 115, 46, 30))
    tracks = tracker.step([moved, _at(125, 118)])
    new = [t for t in tracks if t.id != group.id]
    assert len(new) == 1 and new[0].parent == group.id


def test_someone_parting_from_a_track_that_held_two_a_moment_ago_is_marked_as_split_off() -> None:
    tracker = _tracker()
    for step, people in enumerate([1, 1, 1, 1, 1, 1, 2, 1]):  # merged for one frame
        tracker.step([_at(100, 100 + 6 * step, people=people)])
    (track,) = tracker.tracks
    assert track.people == 1 and track.lately_grouped
    tracks = tracker.step([_at(100, 148), _at(125, 146)])
    assert [t.parent for t in tracks if t.id != track.id] == [track.id]


def _blob(x: float, y: float, people: int, width: int) -> Detection:
    """A blob `width` px across holding `people`, 400 px^2 each."""
    box = (int(x) - width // 2, int(y) - 15, width, 30)
    return Detection(x, y, 400.0 * people, box, people)


def _walked(frames: int) -> Tracker:
    """A tracker that has followed one walker down the image for `frames` frames."""
    tracker = _tracker()
    for step in range(frames):
        tracker.step([_at(100, 100 + 6 * step)])
    return tracker


def test_a_walker_caught_up_by_people_nobody_followed_counts_them_from_the_merge_on() -> None:
    tracker = _walked(10)
    # Two more, never seen apart (they were outside the counting zone), join the walker's
    # blob: the track holds three now, not the median of ten frames alone and three merged.
    for step in range(10, 13):
        tracker.step([_blob(100, 100 + 6 * step, people=3, width=60)])
    (track,) = tracker.tracks
    assert track.people == 3


def test_a_walker_s_blob_growing_for_a_moment_keeps_their_head_count() -> None:
    tracker = _walked(10)
    # A patch of light joins the blob for two frames (and it may be those frames the
    # track crosses the line in): still one person, until a bigger blob has lasted.
    for step in range(10, 12):
        tracker.step([_blob(100, 100 + 6 * step, people=2, width=40)])
        assert tracker.tracks[0].people == 1
    tracker.step([_at(100, 172)])
    for step in range(13, 16):
        tracker.step([_at(100, 100 + 6 * step, people=2)])  # grown, but not merged
    assert tracker.tracks[0].people == 1


def test_a_walker_merging_with_someone_followed_keeps_their_own_head_count() -> None:
    tracker = _tracker()
    for step in range(6):
        tracker.step([_at(100, 100 + 6 * step), _at(140, 100 + 6 * step)])
    first, second = tracker.tracks
    # One blob over both: whichever track takes it, the other person has their own track
    # (coasting now), so the blob's two are not both the taker's.
    for step in range(6, 9):
        tracker.step([_blob(120, 100 + 6 * step, people=2, width=70)])
    assert first.people == 1 and second.people == 1


def test_a_walker_merging_with_someone_whose_track_just_ended_keeps_their_own_head_count() -> None:
    tracker = _tracker(max_misses=2)
    for _ in range(6):
        tracker.step([_at(110, 130), _at(140, 130)])  # two standing side by side
    standing = next(t for t in tracker.tracks if t.position[0] < 120)
    for _ in range(3):  # the other fades against the floor; their track ends
        tracker.step([_at(110, 130)])
    assert [t.id for t in tracker.tracks] == [standing.id]
    # Then the one left grows over where the other was last seen: that one, not a newcomer.
    for _ in range(3):
        tracker.step([_blob(125, 130, people=2, width=60)])
    assert standing.people == 1


def test_a_track_remembers_how_far_behind_it_a_blob_of_other_make_up_landed() -> None:
    def walked() -> Tracker:
        tracker = _tracker()
        for step in range(5):
            tracker.step([_at(100 + 8 * step, 200)])
        return tracker  # expected next near (140, 200), going right

    def landing(x: float, area: float) -> float:
        (track,) = walked().step([replace(_at(x, 200), area=area)])
        return track.setback

    assert 16.0 < landing(122, 800.0) < 22.0  # twice the blob, 20 px back
    assert 16.0 < landing(122, 200.0) < 22.0  # half of it
    assert landing(122, 400.0) == 0.0  # the same blob: a stop, not others
    assert landing(155, 800.0) == 0.0  # ahead of where expected


def _group_walked(frames: int) -> Tracker:
    """A tracker that has followed a group of three, one blob, down the image."""
    tracker = _tracker()
    for step in range(frames):
        tracker.step([_blob(100, 100 + 6 * step, people=3, width=60)])
    return tracker  # expected next near (100, 148)


def test_a_group_s_track_following_its_front_who_walked_on_counts_only_them() -> None:
    tracker = _group_walked(8)
    # The front walks on out of the group's blob: the track's blob, theirs now, lies well
    # ahead of where the group was expected and holds one; the two left behind are a
    # blob of their own.
    group = tracker.step([_at(100, 162), _blob(100, 128, people=2, width=40)])[0]
    assert group.id == 1 and group.position[1] > 150
    assert group.people == 1


def test_a_group_s_blob_read_as_fewer_where_it_was_expected_keeps_its_head_count() -> None:
    tracker = _group_walked(8)
    (group,) = tracker.step([_blob(100, 150, people=1, width=60)])
    assert group.people == 3
