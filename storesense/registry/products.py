"""The product catalog: GTIN → style, name, colour, size, price. Garment tags (SGTIN-96
EPCs) decode to a GTIN, which this catalog names. CSV columns:
`gtin,style,name,colour,size,price`."""

from __future__ import annotations

import msgspec

from storesense.protocol.sgtin import is_valid_gtin14
from storesense.registry.csvfile import Row, parse_csv

COLUMNS = ("gtin", "style", "name", "colour", "size", "price")


class Product(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    gtin: str
    style: str
    name: str
    colour: str | None = None
    size: str | None = None
    price: float | None = None


def parse_products_csv(text: str, source: str = "products CSV") -> list[Product]:
    return parse_csv(text, source, COLUMNS, _parse_row, key=lambda p: p.gtin, key_column="gtin")


def _parse_row(row: Row) -> Product | None:
    gtin = row.cell("gtin")
    if len(gtin) < 14 and gtin.isdigit():
        gtin = gtin.zfill(14)  # GTIN-8/12/13 are GTIN-14 with leading zeros
    if not is_valid_gtin14(gtin):
        row.bad("gtin", f"must be a GTIN (8-14 digits with a valid check digit), got {gtin!r}")
    for column in ("style", "name"):
        if not row.cell(column):
            row.bad(column, "is empty")
    price: float | None = None
    if row.cell("price"):
        try:
            price = float(row.cell("price"))
            if price < 0:
                raise ValueError
        except ValueError:
            row.bad("price", f"must be a number >= 0, got {row.cell('price')!r}")
    if not row.ok:
        return None
    return Product(
        gtin=gtin,
        style=row.cell("style"),
        name=row.cell("name"),
        colour=row.cell("colour") or None,
        size=row.cell("size") or None,
        price=price,
    )
