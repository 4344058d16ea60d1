"""The people of a simulated store: loyalty members (with cards, phones, app keys) and staff.

Everything is drawn from a seeded `random.Random`, so one seed gives one population. App keys
come from that generator too: fine for a simulator, never for real enrolment.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Tier = Literal["classic", "silver", "gold", "platinum"]
TIERS: tuple[Tier, ...] = ("classic", "silver", "gold", "platinum")
_TIER_WEIGHTS = (60, 25, 11, 4)

MEMBER_CSV_COLUMNS = ("member_id", "name", "tier", "phone", "consent", "card_epcs", "app_key")

# Loyalty cards and staff badges are plain (non-SGTIN) EPCs; these prefixes keep them apart
# from garment tags (header 0x30) and from each other.
_CARD_PREFIX = "e2801190"
_BADGE_PREFIX = "e2806894"

_CHINESE_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹"
_CHINESE_GIVEN = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟",
    "涛", "明", "超", "霞", "平", "秀英", "子涵", "欣怡", "浩然", "梓萱", "宇轩", "思远",
    "雨桐", "嘉怡", "俊杰", "晓东", "一鸣", "佳琪", "文博", "诗涵", "志强", "美玲",
)  # fmt: skip
_ENGLISH_FIRST = (
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "James", "Isabella",
    "Lucas", "Mia", "Henry", "Charlotte", "Jack", "Grace", "Daniel", "Chloe", "Samuel",
    "Emily", "Thomas", "Hannah", "David", "Lily", "Michael", "Sarah", "Kevin", "Vivian",
)  # fmt: skip
_ENGLISH_LAST = (
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Walker", "Wright",
    "Thompson", "White", "Hughes", "Green", "Hall", "Wood", "Clarke", "Lewis", "Harris",
    "Chen", "Wong", "Lee", "Lin", "Ng",  # English given names with Chinese surnames
)  # fmt: skip
_MOBILE_PREFIXES = ("130", "135", "136", "138", "139", "150", "151", "158", "186", "188", "199")


@dataclass(frozen=True, slots=True)
class SimMember:
    """One loyalty member as the registry knows them, plus the app key their phone holds."""

    member_id: str
    name: str
    tier: Tier
    phone: str
    consent: bool
    card_epc: str
    app_key: bytes | None  # None: the member has not installed the app

    @property
    def has_app(self) -> bool:
        return self.app_key is not None

    @property
    def recognisable(self) -> bool:
        """True when the service may recognise this member's phone in store."""
        return self.consent and self.app_key is not None


@dataclass(frozen=True, slots=True)
class SimStaff:
    staff_id: str
    name: str
    badge_epc: str


def generate_members(
    seed: int, count: int, *, app_share: float = 0.6, consent_share: float = 0.7
) -> list[SimMember]:
    """`count` members drawn from `seed`; app and consent are independent draws."""
    _check_share("app_share", app_share)
    _check_share("consent_share", consent_share)
    if count < 0:
        raise ValueError(f"member count must be >= 0, got {count}")
    rng = random.Random(f"storesense-sim:{seed}:members")
    phones: set[str] = set()
    epcs: set[str] = set()
    members = []
    for index in range(count):
        members.append(
            SimMember(
                member_id=f"m{index + 1:05d}",
                name=_person_name(rng),
                tier=rng.choices(TIERS, weights=_TIER_WEIGHTS)[0],
                phone=_unique(phones, lambda: _mobile_number(rng)),
                consent=rng.random() < consent_share,
                card_epc=_unique(epcs, lambda: _epc(rng, _CARD_PREFIX)),
                app_key=rng.randbytes(16) if rng.random() < app_share else None,
            )
        )
    return members


def generate_staff(seed: int, count: int = 2) -> list[SimStaff]:
    """Shop assistants with RFID badges."""
    rng = random.Random(f"storesense-sim:{seed}:staff")
    epcs: set[str] = set()
    return [
        SimStaff(
            staff_id=f"s{index + 1:03d}",
            name=_person_name(rng),
            badge_epc=_unique(epcs, lambda: _epc(rng, _BADGE_PREFIX)),
        )
        for index in range(count)
    ]


def write_members_csv(members: Iterable[SimMember], path: Path) -> None:
    """Write the member registry CSV the service imports (UTF-8, header row)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MEMBER_CSV_COLUMNS)
        for member in members:
            writer.writerow(
                (
                    member.member_id,
                    member.name,
                    member.tier,
                    member.phone,
                    "true" if member.consent else "false",
                    member.card_epc,  # one card each; the column takes several, `;`-separated
                    member.app_key.hex() if member.app_key is not None else "",
                )
            )


def _person_name(rng: random.Random) -> str:
    if rng.random() < 0.55:
        return rng.choice(_CHINESE_SURNAMES) + rng.choice(_CHINESE_GIVEN)
    return f"{rng.choice(_ENGLISH_FIRST)} {rng.choice(_ENGLISH_LAST)}"


def _mobile_number(rng: random.Random) -> str:
    return f"+86{rng.choice(_MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"


def _epc(rng: random.Random, prefix: str) -> str:
    digits = 24 - len(prefix)
    return f"{prefix}{rng.getrandbits(4 * digits):0{digits}x}"


def _unique(seen: set[str], draw: Callable[[], str]) -> str:
    value = draw()
    while value in seen:
        value = draw()
    seen.add(value)
    return value


def _check_share(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")
