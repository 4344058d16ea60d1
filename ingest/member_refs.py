"""The member a POS sale names (loyalty card, phone or member id), shared by ingest's
tracking and the rules engine so both resolve a sale to the same member."""

from __future__ import annotations

from ingest.identity import Directory
from storesense.protocol.events import PosSale
from storesense.registry.members import Member


def sale_member(event: PosSale, directory: Directory) -> Member | None:
    """The consenting member named at the till (card first, then phone, then id), or None."""
    ref = event.member
    if ref is None:
        return None
    if ref.card is not None:
        return directory.members.by_card(ref.card)
    if ref.phone is not None:
        return directory.members.by_phone(ref.phone)
    if ref.id is not None:
        return directory.members.by_id(ref.id)
    return None
