"""Loyalty members and the registry CSV format.

CSV columns: `member_id,name,tier,phone,consent,card_epcs,app_key`; `card_epcs` separated by
`;`, `app_key` hex (16 or 32 bytes), `consent` true/false. Parsing is all-or-nothing: one
bad row fails the import with every problem listed by line and column.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

import msgspec

from storesense.protocol.eid import parse_app_key
from storesense.registry.csvfile import ImportProblems, Row, parse_csv, split_list

COLUMNS = ("member_id", "name", "tier", "phone", "consent", "card_epcs", "app_key")
_MEMBER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
EPC_PATTERN = re.compile(r"[0-9a-f]{24,64}")
_EPC = EPC_PATTERN
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n", ""}


class Member(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    member_id: str
    name: str
    tier: str | None = None
    phone: str | None = None
    consent: bool = False
    card_epcs: tuple[str, ...] = ()
    app_key: str | None = None  # hex; the secret behind the app's rotating ID


MemberImportError = ImportProblems


def parse_members_csv(text: str, source: str = "members CSV") -> list[Member]:
    """Parse the registry CSV; raise MemberImportError listing every bad cell."""
    return parse_csv(
        text, source, COLUMNS, _parse_row, key=lambda m: m.member_id, key_column="member_id"
    )


def _parse_row(row: Row) -> Member | None:
    member_id = row.cell("member_id")
    if not _MEMBER_ID.fullmatch(member_id):
        row.bad("member_id", f"must be 1-64 letters, digits or _.:- , got {member_id!r}")
    name = row.cell("name")
    if not name:
        row.bad("name", "is empty")
    consent_text = row.cell("consent").lower()
    if consent_text not in _TRUE | _FALSE:
        row.bad("consent", f"must be true or false, got {row.cell('consent')!r}")
    epcs = tuple(epc.lower() for epc in split_list(row.cell("card_epcs")))
    for epc in epcs:
        if not _EPC.fullmatch(epc):
            row.bad("card_epcs", f"{epc!r} is not an EPC (24-64 hex digits)")
    app_key = row.cell("app_key").lower() or None
    if app_key is not None:
        try:
            parse_app_key(app_key)
        except ValueError as exc:
            row.bad("app_key", str(exc))
    if not row.ok:
        return None
    return Member(
        member_id=member_id,
        name=name,
        tier=row.cell("tier") or None,
        phone=row.cell("phone") or None,
        consent=consent_text in _TRUE,
        card_epcs=epcs,
        app_key=app_key,
    )


def members_to_csv(members: Iterable[Member]) -> str:
    """The inverse of parse_members_csv (export)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for member in members:
        writer.writerow(
            [
                member.member_id,
                member.name,
                member.tier or "",
                member.phone or "",
                "true" if member.consent else "false",
                ";".join(member.card_epcs),
                member.app_key or "",
            ]
        )
    return out.getvalue()
