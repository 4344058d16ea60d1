"""Topic names of protocol v1: `{root}/v1/{store}/{device}/{events|status|config}` and
`{root}/v1/{store}/alerts`. The root segment is configurable (default `storesense`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storesense.errors import ProtocolError
from storesense.protocol.identifiers import is_identifier

PROTOCOL_VERSION = "v1"
DEFAULT_ROOT = "storesense"


class Channel(StrEnum):
    EVENTS = "events"
    STATUS = "status"
    CONFIG = "config"


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    """A parsed device topic: which store and device it belongs to, and which channel."""

    store: str
    device: str
    channel: Channel


class Topics:
    """Builds and parses topic names for one topic root."""

    def __init__(self, root: str = DEFAULT_ROOT) -> None:
        if not is_identifier(root):
            raise ProtocolError(f"topic root must match [a-z0-9][a-z0-9_-]{{0,63}}, got {root!r}")
        self.root = root
        self._prefix = f"{root}/{PROTOCOL_VERSION}/"

    def device(self, store: str, device: str, channel: Channel) -> str:
        _check_identifier("store", store)
        _check_identifier("device", device)
        return f"{self._prefix}{store}/{device}/{channel.value}"

    def events(self, store: str, device: str) -> str:
        return self.device(store, device, Channel.EVENTS)

    def status(self, store: str, device: str) -> str:
        return self.device(store, device, Channel.STATUS)

    def config(self, store: str, device: str) -> str:
        return self.device(store, device, Channel.CONFIG)

    def alerts(self, store: str) -> str:
        _check_identifier("store", store)
        return f"{self._prefix}{store}/alerts"

    def all_events(self, shared_group: str | None = None) -> str:
        return _shared(f"{self._prefix}+/+/{Channel.EVENTS.value}", shared_group)

    def all_status(self, shared_group: str | None = None) -> str:
        return _shared(f"{self._prefix}+/+/{Channel.STATUS.value}", shared_group)

    def all_alerts(self) -> str:
        return f"{self._prefix}+/alerts"

    def parse_device(self, topic: str) -> DeviceTopic:
        """Parse a device topic; raise ProtocolError saying which segment is wrong."""
        if not topic.startswith(self._prefix):
            raise ProtocolError(f"topic {topic!r} does not start with {self._prefix!r}")
        parts = topic[len(self._prefix) :].split("/")
        if len(parts) != 3:
            raise ProtocolError(
                f"topic {topic!r} must be {self._prefix}{{store}}/{{device}}/{{channel}}"
            )
        store, device, channel = parts
        _check_identifier("store", store)
        _check_identifier("device", device)
        try:
            parsed_channel = Channel(channel)
        except ValueError:
            raise ProtocolError(
                f"topic {topic!r}: channel must be events, status or config, got {channel!r}"
            ) from None
        return DeviceTopic(store=store, device=device, channel=parsed_channel)

    def parse_alerts(self, topic: str) -> str:
        """Return the store of an alerts topic."""
        if not topic.startswith(self._prefix) or not topic.endswith("/alerts"):
            raise ProtocolError(f"topic {topic!r} is not an alerts topic")
        store = topic[len(self._prefix) : -len("/alerts")]
        _check_identifier("store", store)
        return store


def _shared(topic: str, group: str | None) -> str:
    return f"$share/{group}/{topic}" if group else topic


def _check_identifier(what: str, value: str) -> None:
    if not is_identifier(value):
        raise ProtocolError(f"{what} id must match [a-z0-9][a-z0-9_-]{{0,63}}, got {value!r}")
