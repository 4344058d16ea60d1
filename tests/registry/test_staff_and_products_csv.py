import pytest

from storesense.registry.csvfile import ImportProblems
from storesense.registry.products import Product, parse_products_csv
from storesense.registry.staff import StaffMember, parse_staff_csv

STAFF = "staff_id,name,role,badge_epcs,beacons\n"
PRODUCTS = "gtin,style,name,colour,size,price\n"
IBEACON = "ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:1:2"


def test_staff_rows_parse_with_badges_and_beacons() -> None:
    [person] = parse_staff_csv(
        STAFF + f"s1,Wang Wei,assistant,E2A0000000000000000000AA,{IBEACON}\n"
    )
    assert person == StaffMember(
        staff_id="s1", name="Wang Wei", role="assistant",
        badge_epcs=("e2a0000000000000000000aa",), beacons=(IBEACON,),
    )  # fmt: skip


def test_staff_problems_name_line_and_column() -> None:
    with pytest.raises(ImportProblems) as caught:
        parse_staff_csv(STAFF + "s1,,assistant,XYZ,beacon-7\n")
    assert caught.value.problems == [
        "line 2, column `name`: is empty",
        "line 2, column `badge_epcs`: 'xyz' is not an EPC (24-64 hex digits)",
        "line 2, column `beacons`: 'beacon-7' is not an ibeacon:… or eddystone-uid:… identifier",
    ]


def test_products_parse_and_short_gtins_are_padded() -> None:
    rows = PRODUCTS + "80614141123458,COAT-1,Wool coat,navy,M,1299\n614141123452,TEE,Tee,,,\n"
    coat, tee = parse_products_csv(rows)
    assert coat == Product(gtin="80614141123458", style="COAT-1", name="Wool coat",
                           colour="navy", size="M", price=1299.0)  # fmt: skip
    assert tee.gtin == "00614141123452" and tee.price is None


@pytest.mark.parametrize(
    ("row", "complaint"),
    [
        ("80614141123459,S,N,,,1", "column `gtin`: must be a GTIN"),
        ("80614141123458,,N,,,1", "column `style`: is empty"),
        ("80614141123458,S,N,,,cheap", "column `price`: must be a number"),
        ("80614141123458,S,N,,,-5", "column `price`: must be a number"),
    ],
)
def test_bad_product_rows_are_named(row: str, complaint: str) -> None:
    with pytest.raises(ImportProblems) as caught:
        parse_products_csv(PRODUCTS + row + "\n")
    assert complaint in caught.value.problems[0]


def test_bare_carriage_returns_end_rows_and_an_unreadable_cell_is_a_problem() -> None:
    # Found by the API fuzz: the csv module's errors were a 500 from the import routes.
    coat, tee = parse_products_csv(
        PRODUCTS + "80614141123458,COAT,Coat,,,\r614141123452,TEE,Tee,,,"
    )
    assert (coat.style, tee.style) == ("COAT", "TEE")
    with pytest.raises(ImportProblems) as caught:
        parse_products_csv(PRODUCTS + "80614141123458,COAT,Coat,,,\n614141123452," + "x" * 200_000)
    assert caught.value.problems[0].startswith("line 3: field larger than field limit")
