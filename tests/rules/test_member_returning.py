import pytest

from rules.member_arrived import (
    MemberArrivedParams,
    MemberReturningParams,
    MemberSighting,
    member_arrived,
    member_returning,
)
from rules.texts import render
from rules.views import MemberProfile
from storesense.registry.members import Member

NOW = 1_795_658_400_000
DAY = 86_400_000


def sighting(
    previous: int | None, new_visit: bool = True, consent: bool = True,
    profile: MemberProfile | None = None,
) -> MemberSighting:  # fmt: skip
    member = Member(member_id="m1", name="Li Na", tier="gold", consent=consent)
    return MemberSighting(
        store="s1", member=member, ts_ms=NOW, new_visit=new_visit, visit_start_ms=NOW,
        previous_visit_ms=previous, source="app", zone="entrance", profile=profile,
    )  # fmt: skip


def test_member_back_after_the_absence_raises_returning_with_the_days() -> None:
    draft = member_returning(sighting(NOW - 75 * DAY), MemberReturningParams(), NOW)
    assert draft is not None
    assert (draft.type, draft.rule, draft.subject) == (
        "member.returning",
        "member.returning",
        f"m1@{NOW}",
    )
    assert draft.facts["absent_days"] == 75
    title, _ = render(draft, "en", NOW)
    assert title == "Li Na is back after 75 days"
    assert render(draft, "zh-CN", NOW)[0] == "金卡会员 Li Na 时隔 75 天再次到店"


@pytest.mark.parametrize(
    "case",
    [
        sighting(NOW - 30 * DAY),  # back within the absence
        sighting(NOW - 60 * DAY),  # exactly the limit is not "more than"
        sighting(None),  # first visit ever: that is the arrival's news
        sighting(NOW - 90 * DAY, new_visit=False),  # later sighting of the same visit
        sighting(NOW - 90 * DAY, consent=False),
    ],
    ids=["recent", "at-limit", "first-visit", "same-visit", "no-consent"],
)
def test_no_returning_alert(case: MemberSighting) -> None:
    assert member_returning(case, MemberReturningParams(absent_days=60), NOW) is None


def test_arrival_carries_the_profile_and_its_text() -> None:
    profile = MemberProfile(
        visits_90d=3, favourite_styles=("Oxford shirt",), favourite_sizes=("M",),
        tried_not_bought=("Wrap dress navy S",),
    )  # fmt: skip
    draft = member_arrived(sighting(NOW - 2 * DAY, profile=profile), MemberArrivedParams(), NOW)
    assert draft is not None and draft.subject == f"m1@{NOW}"
    assert draft.facts["favourite_styles"] == ["Oxford shirt"]
    _, body = render(draft, "en", NOW)
    assert body == (
        "Last visit: 2 days ago. Seen at entrance. 3 visits in 90 days. Likes: Oxford shirt. "
        "Size: M. Tried last time, not bought: Wrap dress navy S."
    )
    _, zh = render(draft, "zh-CN", NOW)
    assert "上次试穿未购买：Wrap dress navy S。" in zh and "近 90 天到店 3 次。" in zh
