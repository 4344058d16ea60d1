from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from simulators.catalog import COMPANY_PREFIX, Stock, generate_catalog, write_products_csv
from simulators.population import (
    MEMBER_CSV_COLUMNS,
    TIERS,
    generate_members,
    generate_staff,
    write_members_csv,
)
from simulators.sgtin import is_valid_gtin14
from storesense.protocol.eid import parse_app_key
from tests.simulators.gs1 import decode_sgtin96

_HAN = re.compile(r"[\u4e00-\u9fff]")


def test_same_seed_gives_the_same_members_and_another_seed_does_not() -> None:
    assert generate_members(5, 50) == generate_members(5, 50)
    assert generate_members(5, 50) != generate_members(6, 50)


def test_members_are_plausible_and_unique() -> None:
    members = generate_members(3, 1000, app_share=0.6, consent_share=0.7)
    assert len({m.member_id for m in members}) == 1000
    assert len({m.phone for m in members}) == 1000
    assert len({m.card_epc for m in members}) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{24}", m.card_epc) for m in members)
    assert not any(m.card_epc.startswith("30") for m in members)  # never an SGTIN
    assert all(re.fullmatch(r"\+861[3-9][0-9]{9}", m.phone) for m in members)
    assert {m.tier for m in members} == set(TIERS)
    chinese = sum(1 for m in members if _HAN.search(m.name))
    assert 300 < chinese < 800  # a mix of Chinese and English names
    keys = [m.app_key for m in members if m.app_key is not None]
    assert all(len(key) == 16 for key in keys) and len(set(keys)) == len(keys)
    assert 0.5 < len(keys) / 1000 < 0.7
    assert 0.6 < sum(m.consent for m in members) / 1000 < 0.8


@pytest.mark.parametrize(("app_share", "consent_share"), [(0.0, 1.0), (1.0, 0.0)])
def test_shares_at_the_extremes_are_exact(app_share: float, consent_share: float) -> None:
    members = generate_members(1, 200, app_share=app_share, consent_share=consent_share)
    assert all(m.has_app == bool(app_share) for m in members)
    assert all(m.consent == bool(consent_share) for m in members)
    assert not any(m.recognisable for m in members)


def test_members_csv_has_the_registry_columns_and_round_trips(tmp_path: Path) -> None:
    members = generate_members(9, 300)
    path = tmp_path / "members.csv"
    write_members_csv(members, path)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == MEMBER_CSV_COLUMNS
        assert MEMBER_CSV_COLUMNS == (
            "member_id", "name", "tier", "phone", "consent", "card_epcs", "app_key",
        )  # fmt: skip
        rows = list(reader)
    assert len(rows) == len(members)
    for row, member in zip(rows, members, strict=True):
        assert row["member_id"] == member.member_id
        assert row["name"] == member.name
        assert row["tier"] == member.tier
        assert row["phone"] == member.phone
        assert row["consent"] == ("true" if member.consent else "false")
        assert row["card_epcs"].split(";") == [member.card_epc]
        if member.app_key is None:
            assert row["app_key"] == ""
        else:
            assert parse_app_key(row["app_key"]) == member.app_key


def test_staff_badges_are_distinct_from_cards() -> None:
    staff = generate_staff(4, 3)
    cards = {m.card_epc for m in generate_members(4, 500)}
    assert len({s.badge_epc for s in staff}) == 3
    assert not cards & {s.badge_epc for s in staff}


def test_catalog_gtins_are_valid_unique_and_under_the_example_prefix() -> None:
    catalog = generate_catalog(2)
    assert len(catalog) == 12 * 3 * 5
    assert len({p.gtin for p in catalog}) == len(catalog)
    assert all(is_valid_gtin14(p.gtin) for p in catalog)
    assert all(p.gtin[1:8] == COMPANY_PREFIX for p in catalog)
    assert all(p.price > 0 for p in catalog)
    assert generate_catalog(2) == catalog


def test_stock_gives_a_new_tag_per_item_that_decodes_to_its_gtin() -> None:
    catalog = generate_catalog(2)
    stock = Stock(2)
    epcs = [stock.take(product) for product in catalog[:20] for _ in range(5)]
    assert len(set(epcs)) == len(epcs)
    for index, epc in enumerate(epcs):
        decoded = decode_sgtin96(epc)
        assert decoded.gtin == catalog[index // 5].gtin
        assert decoded.filter_value == 1 and decoded.company_prefix == COMPANY_PREFIX


def test_products_csv_lists_the_catalog(tmp_path: Path) -> None:
    catalog = generate_catalog(2, styles=2, colours_per_style=1)
    path = tmp_path / "products.csv"
    write_products_csv(catalog, path)
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    assert [row["gtin"] for row in rows] == [p.gtin for p in catalog]
    assert [float(row["price"]) for row in rows] == [p.price for p in catalog]
