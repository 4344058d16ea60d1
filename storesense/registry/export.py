"""Registry exports in the import formats: CSV (the columns `… import` reads back) and JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from storesense.registry import products, staff
from storesense.registry.members import Member, members_to_csv
from storesense.registry.products import Product
from storesense.registry.staff import StaffMember


def staff_to_csv(records: Iterable[StaffMember]) -> str:
    """The inverse of parse_staff_csv (stores and shifts are JSON-only)."""
    return _write(
        staff.COLUMNS,
        (
            [s.staff_id, s.name, s.role or "", ";".join(s.badge_epcs), ";".join(s.beacons)]
            for s in records
        ),
    )


def products_to_csv(records: Iterable[Product]) -> str:
    """The inverse of parse_products_csv."""
    return _write(
        products.COLUMNS,
        ([p.gtin, p.style, p.name, p.colour or "", p.size or "", _price(p.price)] for p in records),
    )


def to_csv(records: list[Member] | list[StaffMember] | list[Product], kind: str) -> str:
    if kind == "members":
        return members_to_csv(r for r in records if isinstance(r, Member))
    if kind == "staff":
        return staff_to_csv(r for r in records if isinstance(r, StaffMember))
    return products_to_csv(r for r in records if isinstance(r, Product))


def _price(price: float | None) -> str:
    return "" if price is None else f"{price:.6f}".rstrip("0").rstrip(".")


def _write(columns: Iterable[str], rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()
