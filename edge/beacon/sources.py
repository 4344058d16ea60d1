"""Where advertisements come from: the local radio(s) through bleak, or a recording.

A source calls `deliver(batch, now)` with advertisements in time order, and also with an
empty batch now and then so that the agent can notice silence; it returns when `stop` is
set or (for a recording) when the input ends.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from edge.beacon.advertisements import APP_UUID_PREFIX, Advertisement
from edge.beacon.recording import RecordingError, decode_line
from storesense.errors import ConfigError

if TYPE_CHECKING:
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

log = logging.getLogger(__name__)

Deliver = Callable[[Sequence[Advertisement], float], None]
ScanningMode = Literal["active", "passive"]


class AdvertSource(Protocol):
    def run(self, deliver: Deliver, stop: threading.Event) -> None:
        """Deliver advertisements until `stop` is set or the source ends."""
        ...


class ReplaySource:
    """Advertisements from a JSONL recording (edge/beacon/recording.py), in file order.

    `speed` 0 delivers as fast as the agent takes them; 1 keeps the recorded pace.
    """

    def __init__(self, path: str | Path, *, speed: float = 0.0, batch_size: int = 256) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self.path = Path(path)
        self.speed = speed
        self.batch_size = batch_size

    def run(self, deliver: Deliver, stop: threading.Event) -> None:
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise RecordingError(f"replay file {self.path}: {exc.strerror or exc}") from None
        with handle:
            self._replay(handle, deliver, stop)

    def _replay(self, lines: Any, deliver: Deliver, stop: threading.Event) -> None:
        batch: list[Advertisement] = []
        previous: float | None = None
        started: tuple[float, float] | None = None  # (first recorded time, wall clock then)
        for number, line in enumerate(lines, start=1):
            if stop.is_set():
                return
            if not line.strip():
                continue
            where = f"replay file {self.path} line {number}"
            advert = decode_line(line, where)
            if previous is not None and advert.time < previous:
                raise RecordingError(
                    f"{where}: field `time` goes back ({advert.time} after {previous}); "
                    "sort the recording by time"
                )
            previous = advert.time
            if self.speed > 0:
                started = started or (advert.time, time.monotonic())
                delay = started[1] + (advert.time - started[0]) / self.speed - time.monotonic()
                if delay > 0:
                    if batch:
                        deliver(batch, batch[-1].time)
                        batch = []
                    if stop.wait(delay):
                        return
            batch.append(advert)
            if len(batch) >= self.batch_size:
                deliver(batch, advert.time)
                batch = []
        if batch:
            deliver(batch, batch[-1].time)


def advertisement_from_bleak(
    scanner: str, device: BLEDevice, data: AdvertisementData, at: float
) -> Advertisement:
    """bleak's (device, advertisement data) as heard by `scanner` at `at` (unix seconds)."""
    return Advertisement(
        time=at,
        scanner=scanner,
        rssi=data.rssi,
        address=device.address,
        manufacturer_data=dict(data.manufacturer_data),
        service_data=dict(data.service_data),
        service_uuids=tuple(data.service_uuids),
        tx_power=data.tx_power,
    )


def passive_or_patterns() -> list[Any]:
    """BlueZ advertisement-monitor patterns for the three formats (passive scanning needs
    them: BlueZ then reports only matching devices)."""
    from bleak.args.bluez import OrPattern
    from bleak.assigned_numbers import AdvertisementDataType as Ad

    # On air a 128-bit UUID is little-endian: 8 ID bytes, the version, the namespace.
    app = bytes([1]) + bytes.fromhex(APP_UUID_PREFIX.replace("-", ""))[::-1]
    return [
        OrPattern(0, Ad.MANUFACTURER_SPECIFIC_DATA, b"\x4c\x00\x02\x15"),  # iBeacon
        OrPattern(0, Ad.SERVICE_DATA_UUID16, b"\xaa\xfe\x00"),  # Eddystone-UID
        OrPattern(8, Ad.COMPLETE_LIST_SERVICE_UUID128, app),
        OrPattern(8, Ad.INCOMPLETE_LIST_SERVICE_UUID128, app),
    ]


