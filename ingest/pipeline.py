"""One MQTT message through ingest: decode → drop replays → store points → recognize
members → update presence → rules → alerts. Transport-free, so tests drive it directly."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ingest.directory import DirectoryCache
from ingest.identity import Directory
from ingest.metrics import IngestMetrics
from ingest.points import event_point
from rules.member_arrived import MemberArrivedParams, MemberSighting, SightingSource, member_arrived
from rules.raiser import AlertRaiser
from storesense.backends.state.base import DeviceRecord, StateStore
from storesense.backends.timeseries.base import Point
from storesense.errors import ProtocolError
from storesense.protocol.alerts import Alert
from storesense.protocol.decode import (
    AcceptedEvent,
    Rejection,
    RejectReason,
    decode_events,
    decode_status,
)
from storesense.protocol.events import BeaconSighting, PosSale, RfidTag
from storesense.protocol.topics import Channel, Topics
from storesense.registry.members import Member
from storesense.settings import IngestSettings

log = logging.getLogger(__name__)


class PointSink(Protocol):
    def submit(self, points: Sequence[Point]) -> None: ...


@dataclass
class MessageOutcome:
    """What became of one message (for tests, logs and the HTTP gateway)."""

    accepted: int = 0
    replays: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


class Pipeline:
    def __init__(
        self,
        *,
        topics: Topics,
        state: StateStore,
        points: PointSink,
        directory: DirectoryCache,
        raiser: AlertRaiser,
        metrics: IngestMetrics,
        settings: IngestSettings,
        arrived_params: MemberArrivedParams | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._topics = topics
        self._state = state
        self._points = points
        self._directory = directory
        self._raiser = raiser
        self._metrics = metrics
        self._settings = settings
        self._arrived = arrived_params or MemberArrivedParams()
        self._clock = clock

    async def handle(self, topic: str, payload: bytes) -> MessageOutcome:
        """Process one message. Raises BackendUnavailable (caller retries the message)."""
        started = time.perf_counter()
        try:
            parsed = self._topics.parse_device(topic)
        except ProtocolError as exc:
            self._metrics.rejected.labels(RejectReason.BAD_TOPIC.value).inc()
            log.warning("message rejected reason=bad_topic topic=%s detail=%s", topic, exc)
            return MessageOutcome(rejected=[Rejection(RejectReason.BAD_TOPIC, str(exc))])
        self._metrics.messages.labels(parsed.channel.value).inc()
        if parsed.channel is Channel.STATUS:
            await self._handle_status(parsed.store, parsed.device, payload)
            return MessageOutcome()
        if parsed.channel is not Channel.EVENTS:
            return MessageOutcome()  # `config` is ours to publish; devices' echoes are ignored
        outcome = await self._handle_events(parsed.store, parsed.device, payload)
        self._metrics.latency.observe(time.perf_counter() - started)
        return outcome

    async def _handle_events(self, store: str, device: str, payload: bytes) -> MessageOutcome:
        decoded = decode_events(
            payload,
            store,
            device,
            max_bytes=self._settings.max_message_bytes,
            max_batch=self._settings.max_batch_events,
        )
        for rejection in decoded.rejected:
            self._reject(store, device, rejection)
        outcome = MessageOutcome(rejected=list(decoded.rejected))
        # Points are built before dedupe claims the events, so an event that cannot be
        # stored is rejected rather than claimed and lost.
        storable: list[tuple[AcceptedEvent, Point]] = []
        for accepted in decoded.accepted:
            try:
                storable.append((accepted, event_point(accepted)))
            except ValueError as exc:
                rejection = Rejection(
                    RejectReason.INVALID_FIELD, f"cannot be stored: {exc}", None, accepted.event.id
                )
                self._reject(store, device, rejection)
                outcome.rejected.append(rejection)
        if not storable:
            return outcome
        fresh_flags = await self._state.claim_events(
            [accepted.key for accepted, _ in storable], self._settings.dedupe_ttl_s
        )
        fresh = [item for item, is_new in zip(storable, fresh_flags, strict=True) if is_new]
        outcome.replays = len(storable) - len(fresh)
        outcome.accepted = len(fresh)
        if outcome.replays:
            self._metrics.replays.inc(outcome.replays)
        if not fresh:
            return outcome
        self._points.submit([point for _, point in fresh])
        directory = await self._directory.current()
        for accepted, _ in fresh:
            self._metrics.accepted.labels(accepted.event.type).inc()
            recognized = _recognize(accepted, directory)
            if recognized is not None:
                member, source, zone = recognized
                self._metrics.members_recognized.labels(source).inc()
                alert = await self._on_member_seen(accepted, member, source, zone)
                if alert is not None:
                    outcome.alerts.append(alert)
        return outcome

    def _reject(self, store: str, device: str, rejection: Rejection) -> None:
        self._metrics.rejected.labels(rejection.reason.value).inc()
        log.warning(
            "event rejected store=%s device=%s event=%s reason=%s detail=%s",
            store, device, rejection.event_id or "-", rejection.reason.value, rejection.message,
        )  # fmt: skip

    async def _on_member_seen(
        self, accepted: AcceptedEvent, member: Member, source: SightingSource, zone: str | None
    ) -> Alert | None:
        ts_ms = accepted.event.ts_ms
        presence = await self._state.touch_presence(
            accepted.store, member.member_id, ts_ms, self._settings.visit_gap_s * 1000
        )
        sighting = MemberSighting(
            store=accepted.store,
            member=member,
            ts_ms=ts_ms,
            presence=presence,
            source=source,
            zone=zone,
        )
        draft = member_arrived(sighting, self._arrived, int(self._clock() * 1000))
        return None if draft is None else await self._raiser.raise_alert(draft)

    async def _handle_status(self, store: str, device: str, payload: bytes) -> None:
        if not payload:
            return  # a cleared retained message
        try:
            status = decode_status(payload)
        except ValueError as exc:
            self._metrics.rejected.labels(RejectReason.INVALID_FIELD.value).inc()
            log.warning("status rejected store=%s device=%s detail=%s", store, device, exc)
            return
        await self._state.put_device(
            DeviceRecord(
                store=store,
                device=device,
                state=status.state,
                ts_ms=status.ts_ms,
                kind=status.kind,
                version=status.version,
                received_ms=int(self._clock() * 1000),
            )
        )
        log.info("device status store=%s device=%s state=%s", store, device, status.state)


def _recognize(
    accepted: AcceptedEvent, directory: Directory
) -> tuple[Member, SightingSource, str | None] | None:
    event = accepted.event
    member: Member | None = None
    if isinstance(event, BeaconSighting):
        if event.is_app_id:
            member = directory.members.by_app_id(event.beacon, event.ts_ms)
        return (member, "app", event.zone) if member else None
    if isinstance(event, RfidTag):
        if event.action == "enter":
            member = directory.members.by_card(event.epc)
        return (member, "card", event.zone) if member else None
    if isinstance(event, PosSale) and event.member is not None:
        ref = event.member
        if ref.card is not None:
            member = directory.members.by_card(ref.card)
        elif ref.phone is not None:
            member = directory.members.by_phone(ref.phone)
        elif ref.id is not None:
            member = directory.members.by_id(ref.id)
        return (member, "sale", None) if member else None
    return None
