import pytest

from rules.member_arrived import MemberArrivedParams, MemberSighting, member_arrived
from rules.texts import render
from storesense.registry.members import Member

NOW = 1_795_658_400_000
DAY = 86_400_000


def sighting(
    new_visit: bool = True, consent: bool = True, tier: str | None = "gold", age_ms: int = 0,
    previous: int | None = None,
) -> MemberSighting:  # fmt: skip
    member = Member(member_id="m1", name="Li Na", tier=tier, consent=consent)
    return MemberSighting(
        store="s1", member=member, ts_ms=NOW - age_ms, new_visit=new_visit, visit_start_ms=NOW,
        previous_visit_ms=previous, source="app", zone="entrance",
    )  # fmt: skip


def test_first_sighting_of_a_visit_raises_one_alert_with_the_member() -> None:
    draft = member_arrived(sighting(previous=NOW - 3 * DAY), MemberArrivedParams(), NOW)
    assert draft is not None
    assert draft.type == "member.arrived" and draft.store == "s1" and draft.zone == "entrance"
    assert draft.member is not None and (draft.member.id, draft.member.tier) == ("m1", "gold")
    assert draft.facts["last_visit_ts"] == NOW - 3 * DAY


@pytest.mark.parametrize(
    ("case", "params"),
    [
        (sighting(new_visit=False), MemberArrivedParams()),
        (sighting(consent=False), MemberArrivedParams()),
        (sighting(tier="classic"), MemberArrivedParams(tiers=frozenset({"gold", "platinum"}))),
        (sighting(tier=None), MemberArrivedParams(tiers=frozenset({"gold"}))),
        (sighting(age_ms=301_000), MemberArrivedParams(max_age_s=300)),
    ],
    ids=["same-visit", "no-consent", "tier-filtered", "no-tier-filtered", "stale-replay"],
)
def test_no_alert_when_it_should_not_fire(
    case: MemberSighting, params: MemberArrivedParams
) -> None:
    assert member_arrived(case, params, NOW) is None


def test_tier_filter_admits_listed_tiers() -> None:
    params = MemberArrivedParams(tiers=frozenset({"gold"}))
    assert member_arrived(sighting(tier="gold"), params, NOW) is not None


@pytest.mark.parametrize(
    ("locale", "previous", "title", "body"),
    [
        ("en", None, "Li Na (gold) just arrived", "Last visit: first visit. Seen at entrance."),
        ("en", NOW - 12 * DAY, "Li Na (gold) just arrived", "Last visit: 12 days ago."),
        ("en", NOW - DAY, "Li Na (gold) just arrived", "Last visit: yesterday."),
        ("zh-CN", None, "金卡会员 Li Na 到店", "上次到店：首次到店。位置：入口。"),
        ("zh-CN", NOW - 3 * DAY, "金卡会员 Li Na 到店", "上次到店：3 天前。"),
    ],
)
def test_texts_follow_the_store_locale(
    locale: str, previous: int | None, title: str, body: str
) -> None:
    draft = member_arrived(sighting(previous=previous), MemberArrivedParams(), NOW)
    assert draft is not None
    rendered_title, rendered_body = render(draft, locale, NOW)  # type: ignore[arg-type]
    assert rendered_title == title
    assert rendered_body.startswith(body)