class BleakSource:
    """Scan with bleak: one `BleakScanner` per adapter, all in one asyncio loop that runs in
    the calling (agent) thread.

    `adapters` maps scanner names (the keys of the agent's `scanners`) to BlueZ adapters
    ("" = the system default; ignored on macOS and Windows). bleak's callbacks only queue
    (bounded; overflow is counted in `dropped`); every `flush_seconds` the queue goes to
    `deliver` in a worker thread so a slow sink never stalls the radio. If the scanner
    cannot start, or hears nothing at all for `watchdog_seconds` (an adapter reset or
    unplugged leaves BlueZ silent rather than failing), it is restarted with backoff.
    """

    def __init__(
        self,
        adapters: Mapping[str, str] | None = None,
        scanning_mode: ScanningMode = "active",
        *,
        flush_seconds: float = 0.25,
        max_pending: int = 10_000,
        watchdog_seconds: float = 90.0,
        retry_seconds: tuple[float, float] = (2.0, 60.0),
        clock: Callable[[], float] = time.time,
        backend: type[Any] | None = None,
    ) -> None:
        self.adapters = dict(adapters) if adapters is not None else {"local": ""}
        if not self.adapters:
            raise ValueError("BleakSource needs at least one adapter")
        self.scanning_mode = scanning_mode
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending
        self.watchdog_seconds = watchdog_seconds
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.backend = backend  # a bleak BaseBleakScanner subclass; None = the platform's
        self.dropped = 0
        self.restarts = 0

    def run(self, deliver: Deliver, stop: threading.Event) -> None:
        try:
            import bleak  # noqa: F401  (imported here: only hosts with a radio need it)
        except ImportError:
            raise ConfigError(
                "the beacon agent's bleak source needs the `bleak` package "
                "(pip install 'bleak>=3.1'), or configure source: {type: replay, …}"
            ) from None
        asyncio.run(self._run(deliver, stop))

    async def _run(self, deliver: Deliver, stop: threading.Event) -> None:
        backoff = self.retry_seconds[0]
        while not stop.is_set():
            healthy = await self._scan(deliver, stop)
            if stop.is_set():
                return
            self.restarts += 1
            backoff = self.retry_seconds[0] if healthy else backoff
            log.warning(
                "beacon scanner restarting restarts=%d in_seconds=%s", self.restarts, backoff
            )
            if await _wait(stop, backoff):
                return
            backoff = min(backoff * 2, self.retry_seconds[1])

    async def _scan(self, deliver: Deliver, stop: threading.Event) -> bool:
        """Scan until stop or silence; False when the scanners would not start."""
        from bleak import BleakScanner

        pending: deque[Advertisement] = deque()
        async with AsyncExitStack() as stack:
            for scanner_name, adapter in self.adapters.items():
                callback = self._callback(scanner_name, pending)
                try:
                    scanner = BleakScanner(**self._scanner_args(callback, adapter))
                    await scanner.start()
                except Exception as exc:  # bleak, D-Bus and OS errors all mean "no radio"
                    log.error(
                        "beacon scanner failed to start scanner=%s adapter=%s error=%r",
                        scanner_name, adapter or "default", exc,
                    )  # fmt: skip
                    return False
                stack.push_async_callback(_stop_quietly, scanner, scanner_name)
            log.info(
                "beacon scanning scanners=%s mode=%s", ",".join(self.adapters), self.scanning_mode
            )
            last_heard = time.monotonic()
            while not stop.is_set():
                await asyncio.sleep(self.flush_seconds)
                batch = list(pending)
                pending.clear()
                if batch:
                    last_heard = time.monotonic()
                elif time.monotonic() - last_heard > self.watchdog_seconds:
                    log.warning("beacon scanner silent seconds=%s", self.watchdog_seconds)
                    return True
                await asyncio.to_thread(deliver, batch, self.clock())
        return True

    def _callback(
        self, scanner_name: str, pending: deque[Advertisement]
    ) -> Callable[[BLEDevice, AdvertisementData], None]:
        def detected(device: BLEDevice, data: AdvertisementData) -> None:
            if len(pending) >= self.max_pending:
                self.dropped += 1
                return
            pending.append(advertisement_from_bleak(scanner_name, device, data, self.clock()))

        return detected

    def _scanner_args(self, callback: Callable[..., None], adapter: str) -> dict[str, Any]:
        bluez: dict[str, Any] = {"adapter": adapter} if adapter else {}
        if self.scanning_mode == "passive":
            bluez["or_patterns"] = passive_or_patterns()
        args: dict[str, Any] = {
            "detection_callback": callback,
            "scanning_mode": self.scanning_mode,
            "bluez": bluez,
        }
        if self.backend is not None:
            args["backend"] = self.backend
        return args


async def _stop_quietly(scanner: Any, name: str) -> None:
    try:
        await scanner.stop()
    except Exception as exc:  # the adapter may already be gone; nothing left to release
        log.warning("beacon scanner stop failed scanner=%s error=%r", name, exc)


async def _wait(stop: threading.Event, seconds: float) -> bool:
    """Sleep up to `seconds`, waking early when `stop` is set; True if it was."""
    deadline = time.monotonic() + seconds
    while not stop.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(0.1, remaining))
    return True
