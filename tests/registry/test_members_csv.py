import pytest

from storesense.registry.members import (
    Member,
    MemberImportError,
    members_to_csv,
    parse_members_csv,
)

HEADER = "member_id,name,tier,phone,consent,card_epcs,app_key\n"
KEY = "00112233445566778899aabbccddeeff"


def test_rows_parse_into_members() -> None:
    text = HEADER + (
        f"m1,Li Na,gold,+8613800138000,true,E2000017221101441890ABCD;E2000017221101441890ABCE,{KEY}\n"
        "m2,Bob Smith,,,false,,\n"
    )
    first, second = parse_members_csv(text)
    assert first == Member(
        member_id="m1", name="Li Na", tier="gold", phone="+8613800138000", consent=True,
        card_epcs=("e2000017221101441890abcd", "e2000017221101441890abce"), app_key=KEY,
    )  # fmt: skip
    assert second == Member(member_id="m2", name="Bob Smith", consent=False)


def test_export_round_trips() -> None:
    members = parse_members_csv(HEADER + f'm1,"Wang, Fang",silver,,yes,,{KEY}\n')
    assert parse_members_csv(members_to_csv(members)) == members


def test_every_problem_is_reported_by_line_and_column_and_nothing_is_imported() -> None:
    text = HEADER + (f"m1,Li Na,gold,,maybe,,\nm2,,gold,,true,XYZ,\nm1,Again,,,true,,{KEY[:10]}\n")
    with pytest.raises(MemberImportError) as caught:
        parse_members_csv(text, source="members.csv")
    problems = caught.value.problems
    assert "line 2, column `consent`: must be true or false, got 'maybe'" in problems
    assert "line 3, column `name`: is empty" in problems
    assert any(p.startswith("line 3, column `card_epcs`") for p in problems)
    assert any(p.startswith("line 4, column `app_key`") for p in problems)
    assert str(caught.value).startswith("members.csv: 4 problem(s)")


def test_duplicate_member_id_is_refused() -> None:
    with pytest.raises(MemberImportError, match="repeats line 2"):
        parse_members_csv(HEADER + "m1,A,,,true,,\nm1,B,,,true,,\n")


def test_missing_columns_are_named() -> None:
    with pytest.raises(MemberImportError, match=r"missing column.*app_key"):
        parse_members_csv("member_id,name,tier,phone,consent,card_epcs\nm1,A,,,true,\n")
