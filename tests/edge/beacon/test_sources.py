"""Sources: replaying a recording, and the real `BleakScanner` driven by a stand-in bleak
backend (tests/edge/beacon/fake_bleak.py): no radio here."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from edge.beacon.advertisements import Advertisement
from edge.beacon.recording import RecordingError, encode_line
from edge.beacon.sources import BleakSource, ReplaySource, passive_or_patterns
from storesense.errors import ConfigError
from tests.edge.beacon.fake_bleak import Script, bleak_data, scripted_backend
from tests.edge.beacon.helpers import (
    EDDYSTONE_FRAME,
    EDDYSTONE_RAW,
    IBEACON_APPLE_DATA,
    IBEACON_RAW,
    T0,
    app_raw,
    ibeacon,
)

# ---------------------------------------------------------------- replay


def write(path: Path, adverts: Sequence[Advertisement], extra: bytes = b"") -> Path:
    path.write_bytes(b"".join(encode_line(a) for a in adverts) + extra)
    return path


class Collector:
    def __init__(self, stop_after: int | None = None, stop: threading.Event | None = None) -> None:
        self.batches: list[tuple[list[Advertisement], float]] = []
        self.stop_after, self.stop = stop_after, stop
        self.lock = threading.Lock()

    def __call__(self, batch: Sequence[Advertisement], now: float) -> None:
        with self.lock:
            self.batches.append((list(batch), now))
            count = len(self.adverts_unlocked())
        if self.stop is not None and self.stop_after is not None and count >= self.stop_after:
            self.stop.set()

    def adverts_unlocked(self) -> list[Advertisement]:
        return [a for batch, _ in self.batches for a in batch]

    @property
    def adverts(self) -> list[Advertisement]:
        with self.lock:
            return self.adverts_unlocked()


def test_replay_delivers_every_line_in_order_in_batches(tmp_path: Path) -> None:
    adverts = [ibeacon(T0 + i, -60) for i in range(10)]
    path = write(tmp_path / "r.jsonl", adverts[:5], b"\n")
    with path.open("ab") as handle:
        handle.write(b"".join(encode_line(a) for a in adverts[5:]))
    collect = Collector()
    ReplaySource(path, batch_size=4).run(collect, threading.Event())
    assert collect.adverts == adverts
    assert [len(batch) for batch, _ in collect.batches] == [4, 4, 2]
    assert [now for _, now in collect.batches] == [T0 + 3, T0 + 7, T0 + 9]


def test_replay_names_the_line_of_a_bad_record(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [ibeacon(T0, -60)], b'\n{"time": 1764150001, "rssi": -1}\n')
    with pytest.raises(RecordingError, match=r"r\.jsonl line 3: field `scanner` is required"):
        ReplaySource(path).run(Collector(), threading.Event())


def test_replay_refuses_time_going_back(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [ibeacon(T0 + 1, -60), ibeacon(T0, -60)])
    with pytest.raises(RecordingError, match=r"line 2: field `time` goes back .* sort the"):
        ReplaySource(path).run(Collector(), threading.Event())


def test_replay_of_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"replay file .*nope\.jsonl: No such file"):
        ReplaySource(tmp_path / "nope.jsonl").run(Collector(), threading.Event())


def test_replay_stops_when_told(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [ibeacon(T0 + i, -60) for i in range(10)])
    stop = threading.Event()
    collect = Collector(stop_after=3, stop=stop)
    ReplaySource(path, batch_size=1).run(collect, stop)
    assert len(collect.adverts) == 3


def test_replay_at_speed_keeps_the_recorded_pace(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [ibeacon(T0 + i / 10, -60) for i in range(11)])
    started = time.monotonic()
    collect = Collector()
    ReplaySource(path, speed=10.0).run(collect, threading.Event())
    assert time.monotonic() - started >= 0.09  # 1 s recorded at 10x
    assert len(collect.adverts) == 11 and len(collect.batches) >= 10


def test_negative_speed_is_refused() -> None:
    with pytest.raises(ValueError, match="speed"):
        ReplaySource("x", speed=-1)


# ---------------------------------------------------------------- bleak


def run_in_thread(
    source: BleakSource, until: Callable[[Collector], bool], timeout: float = 5.0
) -> tuple[Collector, threading.Event]:
    stop = threading.Event()
    collect = Collector()
    thread = threading.Thread(target=source.run, args=(collect, stop))
    thread.start()
    deadline = time.monotonic() + timeout
    while not until(collect) and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(timeout)
    assert not thread.is_alive(), "the bleak source did not stop"
    return collect, stop


SCRIPT: Script = [
    ("AA:00:00:00:00:01", bleak_data(IBEACON_RAW, -61)),
    ("AA:00:00:00:00:02", bleak_data(EDDYSTONE_RAW, -72)),
    ("5C:00:00:00:00:03", bleak_data(app_raw("0123456789abcdef", -12), -55)),
]


def test_bleak_detections_become_advertisements_of_the_named_scanner() -> None:
    backend = scripted_backend(SCRIPT)
    source = BleakSource({"door": "hci0", "till": ""}, backend=backend, flush_seconds=0.01)
    collect, _ = run_in_thread(source, lambda c: len(c.adverts) >= 6)
    by_scanner = {(a.scanner, a.address): a for a in collect.adverts}
    assert len(by_scanner) == 6
    door_ibeacon = by_scanner[("door", "AA:00:00:00:00:01")]
    assert door_ibeacon.rssi == -61
    assert door_ibeacon.manufacturer_data == {0x004C: IBEACON_APPLE_DATA}
    assert by_scanner[("till", "AA:00:00:00:00:02")].service_data == {
        "0000feaa-0000-1000-8000-00805f9b34fb": EDDYSTONE_FRAME
    }
    app = by_scanner[("door", "5C:00:00:00:00:03")]
    assert app.service_uuids == ("b006e642-7839-4e01-0123-456789abcdef",)
    assert app.tx_power == -12
    assert all(abs(a.time - time.time()) < 10 for a in collect.adverts)
    assert [(s.bluez, s.scanning_mode) for s in backend.instances] == [
        ({"adapter": "hci0"}, "active"),
        ({}, "active"),
    ]
    assert all(s.stopped for s in backend.instances)


def test_passive_scanning_passes_patterns_that_match_the_three_formats() -> None:
    backend = scripted_backend(SCRIPT)
    source = BleakSource({"door": ""}, "passive", backend=backend, flush_seconds=0.01)
    run_in_thread(source, lambda c: len(c.adverts) >= 3)
    patterns = backend.instances[0].bluez["or_patterns"]
    assert patterns == passive_or_patterns()

    def matches(raw: bytes) -> bool:
        offset, structures = 0, []
        while offset < len(raw):
            length = raw[offset]
            structures.append((raw[offset + 1], raw[offset + 2 : offset + 1 + length]))
            offset += 1 + length
        return any(
            ad_type == p.ad_data_type
            and data[p.start_position : p.start_position + len(p.content_of_pattern)]
            == p.content_of_pattern
            for p in patterns
            for ad_type, data in structures
        )

    assert matches(IBEACON_RAW) and matches(EDDYSTONE_RAW) and matches(app_raw("00" * 8))
    tlm = EDDYSTONE_RAW[:11] + b"\x20" + EDDYSTONE_RAW[12:]
    other_app_version = app_raw("00" * 8).replace(b"\x01\x4e", b"\x02\x4e")
    assert not matches(tlm) and not matches(other_app_version)


def test_a_scanner_that_will_not_start_is_retried_until_it_does() -> None:
    backend = scripted_backend(SCRIPT, fail_starts=2)
    source = BleakSource(
        {"door": ""}, backend=backend, flush_seconds=0.01, retry_seconds=(0.01, 0.02)
    )
    collect, _ = run_in_thread(source, lambda c: len(c.adverts) >= 3)
    assert len(collect.adverts) == 3
    assert source.restarts == 2


def test_retries_back_off_exponentially() -> None:
    backend = scripted_backend(SCRIPT, fail_starts=3)
    source = BleakSource({"door": ""}, backend=backend, flush_seconds=0.01, retry_seconds=(0.05, 1))
    started = time.monotonic()
    run_in_thread(source, lambda c: len(c.adverts) >= 3)
    assert time.monotonic() - started >= 0.05 + 0.1 + 0.2
    assert source.restarts == 3


def test_a_silent_scanner_is_restarted() -> None:
    backend = scripted_backend([])
    source = BleakSource(
        {"door": ""},
        backend=backend,
        flush_seconds=0.01,
        watchdog_seconds=0.05,
        retry_seconds=(0.01, 0.01),
    )
    run_in_thread(source, lambda _: len(backend.instances) >= 3)
    assert source.restarts >= 2
    assert all(s.stopped for s in backend.instances)


def test_empty_batches_keep_coming_so_the_agent_can_expire_beacons() -> None:
    source = BleakSource({"door": ""}, backend=scripted_backend([]), flush_seconds=0.01)
    collect, _ = run_in_thread(source, lambda c: len(c.batches) >= 5)
    assert len(collect.batches) >= 5 and collect.adverts == []


def test_a_burst_beyond_the_queue_bound_is_dropped_and_counted() -> None:
    burst = [(f"AA:{i:02d}", bleak_data(IBEACON_RAW, -60)) for i in range(10)]
    source = BleakSource(
        {"door": ""}, backend=scripted_backend(burst), flush_seconds=0.05, max_pending=3
    )
    collect, _ = run_in_thread(source, lambda c: len(c.adverts) >= 3)
    assert len(collect.adverts) == 3 and source.dropped == 7


def test_a_failing_sink_stops_the_source_and_its_scanners() -> None:
    backend = scripted_backend(SCRIPT)
    source = BleakSource({"door": ""}, backend=backend, flush_seconds=0.01)

    def deliver(batch: Sequence[Advertisement], now: float) -> None:
        if batch:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        source.run(deliver, threading.Event())
    assert backend.instances[0].stopped


def test_without_bleak_installed_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "bleak", None)
    with pytest.raises(ConfigError, match=r"pip install 'bleak>=3\.1'"):
        BleakSource().run(Collector(), threading.Event())
