"""The products of a simulated store and the tagged items on its rails.

Every product is one GTIN-14 (style x colour x size) under the GS1 example company prefix
0614141; every physical item carries an SGTIN-96 tag with its own serial.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from simulators.sgtin import encode_sgtin96, make_gtin14

COMPANY_PREFIX = "0614141"  # GS1's own example prefix: never a real brand's
PRODUCT_CSV_COLUMNS = ("gtin", "style", "name", "colour", "size", "price")

# (style code, name, price)
_STYLES = (
    ("LS-OX", "Oxford shirt", 299.0),
    ("LS-LN", "Linen shirt", 349.0),
    ("TS-CR", "Crew-neck T-shirt", 99.0),
    ("PO-PQ", "Piqué polo", 199.0),
    ("KN-MR", "Merino sweater", 499.0),
    ("KN-CD", "Cotton cardigan", 399.0),
    ("DN-SL", "Slim jeans", 459.0),
    ("DN-ST", "Straight jeans", 459.0),
    ("CH-TP", "Tapered chinos", 359.0),
    ("DR-WR", "Wrap dress", 599.0),
    ("DR-SH", "Shirt dress", 549.0),
    ("SK-PL", "Pleated skirt", 329.0),
    ("JK-DN", "Denim jacket", 699.0),
    ("JK-BM", "Bomber jacket", 799.0),
    ("CT-TR", "Trench coat", 1299.0),
    ("HD-ZP", "Zip hoodie", 329.0),
)
_COLOURS = ("black", "white", "navy", "grey", "beige", "olive", "burgundy", "sky blue")
_SIZES = ("XS", "S", "M", "L", "XL")


@dataclass(frozen=True, slots=True)
class SimProduct:
    gtin: str
    style: str
    name: str
    colour: str
    size: str
    price: float


def generate_catalog(
    seed: int, *, styles: int = 12, colours_per_style: int = 3
) -> list[SimProduct]:
    """A seeded range: `styles` styles, each in a few colours and every size."""
    if not 1 <= styles <= len(_STYLES):
        raise ValueError(f"styles must be 1-{len(_STYLES)}, got {styles}")
    if not 1 <= colours_per_style <= len(_COLOURS):
        raise ValueError(f"colours_per_style must be 1-{len(_COLOURS)}, got {colours_per_style}")
    rng = random.Random(f"storesense-sim:{seed}:catalog")
    products = []
    item = rng.randrange(0, 50_000)
    for code, name, price in rng.sample(_STYLES, styles):
        for colour in rng.sample(_COLOURS, colours_per_style):
            for size in _SIZES:
                gtin = make_gtin14(0, COMPANY_PREFIX, f"{item:05d}")
                products.append(SimProduct(gtin, code, name, colour, size, price))
                item += 1
    return products


class Stock:
    """Hands out tagged items: every call is a different physical item with a fresh serial.

    Items never go back on the rail within a run, so an EPC belongs to at most one visit and
    "tried on, then bought" can be checked from the events alone.
    """

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"storesense-sim:{seed}:stock")
        self._next_serial: dict[str, int] = {}

    def take(self, product: SimProduct) -> str:
        """The SGTIN-96 EPC of a new item of `product`."""
        serial = self._next_serial.get(product.gtin)
        if serial is None:
            serial = self._rng.randrange(1, 1 << 30)
        self._next_serial[product.gtin] = serial + 1
        return encode_sgtin96(product.gtin, serial, company_prefix_length=len(COMPANY_PREFIX))


def write_products_csv(products: Iterable[SimProduct], path: Path) -> None:
    """Write the product catalog CSV (UTF-8, header row)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(PRODUCT_CSV_COLUMNS)
        for product in products:
            writer.writerow(
                (
                    product.gtin,
                    product.style,
                    product.name,
                    product.colour,
                    product.size,
                    f"{product.price:.2f}",
                )
            )
