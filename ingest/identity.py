"""Resolve device identifiers to members, staff and products (pure; no I/O).

Only members who consented to in-store recognition are resolvable: everyone else stays an
anonymous visitor. Rotating app IDs resolve through one hash table per 15-minute window
(eid as a 64-bit integer → member), so a lookup is O(1) whatever the number of members.
Tables are built ahead of time by `prepare` (off the event loop, see DirectoryCache) and
kept for a few windows; a lookup only builds one itself when nothing prepared it.
"""

from __future__ import annotations

import hmac
import struct
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from storesense.protocol.eid import parse_app_key, window_of
from storesense.protocol.sgtin import InvalidSgtin, decode_sgtin96
from storesense.registry.members import Member
from storesense.registry.products import Product
from storesense.registry.staff import StaffMember

# Windows kept built: the live one and its neighbours, plus room for replays of the
# recent past (outbox catch-up) without rebuilding.
_CACHED_WINDOWS = 8
# Tables key eids by their 8 bytes read as a little-endian integer.
_LITTLE_ENDIAN_NATIVE = sys.byteorder == "little"
_NO_TABLE: dict[int, int] = {}  # stands in for a window whose table could not be kept


class MemberDirectory:
    """Lookup tables over one snapshot of the member registry."""

    def __init__(self, members: Iterable[Member]) -> None:
        self._by_card: dict[str, Member] = {}
        self._by_phone: dict[str, Member] = {}
        self._by_id: dict[str, Member] = {}
        self._keys: list[bytes] = []
        self._key_members: list[Member] = []
        for member in members:
            if not member.consent:
                continue
            self._by_id[member.member_id] = member
            for epc in member.card_epcs:
                self._by_card[epc] = member
            if member.phone:
                self._by_phone[normalize_phone(member.phone)] = member
            if member.app_key:
                self._keys.append(parse_app_key(member.app_key))
                self._key_members.append(member)
        self._windows: OrderedDict[int, dict[int, int]] = OrderedDict()
        # The tables of the window last looked up and its neighbours, in lookup order: most
        # sightings fall in the same window as the one before. A window's table never
        # changes, so these stay right even after `_trim` drops one (which clears this).
        self._recent: tuple[int, dict[int, int], dict[int, int], dict[int, int]] | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._by_id)

    def by_card(self, epc: str) -> Member | None:
        return self._by_card.get(epc.lower())

    def by_phone(self, phone: str) -> Member | None:
        return self._by_phone.get(normalize_phone(phone))

    def by_id(self, member_id: str) -> Member | None:
        return self._by_id.get(member_id)

    def by_app_id(self, eid: str, ts_ms: int) -> Member | None:
        """The member whose app advertised `eid` at event time `ts_ms` (window ±1)."""
        try:
            value = int.from_bytes(bytes.fromhex(eid), "little")
        except ValueError:
            return None
        window = window_of(ts_ms / 1000)
        recent = self._recent
        if recent is None or recent[0] != window:
            recent = (window, self._table(window), self._table(window - 1), self._table(window + 1))
            if all(table is not _NO_TABLE for table in recent[1:]):
                self._recent = recent
        for table in recent[1:]:
            index = table.get(value)
            if index is not None:
                return self._key_members[index]
        return None

    def is_prepared(self, window: int) -> bool:
        with self._lock:
            return window in self._windows

    @property
    def app_keys(self) -> list[bytes]:
        return self._keys

    def prepare(self, window: int) -> None:
        """Build the table of `window` (CPU-bound: microseconds per member; call it from a
        worker thread ahead of time, or `install` eids computed elsewhere)."""
        if not self.is_prepared(window):
            self.install(window, eids_for_window(self._keys, window))

    def install(self, window: int, eids: bytes) -> None:
        """Install the table of `window` from `eids_for_window(self.app_keys, window)`."""
        values = memoryview(eids).cast("Q") if _LITTLE_ENDIAN_NATIVE else None
        table = (
            dict(zip(values.tolist(), range(len(self._keys)), strict=True))
            if values is not None
            else {
                int.from_bytes(eids[i * 8 : i * 8 + 8], "little"): i for i in range(len(self._keys))
            }
        )
        with self._lock:
            self._windows[window] = table
            self._trim()

    def _table(self, window: int) -> dict[int, int]:
        with self._lock:
            table = self._windows.get(window)
            if table is not None:
                self._windows.move_to_end(window)
                return table
        self.prepare(window)
        with self._lock:
            return self._windows.get(window) or _NO_TABLE

    def _trim(self) -> None:
        while len(self._windows) > _CACHED_WINDOWS:
            self._windows.popitem(last=False)
            self._recent = None


def eids_for_window(keys: list[bytes], window: int) -> bytes:
    """Every key's rotating ID for `window` (ARCHITECTURE.md section 2), 8 bytes each, in
    key order. A plain function of plain values, so a process pool can run it."""
    message = struct.pack(">Q", window)
    digest = hmac.digest
    return b"".join(digest(key, message, "sha256")[:8] for key in keys)


def normalize_phone(phone: str) -> str:
    """Digits only (and a leading +), so '+86 138-0013-8000' matches '+8613800138000'."""
    stripped = phone.strip()
    digits = "".join(ch for ch in stripped if ch.isdigit())
    return ("+" if stripped.startswith("+") else "") + digits


@dataclass(frozen=True, slots=True)
class TagIdentity:
    """What an RFID EPC is: a member's card, a staff badge, a garment, or unknown."""

    kind: Literal["member", "staff", "garment", "unknown"]
    member: Member | None = None
    staff: StaffMember | None = None
    gtin: str | None = None
    product: Product | None = None


class Directory:
    """Every identifier the service can resolve, over one snapshot of the registries."""

    def __init__(
        self,
        members: Iterable[Member] = (),
        staff: Iterable[StaffMember] = (),
        products: Iterable[Product] = (),
    ) -> None:
        self.members = MemberDirectory(members)
        self._staff_by_epc: dict[str, StaffMember] = {}
        self._staff_by_beacon: dict[str, StaffMember] = {}
        for person in staff:
            for epc in person.badge_epcs:
                self._staff_by_epc[epc] = person
            for beacon in person.beacons:
                self._staff_by_beacon[beacon] = person
        self._products = {product.gtin: product for product in products}

    def tag(self, epc: str) -> TagIdentity:
        member = self.members.by_card(epc)
        if member is not None:
            return TagIdentity("member", member=member)
        staff = self._staff_by_epc.get(epc)
        if staff is not None:
            return TagIdentity("staff", staff=staff)
        try:
            gtin = decode_sgtin96(epc).gtin
        except InvalidSgtin:
            return TagIdentity("unknown")
        return TagIdentity("garment", gtin=gtin, product=self._products.get(gtin))

    def staff_beacon(self, beacon: str) -> StaffMember | None:
        return self._staff_by_beacon.get(beacon)

    def product(self, gtin: str) -> Product | None:
        return self._products.get(gtin)
