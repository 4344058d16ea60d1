"""A small, independent SGTIN-96 decoder and GTIN check, written from the GS1 TDS tables,
to test the simulator's encoder against (the service's own decoder is not ours to lean on)."""

from __future__ import annotations

from dataclasses import dataclass

# partition -> (company prefix bits, digits, item reference bits, digits); GS1 TDS table 14-2
PARTITION_TABLE = {
    0: (40, 12, 4, 1),
    1: (37, 11, 7, 2),
    2: (34, 10, 10, 3),
    3: (30, 9, 14, 4),
    4: (27, 8, 17, 5),
    5: (24, 7, 20, 6),
    6: (20, 6, 24, 7),
}


@dataclass(frozen=True)
class Sgtin:
    filter_value: int
    company_prefix: str
    item_reference: str  # indicator digit first
    serial: int

    @property
    def gtin(self) -> str:
        body = self.item_reference[0] + self.company_prefix + self.item_reference[1:]
        return body + str(check_digit(body))


def check_digit(body13: str) -> int:
    """GTIN-14 check digit, weights 3,1,3,… from the *left* of the 13-digit body."""
    assert len(body13) == 13
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body13))
    return -total % 10


def decode_sgtin96(epc: str) -> Sgtin:
    assert len(epc) == 24, epc
    bits = f"{int(epc, 16):096b}"
    assert int(bits[:8], 2) == 0x30, f"not an SGTIN-96 header: {epc}"
    prefix_bits, prefix_digits, item_bits, item_digits = PARTITION_TABLE[int(bits[11:14], 2)]
    assert 14 + prefix_bits + item_bits == 58  # 44 bits between them, serial in the last 38
    company = int(bits[14 : 14 + prefix_bits], 2)
    item = int(bits[14 + prefix_bits : 58], 2)
    return Sgtin(
        filter_value=int(bits[8:11], 2),
        company_prefix=f"{company:0{prefix_digits}d}",
        item_reference=f"{item:0{item_digits}d}",
        serial=int(bits[58:], 2),
    )


def is_sgtin96(epc: str) -> bool:
    return len(epc) == 24 and epc[:2].lower() == "30"
