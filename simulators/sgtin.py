"""GS1 identifiers the simulator needs: GTIN check digits and SGTIN-96 EPC encoding.

The implementation lives in `storesense.protocol.sgtin` (one partition table for the
encoder and the service's decoder); these names stay importable from here.
"""

from __future__ import annotations

from storesense.protocol.sgtin import (
    FILTER_POS_ITEM,
    MAX_SERIAL,
    SGTIN96_HEADER,
    encode_sgtin96,
    gtin_check_digit,
    is_valid_gtin14,
    make_gtin14,
)

__all__ = [
    "FILTER_POS_ITEM",
    "MAX_SERIAL",
    "SGTIN96_HEADER",
    "encode_sgtin96",
    "gtin_check_digit",
    "is_valid_gtin14",
    "make_gtin14",
]
