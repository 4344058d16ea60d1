"""Staff and their badges (RFID EPCs or beacons), so the service knows an assistant from a
customer. CSV columns: `staff_id,name,role,badge_epcs,beacons` (lists separated by `;`)."""

from __future__ import annotations

import re

import msgspec

from storesense.protocol.events import BEACON_PATTERN
from storesense.registry.csvfile import Row, parse_csv, split_list
from storesense.registry.members import EPC_PATTERN

COLUMNS = ("staff_id", "name", "role", "badge_epcs", "beacons")
_STAFF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


class Shift(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    """A recurring shift: weekdays (mon…sun) and a HH:MM-HH:MM window, store-local."""

    store: str
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    hours: str = "00:00-24:00"
    zones: tuple[str, ...] = ()  # zone ids or globs covered; empty = all


class StaffMember(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    staff_id: str
    name: str
    role: str | None = None
    badge_epcs: tuple[str, ...] = ()
    beacons: tuple[str, ...] = ()
    # Not in the CSV (set over the API): the stores they work in, and their shifts.
    stores: tuple[str, ...] = ()
    shifts: tuple[Shift, ...] = ()


def parse_staff_csv(text: str, source: str = "staff CSV") -> list[StaffMember]:
    return parse_csv(
        text, source, COLUMNS, _parse_row, key=lambda s: s.staff_id, key_column="staff_id"
    )


def _parse_row(row: Row) -> StaffMember | None:
    staff_id = row.cell("staff_id")
    if not _STAFF_ID.fullmatch(staff_id):
        row.bad("staff_id", f"must be 1-64 letters, digits or _.:- , got {staff_id!r}")
    if not row.cell("name"):
        row.bad("name", "is empty")
    epcs = tuple(epc.lower() for epc in split_list(row.cell("badge_epcs")))
    for epc in epcs:
        if not EPC_PATTERN.fullmatch(epc):
            row.bad("badge_epcs", f"{epc!r} is not an EPC (24-64 hex digits)")
    beacons = split_list(row.cell("beacons"))
    for beacon in beacons:
        if not BEACON_PATTERN.fullmatch(beacon):
            row.bad("beacons", f"{beacon!r} is not an ibeacon:… or eddystone-uid:… identifier")
    if not row.ok:
        return None
    return StaffMember(
        staff_id=staff_id,
        name=row.cell("name"),
        role=row.cell("role") or None,
        badge_epcs=epcs,
        beacons=beacons,
    )
