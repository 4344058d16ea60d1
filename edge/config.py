"""An edge agent's configuration: one TOML or YAML file (`--config FILE`), validated at
start-up with errors that name the key.

```toml
store = "store-7"
device = "door-1"
heartbeat_s = 30

[broker]
url = "mqtts://agent:secret@broker.example.com:8883"
ca_file = "/etc/storesense/ca.pem"

[outbox]
path = "/var/lib/storesense/edge-door/outbox.sqlite"

[door]   # the agent's own section, passed as-is to the agent
```
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from storesense.errors import ConfigError
from storesense.protocol.identifiers import IDENTIFIER_PATTERN
from storesense.protocol.topics import DEFAULT_ROOT
from storesense.settings import BrokerEndpoint

AgentKind = Literal["rfid", "door", "beacon"]
AGENT_KINDS: tuple[AgentKind, ...] = ("rfid", "door", "beacon")


class EdgeBrokerConfig(BaseModel):
    """Where and how the agent connects."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        default="mqtt://127.0.0.1:1883",
        description="mqtt://[user:pass@]host[:port], or mqtts://… for TLS (default port 8883)",
    )
    ca_file: Path | None = Field(default=None, description="CA bundle; unset = system CAs")
    cert_file: Path | None = Field(default=None, description="client certificate (PEM)")
    key_file: Path | None = Field(default=None, description="client certificate's key (PEM)")
    client_id: str | None = Field(
        default=None, max_length=128, description="unset = storesense-edge-{store}-{device}"
    )
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    topic_root: str = Field(default=DEFAULT_ROOT, pattern=IDENTIFIER_PATTERN)
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    reconnect_min_s: int = Field(default=1, ge=1, le=3600)
    reconnect_max_s: int = Field(default=60, ge=1, le=3600)
    max_in_flight: int = Field(
        default=8, ge=1, le=64, description="event messages awaiting a PUBACK at once"
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"scheme must be mqtt:// or mqtts://, got {value!r}")
        if not parts.hostname:
            raise ValueError(f"has no host: {value!r}")
        try:
            parts.port  # noqa: B018 (raises on a bad port)
        except ValueError as exc:
            raise ValueError(f"bad port in {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _check_pairs(self) -> EdgeBrokerConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("`cert_file` and `key_file` go together: set both or neither")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("`reconnect_max_s` must be at least `reconnect_min_s`")
        return self

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts" or self.cert_file is not None

    def endpoint(self) -> BrokerEndpoint:
        parts = urlsplit(self.url)
        return BrokerEndpoint(
            host=parts.hostname or "localhost",
            port=parts.port or (8883 if self.tls else 1883),
            username=unquote(parts.username) if parts.username is not None else None,
            password=unquote(parts.password) if parts.password is not None else None,
            tls=self.tls,
            ca_file=self.ca_file,
        )


class OutboxConfig(BaseModel):
    """The on-disk outbox and its cap: past either limit the oldest events are dropped."""

    model_config = ConfigDict(extra="forbid")

    path: Path = Path("outbox.sqlite")
    max_events: int = Field(default=1_000_000, ge=1)
    max_bytes: int = Field(default=256 * 1024 * 1024, ge=64 * 1024)

    @property
    def fallback_config_path(self) -> Path:
        """Where the last good live config is kept, next to the outbox."""
        return self.path.with_name(self.path.stem + ".config.json")


class EdgeConfig(BaseModel):
    """Everything an edge agent reads at start-up."""

    model_config = ConfigDict(extra="forbid")

    store: str = Field(pattern=IDENTIFIER_PATTERN)
    device: str = Field(pattern=IDENTIFIER_PATTERN)
    broker: EdgeBrokerConfig = EdgeBrokerConfig()
    outbox: OutboxConfig = OutboxConfig()
    heartbeat_s: float = Field(default=30.0, gt=0, le=3600)
    # Each agent's own section, free-form: the agent's `from_config` validates it.
    rfid: dict[str, Any] = Field(default_factory=dict)
    door: dict[str, Any] = Field(default_factory=dict)
    beacon: dict[str, Any] = Field(default_factory=dict)

    def agent_section(self, kind: AgentKind) -> dict[str, Any]:
        section: dict[str, Any] = getattr(self, kind)
        return section

    @property
    def client_id(self) -> str:
        return self.broker.client_id or f"storesense-edge-{self.store}-{self.device}"


def load_edge_config(path: Path | str) -> EdgeConfig:
    """Read and validate a TOML (.toml) or YAML (.yaml, .yml) file; raise ConfigError naming
    the file and the offending key."""
    path = Path(path)
    return parse_edge_config(_read(path), source=str(path))


def parse_edge_config(data: Mapping[str, Any], source: str = "edge config") -> EdgeConfig:
    try:
        return EdgeConfig.model_validate(dict(data))
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"]) or "(top level)"
            given = error.get("input")
            quiet = isinstance(given, dict) or error["type"] == "missing"
            shown = "" if quiet else f" (got {given!r})"
            lines.append(f"key `{key}`: {error['msg']}{shown}")
        raise ConfigError(f"invalid edge config {source}:\n  " + "\n  ".join(lines)) from None


def _read(path: Path) -> Mapping[str, Any]:
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigError(f"edge config {path} must be a .toml, .yaml or .yml file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"edge config {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read edge config {path}: {exc}") from None
    if suffix == ".toml":
        try:
            return tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"edge config {path} is not valid TOML: {exc}") from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"edge config {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"edge config {path} must be a mapping at the top level")
    return data
