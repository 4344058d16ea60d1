"""GS1 identifiers the simulator needs: GTIN check digits and SGTIN-96 EPC encoding.

Encoding follows the GS1 EPC Tag Data Standard (TDS) 1.x/2.x, section 14 (SGTIN-96):
header 0x30 (8 bits), filter (3), partition (3), company prefix and item reference
(44 bits between them, split by the partition), serial (38 bits). The item reference field
carries the GTIN's indicator digit in front of the item reference digits. Encode only: the
service owns decoding.
"""

from __future__ import annotations

SGTIN96_HEADER = 0x30
MAX_SERIAL = (1 << 38) - 1
FILTER_POS_ITEM = 1  # "point of sale trade item", what garment tags on the shop floor carry

# company prefix digits -> (partition value, company prefix bits, item reference bits)
_PARTITIONS: dict[int, tuple[int, int, int]] = {
    12: (0, 40, 4),
    11: (1, 37, 7),
    10: (2, 34, 10),
    9: (3, 30, 14),
    8: (4, 27, 17),
    7: (5, 24, 20),
    6: (6, 20, 24),
}


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
    if company_prefix_length not in _PARTITIONS:
        raise ValueError(f"company prefix must have 6-12 digits, got {company_prefix_length}")
    if not 0 <= filter_value <= 7:
        raise ValueError(f"filter value must be 0-7, got {filter_value}")
    if not 0 <= serial <= MAX_SERIAL:
        raise ValueError(f"SGTIN-96 serial must be 0-{MAX_SERIAL}, got {serial}")
    partition, prefix_bits, item_bits = _PARTITIONS[company_prefix_length]
    company_prefix = int(gtin[1 : 1 + company_prefix_length])
    # The indicator digit leads the item reference field (TDS: "indicator/pad digit").
    item_reference = int(gtin[0] + gtin[1 + company_prefix_length : 13])
    value = SGTIN96_HEADER
    for field, bits in (
        (filter_value, 3),
        (partition, 3),
        (company_prefix, prefix_bits),
        (item_reference, item_bits),
        (serial, 38),
    ):
        value = (value << bits) | field
    return f"{value:024x}"
