"""Request and response models of the member, staff and product registry routes. Bodies
follow the same rules as the CSV imports; each converts to the stored record."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rules.lifecycle.policy import in_window, parse_window
from storesense.protocol.eid import parse_app_key
from storesense.protocol.events import BEACON_PATTERN
from storesense.protocol.sgtin import is_valid_gtin14
from storesense.registry.members import EPC_PATTERN, Member
from storesense.registry.organisation import Identifier
from storesense.registry.products import Product
from storesense.registry.staff import Shift, StaffMember
from storesense.settings import WEEKDAYS, Weekday

RecordId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
Epc = Annotated[str, Field(pattern=f"^{EPC_PATTERN.pattern}$", examples=["e2" * 12])]
_WINDOW = r"^(([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]|00:00-24:00)$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberBody(_Body):
    name: str = Field(min_length=1, max_length=200)
    tier: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=64)
    consent: bool = False
    card_epcs: list[Epc] = Field(default_factory=list)
    app_key: str | None = Field(default=None, description="hex, 16 or 32 bytes; write-only")

    @field_validator("app_key")
    @classmethod
    def _check_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parse_app_key(value)
        return value.strip().lower()

    def record(self, member_id: str) -> Member:
        return Member(
            member_id=member_id, name=self.name, tier=self.tier, phone=self.phone,
            consent=self.consent, card_epcs=tuple(self.card_epcs), app_key=self.app_key,
        )  # fmt: skip


class NewMember(MemberBody):
    member_id: RecordId


class MemberOut(BaseModel):
    """A member as shown: the app key is a secret, only whether one is set."""

    member_id: str
    name: str
    tier: str | None = None
    phone: str | None = None
    consent: bool
    card_epcs: list[str]
    has_app_key: bool

    @classmethod
    def of(cls, member: Member) -> MemberOut:
        return cls(
            member_id=member.member_id, name=member.name, tier=member.tier, phone=member.phone,
            consent=member.consent, card_epcs=list(member.card_epcs),
            has_app_key=member.app_key is not None,
        )  # fmt: skip


class StaffBody(_Body):
    name: str = Field(min_length=1, max_length=200)
    role: str | None = Field(default=None, max_length=64, examples=["assistant", "manager"])
    badge_epcs: list[Epc] = Field(default_factory=list)
    beacons: list[str] = Field(default_factory=list, description="ibeacon:… or eddystone-uid:…")
    stores: list[Identifier] = Field(default_factory=list)
    shifts: list[ShiftBody] = Field(default_factory=list)

    @field_validator("beacons")
    @classmethod
    def _check_beacons(cls, value: list[str]) -> list[str]:
        for beacon in value:
            if not BEACON_PATTERN.fullmatch(beacon):
                raise ValueError(f"{beacon!r} is not an ibeacon:… or eddystone-uid:… identifier")
        return value

    def record(self, staff_id: str) -> StaffMember:
        return StaffMember(
            staff_id=staff_id, name=self.name, role=self.role, badge_epcs=tuple(self.badge_epcs),
            beacons=tuple(self.beacons), stores=tuple(self.stores),
            shifts=tuple(s.record(s.store) for s in self.shifts),
        )  # fmt: skip


class NewStaff(StaffBody):
    staff_id: RecordId


class StoreShiftBody(_Body):
    """A shift in the store of the path: weekdays and a store-local window."""

    days: list[Weekday] = Field(
        default_factory=lambda: list(WEEKDAYS), min_length=1, max_length=7,
        description="mon…sun, at least one",
    )  # fmt: skip
    hours: str = Field(
        default="00:00-24:00", max_length=11, json_schema_extra={"pattern": _WINDOW},
        description="HH:MM-HH:MM, store-local; past midnight when the end is earlier",
    )  # fmt: skip
    zones: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=50, description="zone ids or globs; empty = all"
    )

    @field_validator("days")
    @classmethod
    def _in_week_order(cls, value: list[Weekday]) -> list[Weekday]:
        return [day for day in WEEKDAYS if day in value]

    @field_validator("hours")
    @classmethod
    def _window(cls, value: str) -> str:
        if not re.fullmatch(_WINDOW, value):
            raise ValueError(f"must be HH:MM-HH:MM (00:00-24:00: all day), got {value!r}")
        start, end = value.split("-")
        if start == end:
            raise ValueError(f"starts and ends at {start}: the shift would be empty")
        return value

    def record(self, store: str) -> Shift:
        return Shift(store=store, days=tuple(self.days), hours=self.hours, zones=tuple(self.zones))


class ShiftBody(StoreShiftBody):
    """A shift in a named store (the HQ staff routes): the same rules as a store's own."""

    store: Identifier


