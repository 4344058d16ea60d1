"""Try-on → purchase conversion, per garment (pure).

Each try-on leaves a record under the garment's EPC for the conversion window; a sale of
that EPC after the try-on converts it, once. EPCs are unique per garment, so a conversion
needs no visitor identity: the garment itself links the fitting room to the till.
"""

from __future__ import annotations

import msgspec


class TriedGarment(msgspec.Struct, kw_only=True):
    epc: str
    gtin: str
    zone: str
    tried_ms: int
    member_id: str | None = None
    sold_in: str | None = None  # sale id that converted it


class Conversion(msgspec.Struct, frozen=True, kw_only=True):
    epc: str
    gtin: str
    zone: str
    tried_ms: int
    sold_ms: int
    sale_id: str
    member_id: str | None


def mark_tried(
    record: TriedGarment | None, epc: str, gtin: str, zone: str, ts_ms: int, member_id: str | None
) -> TriedGarment:
    """The latest try-on is the one a later sale converts; a converted one stays converted."""
    if record is not None and (record.sold_in is not None or record.tried_ms >= ts_ms):
        return record
    return TriedGarment(epc=epc, gtin=gtin, zone=zone, tried_ms=ts_ms, member_id=member_id)


def mark_sold(record: TriedGarment | None, sale_id: str, ts_ms: int) -> Conversion | None:
    """Convert a tried garment sold after its try-on (mutates `record`), once."""
    if record is None or record.sold_in is not None or record.tried_ms > ts_ms:
        return None
    record.sold_in = sale_id
    return Conversion(
        epc=record.epc,
        gtin=record.gtin,
        zone=record.zone,
        tried_ms=record.tried_ms,
        sold_ms=ts_ms,
        sale_id=sale_id,
        member_id=record.member_id,
    )
