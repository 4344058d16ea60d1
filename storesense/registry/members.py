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

from storesense.errors import ConfigError
from storesense.protocol.eid import parse_app_key

COLUMNS = ("member_id", "name", "tier", "phone", "consent", "card_epcs", "app_key")
_MEMBER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_EPC = re.compile(r"[0-9a-f]{24,64}")
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


class MemberImportError(ConfigError):
    """The CSV has problems; `problems` lists each as 'line N, column `c`: …'."""

    def __init__(self, source: str, problems: list[str]) -> None:
        shown = problems[:20]
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{source}: {len(problems)} problem(s):\n  " + "\n  ".join(shown) + more)
        self.problems = problems


def parse_members_csv(text: str, source: str = "members CSV") -> list[Member]:
    """Parse the registry CSV; raise MemberImportError listing every bad cell."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise MemberImportError(
            source, [f"line 1: missing column(s) {', '.join(missing)}; need {','.join(COLUMNS)}"]
        )
    reader.fieldnames = header
    members: list[Member] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        member = _parse_row(row, line, problems)
        if member is None:
            continue
        if member.member_id in seen:
            problems.append(
                f"line {line}, column `member_id`: {member.member_id!r} repeats line "
                f"{seen[member.member_id]}"
            )
            continue
        seen[member.member_id] = line
        members.append(member)
    if problems:
        raise MemberImportError(source, problems)
    return members


def _parse_row(row: dict[str, str | None], line: int, problems: list[str]) -> Member | None:
    def cell(column: str) -> str:
        return (row.get(column) or "").strip()

    before = len(problems)

    def bad(column: str, why: str) -> None:
        problems.append(f"line {line}, column `{column}`: {why}")

    member_id = cell("member_id")
    if not _MEMBER_ID.fullmatch(member_id):
        bad("member_id", f"must be 1-64 letters, digits or _.:- , got {member_id!r}")
    name = cell("name")
    if not name:
        bad("name", "is empty")
    consent_text = cell("consent").lower()
    if consent_text not in _TRUE | _FALSE:
        bad("consent", f"must be true or false, got {cell('consent')!r}")
    epcs = tuple(epc.strip().lower() for epc in cell("card_epcs").split(";") if epc.strip())
    for epc in epcs:
        if not _EPC.fullmatch(epc):
            bad("card_epcs", f"{epc!r} is not an EPC (24-64 hex digits)")
    app_key = cell("app_key").lower() or None
    if app_key is not None:
        try:
            parse_app_key(app_key)
        except ValueError as exc:
            bad("app_key", str(exc))
    if len(problems) > before:
        return None
    return Member(
        member_id=member_id,
        name=name,
        tier=cell("tier") or None,
        phone=cell("phone") or None,
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