class StoreShifts(_Body):
    """Every shift of one person in one store (their shifts elsewhere are kept)."""

    shifts: list[StoreShiftBody] = Field(max_length=50)


class StoreStaffMember(BaseModel):
    staff_id: str
    name: str
    role: str | None = None
    badge_epcs: list[str] | None = Field(description="managers and integrations only; else null")
    beacons: list[str] | None = Field(description="managers and integrations only; else null")
    shifts: list[StoreShiftBody] = Field(description="their shifts in this store")
    on_shift_now: bool

    @classmethod
    def of(
        cls, person: StaffMember, store: str, *, now: datetime, badges: bool
    ) -> StoreStaffMember:
        shifts = [s for s in person.shifts if s.store == store]
        return cls(
            staff_id=person.staff_id, name=person.name, role=person.role,
            badge_epcs=list(person.badge_epcs) if badges else None,
            beacons=list(person.beacons) if badges else None,
            shifts=[
                StoreShiftBody.model_construct(
                    days=[day for day in WEEKDAYS if day in s.days],  # as validation would
                    hours=s.hours,
                    zones=list(s.zones),
                )
                for s in shifts
            ],
            on_shift_now=any(on_shift(s, now) for s in shifts),
        )  # fmt: skip


class StoreStaff(BaseModel):
    """A store's staff (those who work there or have a shift there) and their shifts."""

    store: str
    timezone: str
    local_time: str = Field(description="now in the store, ISO 8601 with its offset")
    weekday: Weekday = Field(description="today in the store")
    staff: list[StoreStaffMember]


def on_shift(shift: Shift, now: datetime) -> bool:
    """On this shift at `now` (store-local): today is one of its days and the time inside
    its window, as alert routing reads shifts (rules/lifecycle/policy.py)."""
    minute = now.hour * 60 + now.minute
    return WEEKDAYS[now.weekday()] in shift.days and in_window(minute, parse_window(shift.hours))


class ProductBody(_Body):
    style: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    colour: str | None = Field(default=None, max_length=100)
    size: str | None = Field(default=None, max_length=32)
    price: float | None = Field(default=None, ge=0, allow_inf_nan=False)

    def record(self, gtin: str) -> Product:
        return Product(
            gtin=gtin, style=self.style, name=self.name, colour=self.colour, size=self.size,
            price=self.price,
        )  # fmt: skip


class NewProduct(ProductBody):
    gtin: str = Field(description="GTIN-8/12/13/14 with a valid check digit; kept as GTIN-14")

    @field_validator("gtin")
    @classmethod
    def _check_gtin(cls, value: str) -> str:
        return normalise_gtin(value)


def normalise_gtin(value: str) -> str:
    """GTIN-8/12/13 as GTIN-14; raise ValueError unless the check digit is right."""
    gtin = value.zfill(14) if value.isdigit() and len(value) < 14 else value
    if not is_valid_gtin14(gtin):
        raise ValueError(f"must be a GTIN (8-14 digits with a valid check digit), got {value!r}")
    return gtin


class StaffOut(BaseModel):
    staff_id: str
    name: str
    role: str | None = None
    badge_epcs: list[str]
    beacons: list[str]
    stores: list[str]
    shifts: list[ShiftBody]

    @classmethod
    def of(cls, person: StaffMember) -> StaffOut:
        return cls(
            staff_id=person.staff_id, name=person.name, role=person.role,
            badge_epcs=list(person.badge_epcs), beacons=list(person.beacons),
            stores=list(person.stores),
            shifts=[
                ShiftBody(store=s.store, days=list(s.days), hours=s.hours,  # type: ignore[arg-type]
                          zones=list(s.zones))
                for s in person.shifts
            ],
        )  # fmt: skip


class ProductOut(ProductBody):
    gtin: str

    @classmethod
    def of(cls, product: Product) -> ProductOut:
        return cls(
            gtin=product.gtin, style=product.style, name=product.name, colour=product.colour,
            size=product.size, price=product.price,
        )  # fmt: skip


class Page(BaseModel):
    total: int
    next_after: str | None = Field(default=None, description="pass as `after` for the next page")


class MemberPage(Page):
    members: list[MemberOut]


class StaffPage(Page):
    staff: list[StaffOut]


class ProductPage(Page):
    products: list[ProductOut]


ExportFormat = Literal["csv", "json"]
