"""Byte-exact example advertisements and small builders shared by the beacon tests."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from edge.beacon.advertisements import Advertisement
from storesense.protocol.events import AnyEvent

T0 = 1_764_150_000.0  # 2025-11-26, inside the protocol's plausible range

# An Estimote-style iBeacon exactly as it goes on air: flags, then Apple manufacturer data.
IBEACON_RAW = bytes.fromhex(
    "020106"
    "1aff4c00"  # 26 bytes of manufacturer data, company 0x004C little-endian
    "0215"  # iBeacon type and length
    "b9407f30f5f8466eaff925556b57fe6d"  # proximity UUID
    "3039"  # major 12345
    "d431"  # minor 54321
    "c5"  # measured power -59 dBm at 1 m
)
IBEACON_ID = "ibeacon:b9407f30-f5f8-466e-aff9-25556b57fe6d:12345:54321"
IBEACON_APPLE_DATA = IBEACON_RAW[7:]  # what bleak puts under manufacturer_data[0x004C]

# An Eddystone-UID frame per github.com/google/eddystone/eddystone-uid (with RFU bytes).
EDDYSTONE_RAW = bytes.fromhex(
    "020106"
    "0303aafe"  # complete list of 16-bit UUIDs: 0xFEAA
    "1716aafe"  # 23 bytes of service data for 0xFEAA
    "00"  # frame type UID
    "e7"  # ranging data -25 dBm at 0 m
    "edd1ebeac04e5defa017"  # namespace
    "0bdb87539b67"  # instance
    "0000"  # RFU
)
EDDYSTONE_ID = "eddystone-uid:edd1ebeac04e5defa017:0bdb87539b67"
EDDYSTONE_FRAME = EDDYSTONE_RAW[11:]  # what bleak puts under service_data["0000feaa-…"]
EDDYSTONE_UUID = "0000feaa-0000-1000-8000-00805f9b34fb"

APP_KEY = bytes(range(16))


def app_raw(eid: str, tx_power_level: int | None = None) -> bytes:
    """The app's v1 advertisement built by hand from the documented layout, not the code."""
    uuid_be = bytes.fromhex("b006e64278394e") + b"\x01" + bytes.fromhex(eid)
    raw = bytes.fromhex("020106") + bytes([17, 0x07]) + uuid_be[::-1]
    if tx_power_level is not None:
        raw += bytes([2, 0x0A, tx_power_level & 0xFF])
    return raw


def ibeacon(
    at: float, rssi: int, scanner: str = "s1", *, major: int = 1, minor: int = 2
) -> Advertisement:
    data = (
        b"\x02\x15"
        + bytes.fromhex("f7826da64fa24e988024bc5b71e0893e")
        + major.to_bytes(2, "big")
        + minor.to_bytes(2, "big")
        + b"\xc5"
    )
    return Advertisement(
        time=at, scanner=scanner, rssi=rssi, address="AA:00", manufacturer_data={0x004C: data}
    )


def ibeacon_id(major: int = 1, minor: int = 2) -> str:
    return f"ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:{major}:{minor}"


class ListSink:
    """An EventSink that keeps what it is given."""

    def __init__(self) -> None:
        self.batches: list[list[AnyEvent]] = []
        self.lock = threading.Lock()

    def emit(self, events: Sequence[AnyEvent]) -> None:
        with self.lock:
            self.batches.append(list(events))

    @property
    def events(self) -> list[AnyEvent]:
        with self.lock:
            return [event for batch in self.batches for event in batch]


# ---------------------------------------------------------------- a recorded store visit

SCANNER_ZONES = {"door": "entrance", "fitting": "fitting-rooms", "till": "checkout"}
STAFF_BADGE = ibeacon_id(major=7, minor=1)
SHELF_TAG = EDDYSTONE_ID
PHONE = "5C:11:22:33:44:55"


def store_recording(start: float, minutes: float = 10.0, seed: int = 1) -> list[dict[str, object]]:
    """What three scanners hear over `minutes`: a staff iBeacon by the till (10 Hz), an
    Eddystone tag by the door (1 Hz), a member's phone walking door -> fitting rooms -> till
    (4 Hz, rotating its ID at window boundaries and listed the way BlueZ reports it, old IDs
    kept), plus other phones' traffic and some broken or unusable advertisements."""
    import random

    from edge.beacon.advertisements import app_service_uuid
    from storesense.protocol.eid import WINDOW_SECONDS, eid_at

    rng = random.Random(seed)
    end = start + minutes * 60
    lines: list[tuple[float, dict[str, object]]] = []

    def heard(
        at: float, near: str, address: str, data: Mapping[str, object], *, far: float = -86
    ) -> None:
        for scanner in SCANNER_ZONES:
            level = -58.0 if scanner == near else far
            rssi = max(-100, min(-30, round(rng.gauss(level, 4.0))))
            lines.append(
                (at, {"time": at, "scanner": scanner, "address": address, "rssi": rssi, **data})
            )

    badge = {
        "manufacturer_data": {"76": ibeacon(0, 0, major=7, minor=1).manufacturer_data[76].hex()}
    }
    shelf = {"raw": EDDYSTONE_RAW.hex()}
    at = start
    while at < end:
        heard(at, "till", "AA:00:00:00:07:01", badge)
        at += 0.1
    at = start
    while at < end:
        heard(at, "door", "AA:00:00:00:0E:01", shelf)
        at += 1.0
    at, advertised = start, []
    while at < end:
        progress = (at - start) / (end - start)
        near = "door" if progress < 0.3 else "fitting" if progress < 0.6 else "till"
        uuid = app_service_uuid(eid_at(APP_KEY, at))
        if uuid not in advertised:
            advertised.append(uuid)  # BlueZ adds, never removes, while the phone stays
        heard(at, near, PHONE, {"service_uuids": list(advertised), "tx_power": -12})
        at += 0.25
    at = start
    while at < end:
        noise: Mapping[str, object] = rng.choice(
            [
                {"manufacturer_data": {"76": "1005031c0a9b2c"}},  # an iPhone's nearby info
                {"manufacturer_data": {"6": "010920022a"}},  # a Windows PC
                {"manufacturer_data": {"76": "0215abcd"}},  # a broken iBeacon
                {"service_data": {"feaa": "10ee03676f6f676c6507"}},  # Eddystone-URL
                {"service_uuids": ["fd6f"]},
            ]
        )
        heard(at, rng.choice(list(SCANNER_ZONES)), f"7E:{rng.getrandbits(40):010X}", noise)
        at += 0.2
    # Some controllers report 127 when they have no RSSI for a packet.
    lines.append((start + 1.05, {"time": start + 1.05, "scanner": "door", "rssi": 127, **badge}))
    lines.sort(key=lambda pair: pair[0])
    assert WINDOW_SECONDS == 900
    return [record for _, record in lines]
