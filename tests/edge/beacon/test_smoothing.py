"""The RSSI Kalman filter: converges, cuts noise, follows real changes, forgets silence."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.beacon.smoothing import KalmanParams, RssiKalman, RssiTracks

params_st = st.builds(
    KalmanParams,
    process_noise=st.floats(0.0, 10.0),
    measurement_noise=st.floats(0.5, 100.0),
)
rssi_st = st.floats(-110.0, -20.0)


def run(params: KalmanParams, readings: list[float], dt: float = 0.1) -> list[float]:
    kalman = RssiKalman(readings[0], 0.0, params)
    return [kalman.estimate] + [
        kalman.update(r, i * dt, params) for i, r in enumerate(readings[1:], start=1)
    ]


@given(params_st, st.lists(rssi_st, min_size=1, max_size=60), st.floats(0.0, 5.0))
def test_estimate_never_leaves_the_range_of_the_readings(
    params: KalmanParams, readings: list[float], dt: float
) -> None:
    for estimate in run(params, readings, dt):
        assert min(readings) - 1e-9 <= estimate <= max(readings) + 1e-9


@given(params_st, rssi_st, rssi_st, st.integers(1, 300), st.floats(0.01, 3.0))
def test_converges_to_a_steady_level_at_least_as_fast_as_a_running_mean(
    params: KalmanParams, start: float, level: float, n: int, dt: float
) -> None:
    estimates = run(params, [start] + [level] * n, dt)
    errors = [abs(e - level) for e in estimates]
    assert all(later <= earlier + 1e-9 for earlier, later in itertools.pairwise(errors))
    assert errors[-1] <= abs(start - level) / (n + 1) + 1e-9


@given(st.integers(0, 2**32 - 1), rssi_st)
def test_noise_is_cut_by_more_than_four_times(seed: int, level: float) -> None:
    rng = np.random.default_rng(seed)
    readings = (level + rng.normal(0.0, 4.0, size=400)).tolist()
    estimates = run(KalmanParams(process_noise=1.0, measurement_noise=16.0), readings, dt=0.1)
    raw_error = np.mean((np.array(readings[100:]) - level) ** 2)
    smoothed_error = np.mean((np.array(estimates[100:]) - level) ** 2)
    assert smoothed_error < raw_error / 4


@given(st.floats(0.01, 5.0), st.floats(1.5, 10.0), st.floats(2.0, 40.0))
def test_more_process_noise_follows_a_step_faster(low: float, factor: float, step: float) -> None:
    readings = [-80.0] * 20 + [-80.0 + step] * 10
    slow = run(KalmanParams(low, 16.0), readings)[-1]
    fast = run(KalmanParams(low * factor, 16.0), readings)[-1]
    assert abs(fast - readings[-1]) < abs(slow - readings[-1])


def test_a_reading_after_a_long_silence_counts_for_more() -> None:
    params = KalmanParams(process_noise=1.0, measurement_noise=16.0)
    soon, late = RssiKalman(-80, 0.0, params), RssiKalman(-80, 0.0, params)
    for kalman in (soon, late):
        for i in range(1, 30):
            kalman.update(-80, i * 0.1, params)
    soon.update(-60, 3.0, params)
    late.update(-60, 12.9, params)
    assert late.estimate > soon.estimate + 5


def test_time_going_backwards_is_treated_as_no_time() -> None:
    params = KalmanParams(process_noise=5.0, measurement_noise=16.0)
    kalman = RssiKalman(-80, 10.0, params)
    kalman.update(-60, 5.0, params)
    assert kalman.updated_at == 10.0 and -80 < kalman.estimate < -60


@pytest.mark.parametrize(
    ("process", "measurement", "complaint"),
    [(-1.0, 16.0, "process_noise"), (1.0, 0.0, "measurement_noise"), (float("nan"), 1, "process")],
)
def test_bad_noise_parameters_are_refused(
    process: float, measurement: float, complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        KalmanParams(process, measurement)


def test_each_scanner_has_its_own_filter() -> None:
    tracks = RssiTracks(KalmanParams(), lost_after=10.0)
    tracks.update("b", "door", -50, 0.0)
    tracks.update("b", "till", -90, 0.0)
    assert tracks.readings("b", 0.0) == {"door": -50.0, "till": -90.0}


def test_a_silent_scanner_drops_out_and_a_silent_beacon_is_lost() -> None:
    tracks = RssiTracks(KalmanParams(), lost_after=10.0)
    tracks.update("b", "door", -50, 0.0)
    tracks.update("b", "till", -70, 5.0)
    assert set(tracks.readings("b", 10.0)) == {"door", "till"}
    assert set(tracks.readings("b", 10.5)) == {"till"}
    assert tracks.expire(10.5) == [] and "b" in tracks
    assert tracks.expire(15.5) == ["b"] and "b" not in tracks and len(tracks) == 0


def test_a_reading_after_the_lost_timeout_starts_a_fresh_filter() -> None:
    tracks = RssiTracks(KalmanParams(), lost_after=10.0)
    for i in range(20):
        tracks.update("b", "door", -90, i * 0.1)
    assert -89 < tracks.update("b", "door", -50, 1.9 + 9.0) < -51  # within the timeout: blended
    assert tracks.update("b", "door", -50, 10.9 + 10.5) == -50.0  # after: starts over


def test_lost_after_must_be_positive() -> None:
    with pytest.raises(ValueError, match="lost_after"):
        RssiTracks(KalmanParams(), lost_after=0)
