"""Try-on → purchase conversion, per garment (pure).

Each try-on, and each sale of a tagged garment, leaves a record under the garment's EPC
for the conversion window; a garment sold after its try-on converts once. EPCs are unique
per garment, so a conversion needs no visitor identity: the garment itself links the
fitting room to the till. The two may be processed in either order (several workers,
late events): whichever comes second completes the conversion.
"""

from __future__ import annotations

import msgspec


class GarmentRecord(msgspec.Struct, kw_only=True):
    epc: str
    gtin: str
    zone: str | None = None
    tried_ms: int | None = None
    member_id: str | None = None
    sold_in: str | None = None  # sale id
    sold_ms: int | None = None
    converted: bool = False


class Conversion(msgspec.Struct, frozen=True, kw_only=True):
    epc: str
    gtin: str
    zone: str
    tried_ms: int
    sold_ms: int
    sale_id: str
    member_id: str | None


def mark_tried(
    record: GarmentRecord | None, epc: str, gtin: str, zone: str, ts_ms: int,
    member_id: str | None,
) -> tuple[GarmentRecord, Conversion | None]:  # fmt: skip
    """Record a try-on; the latest one before the sale is the one the sale converts."""
    if record is None:
        record = GarmentRecord(epc=epc, gtin=gtin)
    if record.converted:
        # The try-on that completed the conversion, seen again: the same conversion.
        return record, _conversion(record) if record.tried_ms == ts_ms else None
    sold_before = record.sold_ms is not None and record.sold_ms < ts_ms
    if not sold_before and (record.tried_ms is None or record.tried_ms < ts_ms):
        record.zone, record.tried_ms, record.member_id = zone, ts_ms, member_id
    return record, _convert(record)


def mark_sold(
    record: GarmentRecord | None, epc: str, gtin: str, sale_id: str, ts_ms: int
) -> tuple[GarmentRecord, Conversion | None]:
    """Record a sale of the garment; the first sale counts."""
    if record is None:
        record = GarmentRecord(epc=epc, gtin=gtin)
    if record.converted:
        # The sale that completed the conversion, seen again: the same conversion.
        return record, _conversion(record) if record.sold_in == sale_id else None
    if record.sold_in is None:
        record.sold_in, record.sold_ms = sale_id, ts_ms
    return record, _convert(record)


def _convert(record: GarmentRecord) -> Conversion | None:
    if (
        record.converted
        or record.tried_ms is None
        or record.sold_ms is None
        or record.sold_in is None
        or record.tried_ms > record.sold_ms
    ):
        return None
    record.converted = True
    return _conversion(record)


def _conversion(record: GarmentRecord) -> Conversion:
    assert record.tried_ms is not None and record.sold_ms is not None
    assert record.sold_in is not None
    return Conversion(
        epc=record.epc,
        gtin=record.gtin,
        zone=record.zone or "",
        tried_ms=record.tried_ms,
        sold_ms=record.sold_ms,
        sale_id=record.sold_in,
        member_id=record.member_id,
    )
