"""The organisation's shape: organisation → regions → stores → zones. Typed models, validated
where they enter (API bodies, files): IANA timezones, locales, opening hours, ISO 4217."""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from storesense.protocol.identifiers import IDENTIFIER_PATTERN
from storesense.settings import Weekday

Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN, examples=["flagship-sh"])]
Locale = Literal["en", "zh-CN"]
ZoneKind = Literal["entrance", "floor", "fitting_room", "backroom", "till"]

_WINDOW = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]|24):([0-5][0-9])")

# Active ISO 4217 currency codes (funds and precious metals left out).
CURRENCIES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD
    TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG""".split()  # noqa: SIM905
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Organisation(_Model):
    name: str = Field(min_length=1, max_length=200)


class RegionBody(_Model):
    name: str = Field(min_length=1, max_length=200)


class Region(RegionBody):
    id: Identifier


class StoreBody(_Model):
    name: str = Field(min_length=1, max_length=200)
    region: Identifier | None = Field(default=None, description="the region's id")
    timezone: str = Field(default="UTC", description="IANA timezone, e.g. Asia/Shanghai")
    locale: Locale = "en"
    currency: str = Field(default="CNY", description="ISO 4217 code")
    opening_hours: dict[Weekday, list[str]] = Field(
        default_factory=dict,
        description="weekday -> HH:MM-HH:MM windows in the store's timezone; a missing day "
        "is closed",
        examples=[{"mon": ["10:00-22:00"], "sun": ["10:00-14:00", "15:00-20:00"]}],
    )

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        if value not in _timezones():
            raise ValueError(f"{value!r} is not an IANA timezone (e.g. Asia/Shanghai)")
        return value

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str) -> str:
        if value not in CURRENCIES:
            raise ValueError(f"{value!r} is not an ISO 4217 currency code (e.g. CNY, EUR)")
        return value

    @field_validator("opening_hours")
    @classmethod
    def _check_hours(cls, value: dict[Weekday, list[str]]) -> dict[Weekday, list[str]]:
        for day, windows in value.items():
            for window in windows:
                match = _WINDOW.fullmatch(window)
                if match is None or (match[3] == "24" and match[4] != "00"):
                    raise ValueError(f"{day}: {window!r} is not a HH:MM-HH:MM window")
                start = int(match[1]) * 60 + int(match[2])
                end = int(match[3]) * 60 + int(match[4])
                if end <= start:
                    raise ValueError(f"{day}: {window!r} ends before it starts")
        return value


class Store(StoreBody):
    id: Identifier


class ZoneBody(_Model):
    kind: ZoneKind
    name: str = Field(min_length=1, max_length=200, description="shown to staff")


class Zone(ZoneBody):
    id: Identifier = Field(
        description="the zone as devices name it in events (e.g. fitting-room-2); fitting "
        "rooms' ids start with the ingest fitting-room prefix"
    )


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())
