"""The member a POS sale names, as ingest's tracking and the rules engine both see it."""

from __future__ import annotations

import pytest

from ingest.identity import Directory
from ingest.member_refs import sale_member
from storesense.protocol.events import MemberRef, PosSale, SaleItem
from storesense.registry.members import Member

CARD = "e2801160600002054cc2f0a1"
ANN = Member(member_id="m-ann", name="Ann", phone="+8613800000001", consent=True,
             card_epcs=(CARD,))  # fmt: skip
BOB = Member(member_id="m-bob", name="Bob", phone="+8613800000002", consent=False)


def _sale(member: MemberRef | None) -> PosSale:
    items = [SaleItem(qty=1, price=99.0, gtin="08061414112345")]
    return PosSale(id="e1", ts=1_800_000_000_000, sale_id="s1", items=items, member=member)


@pytest.mark.parametrize(
    "ref",
    [MemberRef(card=CARD.upper()), MemberRef(phone=ANN.phone), MemberRef(id="m-ann")],
    ids=["card", "phone", "id"],
)
def test_a_sale_resolves_its_consenting_member_by_card_phone_or_id(ref: MemberRef) -> None:
    assert sale_member(_sale(ref), Directory([ANN, BOB])) == ANN


@pytest.mark.parametrize(
    "ref", [None, MemberRef(id="m-bob"), MemberRef(phone=BOB.phone), MemberRef(id="m-nobody")]
)
def test_no_member_for_anonymous_non_consenting_or_unknown(ref: MemberRef | None) -> None:
    assert sale_member(_sale(ref), Directory([ANN, BOB])) is None
