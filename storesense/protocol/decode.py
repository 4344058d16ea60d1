"""Decode an `events` payload (one event or a batch) into accepted events and rejections.

A bad event rejects only itself: the batch is split into raw JSON slices first, then each
slice is decoded on its own. Every rejection carries a reason code (bounded, for metrics)
and a message that names the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec

from storesense.protocol.events import EVENT_TYPES, AnyEvent, DeviceStatus

MAX_MESSAGE_BYTES = 256 * 1024
MAX_BATCH_EVENTS = 500


class RejectReason(StrEnum):
    TOO_LARGE = "too_large"
    MALFORMED_JSON = "malformed_json"
    BAD_BATCH = "bad_batch"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_FIELD = "invalid_field"
    STORE_MISMATCH = "store_mismatch"
    DEVICE_MISMATCH = "device_mismatch"
    BAD_TOPIC = "bad_topic"


class AcceptedEvent(msgspec.Struct, frozen=True):
    """One event that passed validation (a Struct: built per event on the hot path)."""

    store: str
    device: str
    event: AnyEvent
    raw: bytes  # the event's JSON as the device sent it, unknown fields included

    @property
    def key(self) -> tuple[str, str, str]:
        """The idempotency key `(store, device, id)`."""
        return (self.store, self.device, self.event.id)


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: RejectReason
    message: str
    index: int | None = None  # position in the batch; None when the whole message failed
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class DecodedMessage:
    accepted: list[AcceptedEvent]
    rejected: list[Rejection]


class _Head(msgspec.Struct):
    """Just enough of an event to explain why it failed."""

    type: Any = None
    id: Any = None


_event_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)
_batch_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_head_decoder = msgspec.json.Decoder(_Head)
_status_decoder = msgspec.json.Decoder(DeviceStatus)


def decode_events(
    payload: bytes,
    store: str,
    device: str,
    *,
    max_bytes: int = MAX_MESSAGE_BYTES,
    max_batch: int = MAX_BATCH_EVENTS,
) -> DecodedMessage:
    """Decode one `events` message from `store`/`device` (taken from its topic)."""
    if len(payload) > max_bytes:
        return _whole(
            RejectReason.TOO_LARGE, f"message is {len(payload)} bytes; the limit is {max_bytes}"
        )
    stripped = payload.lstrip()
    if stripped[:1] == b"[":
        try:
            slices = _batch_decoder.decode(payload)
        except msgspec.ValidationError:
            return _whole(RejectReason.BAD_BATCH, "batch must be a JSON array of event objects")
        except msgspec.DecodeError as exc:
            return _whole(RejectReason.MALFORMED_JSON, f"payload is not valid JSON: {exc}")
        if not 1 <= len(slices) <= max_batch:
            return _whole(
                RejectReason.BAD_BATCH,
                f"batch must hold 1-{max_batch} events, got {len(slices)}",
            )
        raws = [bytes(raw) for raw in slices]
        batched = True
    else:
        raws = [payload]
        batched = False

    accepted: list[AcceptedEvent] = []
    rejected: list[Rejection] = []
    decode = _event_decoder.decode
    for index, raw in enumerate(raws):
        try:
            event = decode(raw)
        except msgspec.DecodeError as exc:
            rejected.append(_explain(raw, exc, index if batched else None))
            continue
        if event.store is None and event.device is None:
            accepted.append(AcceptedEvent(store, device, event, raw))
        else:
            outcome = _check_origin(event, raw, store, device, index if batched else None)
            if isinstance(outcome, Rejection):
                rejected.append(outcome)
            else:
                accepted.append(outcome)
    return DecodedMessage(accepted=accepted, rejected=rejected)


def decode_status(payload: bytes) -> DeviceStatus:
    """Decode a retained `status` message; raise ValueError with a readable reason."""
    try:
        return _status_decoder.decode(payload)
    except msgspec.ValidationError as exc:
        raise ValueError(f"status: {_describe(str(exc))}") from None
    except msgspec.DecodeError as exc:
        raise ValueError(f"status is not valid JSON: {exc}") from None


def _check_origin(
    event: AnyEvent, raw: bytes, store: str, device: str, index: int | None
) -> AcceptedEvent | Rejection:
    """An event that names its store or device must name the topic's (no spoofing)."""
    prefix = "" if index is None else f"event {index} in batch: "
    if event.store is not None and event.store != store:
        return Rejection(
            RejectReason.STORE_MISMATCH,
            f"{prefix}event names store {event.store!r} but was published on store {store!r}",
            index,
            event.id,
        )
    if event.device is not None and event.device != device:
        return Rejection(
            RejectReason.DEVICE_MISMATCH,
            f"{prefix}event names device {event.device!r} but was published by {device!r}",
            index,
            event.id,
        )
    return AcceptedEvent(store, device, event, raw)


def _explain(raw: bytes, exc: msgspec.DecodeError, index: int | None) -> Rejection:
    prefix = "" if index is None else f"event {index} in batch: "
    if not isinstance(exc, msgspec.ValidationError):
        return Rejection(RejectReason.MALFORMED_JSON, f"{prefix}not valid JSON: {exc}", index)
    error = str(exc)
    try:
        head = _head_decoder.decode(raw)
    except msgspec.DecodeError:
        return Rejection(
            RejectReason.INVALID_FIELD, f"{prefix}an event must be a JSON object", index
        )
    event_id = head.id if isinstance(head.id, str) else None
    if head.type is None:
        return Rejection(
            RejectReason.INVALID_FIELD, f"{prefix}field `type` is required", index, event_id
        )
    if not isinstance(head.type, str) or head.type not in EVENT_TYPES:
        return Rejection(
            RejectReason.UNKNOWN_TYPE,
            f"{prefix}unknown event type {head.type!r}; expected one of {', '.join(EVENT_TYPES)}",
            index,
            event_id,
        )
    return Rejection(RejectReason.INVALID_FIELD, prefix + _describe(error), index, event_id)


_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")


def _describe(error: str) -> str:
    """Turn msgspec's "Expected `int`, got `str` - at `$.rssi`" into "field `rssi`: …"."""
    match = _AT.match(error)
    assert match is not None  # the pattern matches any string
    what, path = match.group("what"), (match.group("path") or "").lstrip(".")
    missing = _MISSING.match(what)
    if missing:
        field = f"{path}.{missing.group('field')}" if path else missing.group("field")
        return f"field `{field}` is required"
    if what.startswith("field `") or not path:
        return what
    return f"field `{path}`: {_lower_first(what)}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _whole(reason: RejectReason, message: str) -> DecodedMessage:
    return DecodedMessage(accepted=[], rejected=[Rejection(reason, message)])
