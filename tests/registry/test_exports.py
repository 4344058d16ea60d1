"""Exports read back by the imports give the same records (CSV is the backup format)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from storesense.registry.export import products_to_csv, staff_to_csv
from storesense.registry.members import Member, members_to_csv, parse_members_csv
from storesense.registry.products import Product, parse_products_csv
from storesense.registry.staff import StaffMember, parse_staff_csv

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}", fullmatch=True)
text = (
    st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)
optional = st.none() | text
epcs = st.lists(st.from_regex(r"[0-9a-f]{24}", fullmatch=True), max_size=3, unique=True)


@given(st.lists(st.builds(
    Member, member_id=ids, name=text, tier=optional, phone=optional, consent=st.booleans(),
    card_epcs=epcs.map(tuple),
    app_key=st.none() | st.binary(min_size=16, max_size=16).map(bytes.hex),
), max_size=5, unique_by=lambda m: m.member_id))  # fmt: skip
def test_members_round_trip(records: list[Member]) -> None:
    if records:
        assert parse_members_csv(members_to_csv(records)) == records


@given(st.lists(st.builds(
    StaffMember, staff_id=ids, name=text, role=optional, badge_epcs=epcs.map(tuple),
), min_size=1, max_size=5, unique_by=lambda s: s.staff_id))  # fmt: skip
def test_staff_round_trip(records: list[StaffMember]) -> None:
    assert parse_staff_csv(staff_to_csv(records)) == records


@given(st.lists(st.builds(
    Product, gtin=st.sampled_from(["80614141123458", "00012345600012", "04006381333931"]),
    style=text, name=text, colour=optional, size=optional,
    price=st.none() | st.decimals(0, 100_000, places=2).map(float),
), min_size=1, max_size=3, unique_by=lambda p: p.gtin))  # fmt: skip
def test_products_round_trip(records: list[Product]) -> None:
    assert parse_products_csv(products_to_csv(records)) == records
