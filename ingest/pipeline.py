"""One MQTT message through ingest: decode → drop replays → store points → recognize
members → update presence → rules → alerts. Transport-free, so tests drive it directly."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ingest.directory import DirectoryCache
from ingest.metrics import IngestMetrics
from ingest.points import event_point
from ingest.tracking import Tracked, Tracker
from rules.engine import RuleEngine
from rules.member_arrived import MemberSighting
from rules.raiser import AlertRaiser
from storesense.backends.state.base import DeviceRecord, StateStore
from storesense.backends.timeseries.base import Point
from storesense.errors import ProtocolError
from storesense.periodic import every
from storesense.protocol.alerts import Alert
from storesense.protocol.decode import (
    AcceptedEvent,
    Rejection,
    RejectReason,
    decode_events,
    decode_status,
)
from storesense.protocol.topics import Channel, Topics
from storesense.settings import IngestSettings

log = logging.getLogger(__name__)
# A store whose events arrive at most this late is live: its clock runs on between events.
_LIVE_LAG_MS = 5 * 60_000


class PointSink(Protocol):
    def submit(self, points: Sequence[Point]) -> None: ...

    async def flush(self, deadline_s: float | None = None) -> None:
        """Return once everything submitted so far is stored (or durably spooled); with a
        deadline, spool what the store has not taken by then rather than wait longer."""
        ...

    @property
    def buffered(self) -> int: ...  # points in memory, not yet written

    @property
    def spooled(self) -> int: ...  # points waiting on disk for the backend

    @property
    def dropped(self) -> int: ...  # points lost to a full buffer


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
        rules: RuleEngine | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._topics = topics
        self._state = state
        self._points = points
        self._directory = directory
        self._raiser = raiser
        self._metrics = metrics
        self._settings = settings
        self._rules = rules or RuleEngine.from_settings(state, settings)
        self._clock = clock
        self._tracker = Tracker(state, settings)
        self._watermarks: dict[str, int] = {}
        self._swept_at: dict[str, int] = {}
        self._lags: dict[str, int] = {}  # store -> wall clock minus event clock at its sweep

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
        # Replays go through too: a worker killed after claiming an event but before its
        # points were stored leaves the redelivered message as the only chance to store
        # them. Points and facts are idempotent (same identity, same values); only counting
        # and alerts are for fresh events.
        directory = await self._directory.current()
        tracked = Tracked(points=[point for _, point in storable])
        by_type: dict[str, int] = {}
        for (accepted, _), is_new in zip(storable, fresh_flags, strict=True):
            if is_new:
                by_type[accepted.event.type] = by_type.get(accepted.event.type, 0) + 1
            await self._tracker.apply(accepted, directory, tracked, replay=not is_new)
        for event_type, count in by_type.items():
            self._metrics.accepted.labels(event_type).inc(count)
        self._points.submit(tracked.points)
        now_ms = int(self._clock() * 1000)
        sightings: list[MemberSighting] = []
        for seen in tracked.seen:
            if seen.replay:
                continue
            self._metrics.members_recognized.labels(seen.source).inc()
            sighting = MemberSighting(
                store=seen.store,
                member=seen.member,
                ts_ms=seen.ts_ms,
                new_visit=seen.result.new_visit,
                visit_start_ms=seen.result.visit_start_ms,
                previous_visit_ms=seen.result.previous_visit_ms,
                source=seen.source,
                zone=seen.zone,
            )
            sightings.append(sighting)
        fresh_events = [
            accepted for (accepted, _), is_new in zip(storable, fresh_flags, strict=True) if is_new
        ]
        drafts = await self._rules.on_events(
            fresh_events, sightings, tracked.points, directory, now_ms
        )
        for draft in drafts:
            alert = await self._raiser.raise_alert(draft)
            if alert is not None:  # None: this situation already raised its alert
                outcome.alerts.append(alert)
        newest: dict[str, int] = {}
        for accepted, _ in storable:
            newest[accepted.store] = max(newest.get(accepted.store, 0), accepted.event.ts_ms)
        for store, event_ms in newest.items():
            await self._maybe_sweep(store, event_ms)
        return outcome

    def _reject(self, store: str, device: str, rejection: Rejection) -> None:
        self._metrics.rejected.labels(rejection.reason.value).inc()
        log.warning(
            "event rejected store=%s device=%s event=%s reason=%s detail=%s",
            store, device, rejection.event_id or "-", rejection.reason.value, rejection.message,
        )  # fmt: skip

    async def _maybe_sweep(self, store: str, event_ms: int) -> None:
        """Close lapsed visits now and then, by event time: each store's clock is the
        newest event seen from it (replays and simulations run ahead of the wall clock)."""
        watermark = max(event_ms, self._watermarks.get(store, 0))
        self._watermarks[store] = watermark
        if watermark - self._swept_at.get(store, 0) < self._settings.sweep_interval_s * 1000:
            return
        self._swept_at[store] = watermark
        ended = await self._tracker.sweep(store, watermark)
        if ended:
            self._points.submit(ended)
        self._lags[store] = int(self._clock() * 1000) - watermark
        await self.evaluate_rules(store, watermark)

    async def evaluate_live_rules(self) -> list[Alert]:
        """The time-based rules of every live store (its events arrive within minutes of
        their time) at its event clock carried on by the wall clock: what notices a store
        whose devices all went quiet. Call it now and then (`run_rule_timer`)."""
        wall_ms = int(self._clock() * 1000)
        raised: list[Alert] = []
        for store, lag_ms in list(self._lags.items()):
            if lag_ms <= _LIVE_LAG_MS:
                now_ms = max(self._watermarks.get(store, 0), wall_ms - max(lag_ms, 0))
                raised += await self.evaluate_rules(store, now_ms)
        return raised

    async def run_rule_timer(self, interval_s: float | None = None) -> None:
        """Evaluate live stores' time-based rules every `interval_s` (default: the sweep
        interval) until cancelled; a backend outage skips a round, not the timer."""
        interval = interval_s or self._settings.sweep_interval_s
        await every(interval, self.evaluate_live_rules, "rule timer", wait_first=True)

    async def evaluate_rules(self, store: str, now_ms: int | None = None) -> list[Alert]:
        """The time-based rules of `store` at `now_ms` (default: its newest event time); the
        sweep calls this, and so may a periodic task. Safe from several workers at once."""
        now_ms = self._watermarks.get(store, 0) if now_ms is None else now_ms
        directory = await self._directory.current()
        raised = [
            await self._raiser.raise_alert(draft)
            for draft in await self._rules.tick(store, now_ms, directory, int(self._clock() * 1000))
        ]
        return [alert for alert in raised if alert is not None]  # None: already raised

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
