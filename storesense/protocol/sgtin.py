"""GS1 SGTIN-96 EPCs (garment tags): decode to GTIN-14 and serial, and encode.

Layout per the GS1 EPC Tag Data Standard (TDS), SGTIN-96 coding table: header 0x30 (8 bits),
filter (3), partition (3), company prefix and item reference (44 bits between them, split
by the partition), serial (38 bits). The item reference field carries the GTIN's indicator
digit in front of the item reference digits, so

    GTIN-14 = indicator + company prefix + item reference (without indicator) + check digit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SGTIN96_HEADER = 0x30
MAX_SERIAL = (1 << 38) - 1
FILTER_POS_ITEM = 1  # "point of sale trade item", what garment tags on the shop floor carry


@dataclass(frozen=True, slots=True)
class Partition:
    """One row of the TDS SGTIN partition table."""

    value: int
    prefix_bits: int
    prefix_digits: int
    item_bits: int
    item_digits: int  # indicator digit included


# TDS SGTIN partition table; company prefix digits + item reference digits = 13.
PARTITIONS: tuple[Partition, ...] = (
    Partition(0, 40, 12, 4, 1),
    Partition(1, 37, 11, 7, 2),
    Partition(2, 34, 10, 10, 3),
    Partition(3, 30, 9, 14, 4),
    Partition(4, 27, 8, 17, 5),
    Partition(5, 24, 7, 20, 6),
    Partition(6, 20, 6, 24, 7),
)
_BY_PREFIX_DIGITS = {row.prefix_digits: row for row in PARTITIONS}
_HEX = re.compile(r"[0-9A-Fa-f]{24}")


class InvalidSgtin(ValueError):
    """An EPC is not a valid SGTIN-96; the message says which part is wrong."""


@dataclass(frozen=True, slots=True)
class Sgtin96:
    """The fields of one SGTIN-96 EPC."""

    filter_value: int
    partition: int
    company_prefix: str  # 6-12 digits, leading zeros kept
    item_reference: str  # indicator digit first, then the item reference digits
    serial: int

    @property
    def indicator(self) -> int:
        return int(self.item_reference[0])

    @property
    def gtin(self) -> str:
        """The GTIN-14 with its check digit."""
        body = self.item_reference[0] + self.company_prefix + self.item_reference[1:]
        return body + str(gtin_check_digit(body))

    @property
    def epc_uri(self) -> str:
        """Pure identity URI, e.g. `urn:epc:id:sgtin:0614141.812345.6789`."""
        return f"urn:epc:id:sgtin:{self.company_prefix}.{self.item_reference}.{self.serial}"

    @property
    def tag_uri(self) -> str:
        """Tag URI with the filter, e.g. `urn:epc:tag:sgtin-96:3.0614141.812345.6789`."""
        return (
            f"urn:epc:tag:sgtin-96:{self.filter_value}."
            f"{self.company_prefix}.{self.item_reference}.{self.serial}"
        )


def decode_sgtin96(epc: str) -> Sgtin96:
    """Decode a 24-hex-digit SGTIN-96 EPC (any case); raise InvalidSgtin naming the problem."""
    if len(epc) != 24:
        raise InvalidSgtin(f"SGTIN-96 EPC must be 24 hex digits, got {len(epc)}: {epc[:80]!r}")
    if _HEX.fullmatch(epc) is None:
        raise InvalidSgtin(f"EPC must be hexadecimal, got {epc!r}")
    value = int(epc, 16)
    header = value >> 88
    if header != SGTIN96_HEADER:
        raise InvalidSgtin(f"EPC header is 0x{header:02x}, not 0x30 (SGTIN-96): {epc!r}")
    filter_value = (value >> 85) & 0b111
    partition_value = (value >> 82) & 0b111
    if partition_value >= len(PARTITIONS):
        raise InvalidSgtin(f"SGTIN-96 partition must be 0-6, got {partition_value}: {epc!r}")
    row = PARTITIONS[partition_value]
    fields = (value >> 38) & ((1 << 44) - 1)
    company = fields >> row.item_bits
    item = fields & ((1 << row.item_bits) - 1)
    if company >= 10**row.prefix_digits:
        raise InvalidSgtin(
            f"SGTIN-96 company prefix {company} has more than {row.prefix_digits} digits "
            f"(partition {partition_value}): {epc!r}"
        )
    if item >= 10**row.item_digits:
        raise InvalidSgtin(
            f"SGTIN-96 item reference {item} has more than {row.item_digits} digits "
            f"(partition {partition_value}): {epc!r}"
        )
    return Sgtin96(
        filter_value=filter_value,
        partition=partition_value,
        company_prefix=f"{company:0{row.prefix_digits}d}",
        item_reference=f"{item:0{row.item_digits}d}",
        serial=value & MAX_SERIAL,
    )


def is_sgtin96(epc: str) -> bool:
    """True when `epc` decodes as a valid SGTIN-96 (a garment tag, not a card or badge)."""
    try:
        decode_sgtin96(epc)
    except InvalidSgtin:
        return False
    return True


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10 check digit of `body` (a GTIN without its last digit)."""
    if not body.isdigit() or not body.isascii():
        raise ValueError(f"GTIN body must be digits, got {body!r}")
    # Weights 3, 1, 3, … counted from the rightmost digit of the body.
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin14(gtin: str) -> bool:
    """True when `gtin` is 14 digits with a correct check digit."""
    if len(gtin) != 14 or not gtin.isdigit() or not gtin.isascii():
        return False
    return gtin_check_digit(gtin[:13]) == int(gtin[13])


def make_gtin14(indicator: int, company_prefix: str, item_reference: str) -> str:
    """Assemble a GTIN-14 from its parts and append the check digit."""
    if not 0 <= indicator <= 9:
        raise ValueError(f"indicator digit must be 0-9, got {indicator}")
    if len(company_prefix) + len(item_reference) != 12:
        raise ValueError(
            "company prefix and item reference must have 12 digits between them, got "
            f"{company_prefix!r} + {item_reference!r}"
        )
    body = f"{indicator}{company_prefix}{item_reference}"
    return body + str(gtin_check_digit(body))


def encode_sgtin96(
    gtin: str,
    serial: int,
    *,
    company_prefix_length: int,
    filter_value: int = FILTER_POS_ITEM,
) -> str:
    """SGTIN-96 EPC of one item as 24 lowercase hex digits.

    `company_prefix_length` (6-12 digits) picks the partition; the GTIN alone cannot tell it.
    """
    if not is_valid_gtin14(gtin):
        raise ValueError(f"not a valid GTIN-14 (14 digits, correct check digit): {gtin!r}")
    row = _BY_PREFIX_DIGITS.get(company_prefix_length)
    if row is None:
        raise ValueError(f"company prefix must have 6-12 digits, got {company_prefix_length}")
    if not 0 <= filter_value <= 7:
        raise ValueError(f"filter value must be 0-7, got {filter_value}")
    if not 0 <= serial <= MAX_SERIAL:
        raise ValueError(f"SGTIN-96 serial must be 0-{MAX_SERIAL}, got {serial}")
    company_prefix = int(gtin[1 : 1 + company_prefix_length])
    # The indicator digit leads the item reference field (TDS: "indicator/pad digit").
    item_reference = int(gtin[0] + gtin[1 + company_prefix_length : 13])
    value = SGTIN96_HEADER
    for field, bits in (
        (filter_value, 3),
        (row.value, 3),
        (company_prefix, row.prefix_bits),
        (item_reference, row.item_bits),
        (serial, 38),
    ):
        value = (value << bits) | field
    return f"{value:024x}"
