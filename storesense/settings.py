"""One typed settings model, read from `STORESENSE_*` environment variables and an optional
TOML file. Every default is embedded: with nothing set, the whole stack runs on one box.

Nested keys use `__` in the environment, e.g. `STORESENSE_BROKER__URL=mqtt://host:1883`.
The file is named by `STORESENSE_CONFIG` (or `--config` on the CLI); environment wins over it.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from storesense.errors import ConfigError
from storesense.protocol.identifiers import IDENTIFIER_PATTERN

DEFAULT_DATA_DIR = Path(".storesense")


class BrokerSettings(BaseModel):
    """MQTT broker: external when `url` is set, else an embedded broker in-process."""

    url: str | None = Field(
        default=None,
        description="mqtt://[user:pass@]host[:port] or mqtts://… for TLS; unset = embedded broker",
    )
    embedded_host: str = "127.0.0.1"
    # 1884 rather than 1883 so the embedded broker does not collide with a system Mosquitto.
    embedded_port: int = Field(default=1884, ge=1, le=65535)
    client_id_prefix: str = "storesense"
    ca_file: Path | None = None

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"scheme must be mqtt:// or mqtts://, got {value!r}")
        if not parts.hostname:
            raise ValueError(f"has no host: {value!r}")
        return value

    @property
    def embedded(self) -> bool:
        return self.url is None

    def endpoint(self) -> BrokerEndpoint:
        """Where clients connect, for either the embedded or the external broker."""
        if self.url is None:
            return BrokerEndpoint(host=self.embedded_host, port=self.embedded_port)
        parts = urlsplit(self.url)
        tls = parts.scheme in ("mqtts", "ssl")
        return BrokerEndpoint(
            host=parts.hostname or "localhost",
            port=parts.port or (8883 if tls else 1883),
            username=parts.username,
            password=parts.password,
            tls=tls,
            ca_file=self.ca_file,
        )


class BrokerEndpoint(BaseModel):
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None


class StateSettings(BaseModel):
    """Live state (dedupe keys, presence, alerts, registry): Redis when `redis_url` is set."""

    redis_url: str | None = Field(default=None, description="redis://host:6379/0; unset = memory")
    key_prefix: str = "storesense"

    @field_validator("redis_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"must be redis://, rediss:// or unix://, got {value!r}")
        return value


class TimeSeriesSettings(BaseModel):
    """Time series: InfluxDB when `influx_url` is set, else a SQLite file in the data dir."""

    influx_url: str | None = Field(default=None, description="http://host:8086; unset = SQLite")
    # An int, not Literal[1, 2]: environment values arrive as strings.
    influx_version: int = Field(
        default=1, ge=1, le=2, description="1: /write + /query (database); 2: token + org + bucket"
    )
    database: str = Field(default="storesense", description="1.x database, or 2.x/3.x bucket")
    username: str | None = None
    password: str | None = None
    token: str | None = None
    org: str | None = None
    sqlite_path: Path | None = Field(
        default=None, description="SQLite file; default <data_dir>/timeseries.sqlite"
    )
    batch_size: int = Field(default=5000, ge=1, le=100_000)
    flush_interval_s: float = Field(default=0.2, gt=0, le=60)
    max_buffered_points: int = Field(default=500_000, ge=1000)
    spool_path: Path | None = Field(
        default=None,
        description="durable buffer for points while InfluxDB is down; "
        "default <data_dir>/timeseries-spool.sqlite",
    )
    spool_max_bytes: int = Field(
        default=1 << 30,
        ge=1 << 20,
        description="spool bound; past it the oldest spooled points are dropped and counted",
    )

    @model_validator(mode="after")
    def _check_v2(self) -> TimeSeriesSettings:
        if self.influx_url and self.influx_version == 2 and not (self.token and self.org):
            raise ValueError("influx_version 2 needs both `token` and `org`")
        return self


class AuthSettings(BaseModel):
    """API authentication (api/auth/): token lifetimes, login rate limit, audit retention."""

    access_ttl_s: int = Field(default=900, ge=30, le=86_400, description="access tokens")
    refresh_ttl_s: int = Field(default=30 * 86_400, ge=300, description="refresh tokens")
    login_max_failures: int = Field(default=5, ge=1, description="per username and IP")
    login_window_s: int = Field(default=900, ge=1, description="failures counted this long")
    audit_retention_days: int = Field(default=400, ge=1)


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8720, ge=1, le=65535)
    auth: AuthSettings = AuthSettings()


class IngestSettings(BaseModel):
    # Replays after long outages must still be recognised: keep dedupe keys a week.
    dedupe_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)
    # A member not sighted for this long has left; the next sighting starts a new visit.
    visit_gap_s: int = Field(default=20 * 60, ge=10)
    # A garment sold this long after its try-on still counts as a conversion.
    conversion_window_s: int = Field(default=4 * 3600, ge=60)
    fitting_room_prefix: str = Field(
        default="fitting-room", description="zones whose name starts with this are fitting rooms"
    )
    sweep_interval_s: int = Field(default=30, ge=1, description="how often lapsed visits close")
    rules_path: Path | None = Field(
        default=None, description="YAML file of rule parameters and custom rules (rules/params.py)"
    )
    # Messages are acknowledged once their points are stored, in groups: a group closes at
    # `ack_group` messages or `ack_linger_ms` after its first. The broker's in-flight window
    # (Mosquitto `max_inflight_messages`, default 20) must be larger than the group.
    ack_group: int = Field(default=10, ge=1, le=65_535)
    ack_linger_ms: int = Field(default=10, ge=1, le=1000)
    # A group whose points wait longer than this for the time-series write is acknowledged once
    # they are in the local spool (fsynced) instead; they are written from there later.
    # 0 = always wait for the write.
    ack_deadline_ms: int = Field(default=30, ge=0, le=60_000)
    max_message_bytes: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_batch_events: int = Field(default=500, ge=1, le=10_000)
    shared_group: str | None = Field(
        default=None, description="MQTT shared-subscription group; unset = plain subscription"
    )
    client_id: str | None = Field(
        default=None,
        description="MQTT client id of ingest; with an external broker its session persists "
        "(the broker keeps messages while ingest is down). Unset: <prefix>-ingest-<host>. "
        "Give each ingest process on one host its own.",
    )


_WINDOW = r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$|^00:00-24:00$"
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ShiftSettings(BaseModel):
    """Who is on the floor when, and which zones they cover (alert routing)."""

    staff: list[str] = Field(min_length=1, description="staff ids (the staff registry's)")
    days: list[Weekday] = list(WEEKDAYS)
    hours: str = Field(default="00:00-24:00", pattern=_WINDOW, description="HH:MM-HH:MM")
    zones: list[str] = Field(
        default_factory=list, description="zone names or globs (fitting-room-*); empty = all"
    )


class StoreAlertSettings(BaseModel):
    quiet_hours: list[str] | None = Field(
        default=None, description="HH:MM-HH:MM windows in the store's timezone; unset = default"
    )
    managers: list[str] = Field(default_factory=list, description="staff ids for escalations")
    shifts: list[ShiftSettings] = Field(default_factory=list)
    escalate_after_s: int | None = Field(default=None, ge=1)
    expire_after_s: int | None = Field(default=None, ge=1)

    @field_validator("quiet_hours")
    @classmethod
    def _check_windows(cls, value: list[str] | None) -> list[str] | None:
        return _check_windows(value)


class WebhookSettings(BaseModel):
    """One webhook: `generic` (signed JSON) or `wecom` (a WeCom group robot's URL)."""

    url: str
    kind: Literal["generic", "wecom"] = "generic"
    secret: str | None = Field(default=None, description="HMAC-SHA256 key (generic webhooks)")
    stores: list[str] = Field(default_factory=list, description="only these stores; empty = all")
    timeout_s: float = Field(default=5.0, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _check_secret(self) -> WebhookSettings:
        if self.kind == "generic" and (self.secret is None or len(self.secret) < 16):
            raise ValueError(
                f"generic webhook {self.url}: `secret` must be set, at least 16 characters "
                "(receivers verify X-Storesense-Signature with it)"
            )
        return self


class AlertSettings(BaseModel):
    """Alert lifecycle and delivery: escalation, expiry, cooldown, quiet hours, webhooks."""

    escalate_after_s: int = Field(default=120, ge=1, description="unclaimed: to the manager")
    expire_after_s: int = Field(default=1800, ge=1, description="unclaimed: expired")
    # One alert per situation always holds (rules/situations.py); the cooldown also holds back
    # a *new* situation of the same thing (a room's next session, a device's next outage).
    cooldown_s: int = Field(
        default=0, ge=0, description="event-time seconds per (store, rule, thing); 0: off"
    )
    cooldown_by_rule: dict[str, int] = Field(default_factory=dict)
    quiet_hours: list[str] = Field(default_factory=list, description="default for every store")
    timer_interval_s: float = Field(default=1.0, gt=0, le=60)
    stores: dict[str, StoreAlertSettings] = Field(default_factory=dict)
    webhooks: list[WebhookSettings] = Field(default_factory=list)

    @field_validator("quiet_hours")
    @classmethod
    def _check_windows(cls, value: list[str]) -> list[str]:
        return _check_windows(value) or []


def _check_windows(value: list[str] | None) -> list[str] | None:
    for window in value or []:
        if not re.match(_WINDOW, window):
            raise ValueError(f"{window!r} is not a HH:MM-HH:MM window (e.g. 22:00-08:00)")
    return value


class FollowupSettings(BaseModel):
    """Follow-up tasks (rules/followups/): the suggestion rule and purchase attribution."""

    suggest: bool = Field(
        default=True, description="a task when a member's visit ends with try-ons, no purchase"
    )
    min_tried: int = Field(default=1, ge=1, description="garments tried for a suggestion")
    window_days: int = Field(
        default=14, ge=1, le=90, description="a purchase this long after a task is attributed"
    )
    interval_s: float = Field(default=30.0, gt=0, le=3600, description="how often to look")
    lookback_s: int = Field(
        default=3 * 3600, ge=60, description="how far back each look reads (late facts)"
    )


class StoreSettings(BaseModel):
    name: str | None = None
    locale: Literal["en", "zh-CN"] = "en"
    timezone: str = Field(default="UTC", description="IANA time zone, e.g. Asia/Shanghai")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return known_timezone(value)


def known_timezone(value: str) -> str:
    """`value` if it names an IANA time zone (zoneinfo), else ValueError saying so."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from None
    return value


class Settings(BaseSettings):
    """Everything storesense reads at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="STORESENSE_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    topic_root: str = Field(default="storesense", pattern=IDENTIFIER_PATTERN)
    data_dir: Path = DEFAULT_DATA_DIR
    default_locale: Literal["en", "zh-CN"] = "en"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    broker: BrokerSettings = BrokerSettings()
    state: StateSettings = StateSettings()
    timeseries: TimeSeriesSettings = TimeSeriesSettings()
    api: ApiSettings = ApiSettings()
    ingest: IngestSettings = IngestSettings()
    alerts: AlertSettings = AlertSettings()
    stores: dict[str, StoreSettings] = Field(default_factory=dict)
    followups: FollowupSettings = FollowupSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # init (the file's contents, passed by `load_settings`) < environment.
        return (env_settings, init_settings)

    def locale_for(self, store: str) -> Literal["en", "zh-CN"]:
        configured = self.stores.get(store)
        return configured.locale if configured else self.default_locale

    def sqlite_path(self) -> Path:
        return self.timeseries.sqlite_path or self.data_dir / "timeseries.sqlite"

    def spool_path(self) -> Path:
        return self.timeseries.spool_path or self.data_dir / "timeseries-spool.sqlite"


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Read settings from the optional TOML file and the environment; raise ConfigError
    naming the offending key when anything is invalid."""
    path = config_file or os.environ.get("STORESENSE_CONFIG")
    file_values: dict[str, Any] = {}
    if path:
        file_values = _read_toml(Path(path))
    merged = deep_merge(file_values, overrides)
    try:
        return Settings(**merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `extra` laid over it, nested mappings merged key by key (settings files
    under the environment; rule parameters: defaults, store, overrides)."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(exc: ValidationError, path: str | Path | None) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        env = "STORESENSE_" + "__".join(str(part).upper() for part in error["loc"])
        given = error.get("input")
        shown = "" if isinstance(given, dict) else f" (got {given!r})"
        lines.append(f"setting `{key}` (env {env}): {error['msg']}{shown}")
    where = f" in {path} or the environment" if path else " in the environment"
    return "invalid settings" + where + ":\n  " + "\n  ".join(lines)
