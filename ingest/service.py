"""The ingest service: an MQTT consumer feeding the pipeline, reconnecting on broker loss and
retrying a message while a backend (Redis) is down rather than losing it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from collections.abc import Callable

import aiomqtt
from prometheus_client import CollectorRegistry

from ingest.directory import DirectoryCache
from ingest.heap import freeze_long_lived
from ingest.metrics import IngestMetrics
from ingest.pipeline import Pipeline, PointSink
from rules.engine import RuleEngine
from rules.lifecycle.running import alert_delivery
from storesense.backends.state.base import StateStore
from storesense.errors import BackendUnavailable
from storesense.mqtt import MqttLink, client_id, mqtt_client
from storesense.protocol.topics import Topics
from storesense.settings import Settings

log = logging.getLogger(__name__)


async def run_ingest(
    settings: Settings,
    state: StateStore,
    points: PointSink,
    registry: CollectorRegistry,
    ready: Callable[[], None] | None = None,
) -> None:
    """Consume device events and status until cancelled."""
    topics = Topics(settings.topic_root)
    metrics = IngestMetrics(registry)
    metrics.buffered_points.set_function(lambda: points.buffered + points.spooled)
    metrics.dropped_points.set_function(lambda: points.dropped)
    metrics.secured_points.set_function(lambda: getattr(points, "secured", 0))
    link = MqttLink()
    directory = DirectoryCache(state)
    # Alert timers (escalation, expiry) run in every worker; each change is made once.
    async with alert_delivery(
        settings, state, link.publish, points=points, registry=registry
    ) as delivery:
        pipeline = Pipeline(
            topics=topics,
            state=state,
            points=points,
            directory=directory,
            raiser=delivery.raiser,
            metrics=metrics,
            settings=settings.ingest,
            # Store timezones and shifts from the settings, as alert routing uses them.
            rules=RuleEngine.from_settings(state, settings.ingest, delivery.lifecycle.policy),
        )
        freeze_long_lived("start-up")  # before the first message: the pause harms nobody
        try:
            # Time-based rules of live stores run on when their devices fall quiet.
            async with asyncio.TaskGroup() as rule_timer:
                rule_timer.create_task(pipeline.run_rule_timer(), name="rule-timer")
                await _consume(settings, topics, pipeline, points, link, metrics, ready)
        finally:
            directory.close()


async def _consume(
    settings: Settings,
    topics: Topics,
    pipeline: Pipeline,
    points: PointSink,
    link: MqttLink,
    metrics: IngestMetrics,
    ready: Callable[[], None] | None,
) -> None:
    endpoint = settings.broker.endpoint()
    group = settings.ingest.shared_group
    # A fixed client id gets a persistent session: the broker keeps what arrives while this
    # worker is down and redelivers what it had not acknowledged. The embedded broker lives
    # and dies with this process, so there a fresh session is all there is.
    identifier = settings.ingest.client_id
    if identifier is None and not settings.broker.embedded:
        identifier = f"{settings.broker.client_id_prefix}-ingest-{socket.gethostname()}"
    persistent = identifier is not None
    identifier = identifier or client_id(settings, "ingest")
    delay = 0.5
    while True:
        try:
            client = mqtt_client(endpoint, identifier, clean=not persistent)
            # Acknowledge a message only once its points are stored, so that a worker killed
            # mid-way gets it again (the replay's points overwrite themselves). aiomqtt does
            # not expose this paho setting, hence the private attribute.
            client._client.manual_ack_set(True)
            async with client, asyncio.TaskGroup() as group_tasks:
                acks = _Acknowledger(
                    client,
                    points,
                    settings.ingest.ack_group,
                    settings.ingest.ack_linger_ms / 1000,
                    settings.ingest.ack_deadline_ms / 1000 or None,
                )
                acker = group_tasks.create_task(acks.run(), name="ingest-acks")
                link.attach(client)
                # Status is retained, and shared subscriptions get no retained messages:
                # every worker follows all status topics (updates are idempotent).
                await client.subscribe([(topics.all_events(group), 1), (topics.all_status(), 1)])
                log.info(
                    "ingest subscribed broker=%s:%d topics=%s client=%s",
                    endpoint.host, endpoint.port, topics.all_events(group), identifier,
                )  # fmt: skip
                delay = 0.5
                if ready is not None:
                    ready()
                async for message in client.messages:
                    payload = message.payload
                    data = payload if isinstance(payload, bytes) else str(payload).encode()
                    await _handle_until_done(pipeline, str(message.topic), data, metrics)
                    if message.qos > 0:
                        acks.add(message.mid, message.qos)
                acker.cancel()
        except* aiomqtt.MqttError as group_error:
            log.warning(
                "broker connection lost broker=%s:%d error=%s retry_in=%.1fs",
                endpoint.host, endpoint.port, group_error.exceptions[0], delay,
            )  # fmt: skip
        finally:
            link.attach(None)
        await asyncio.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 15.0)


class _Acknowledger:
    """Acknowledge processed messages in groups, after their points are stored: one flush
    (one time-series write) per group, not per message. A group closes at `group` messages
    or `linger_s` after its first. Unacknowledged messages hold the broker's in-flight
    window (Mosquitto's `max_inflight_messages`, 20 by default), so a group must stay below
    it; raise both for devices that send single events. A slow store must not close the
    window either: points that wait `deadline_s` for their write are spooled (durably) and
    the group acknowledged."""

    def __init__(
        self,
        client: aiomqtt.Client,
        points: PointSink,
        group: int,
        linger_s: float,
        deadline_s: float | None = None,
    ) -> None:
        self._client = client
        self._points = points
        self._group = group
        self._linger_s = linger_s
        self._deadline_s = deadline_s
        self._pending: list[tuple[int, int]] = []
        self._first = asyncio.Event()  # something waits to be acknowledged
        self._wake = asyncio.Event()  # a full group: do not wait out the linger

    def add(self, mid: int, qos: int) -> None:
        self._pending.append((mid, qos))
        self._first.set()
        if len(self._pending) >= self._group:
            self._wake.set()

    async def run(self) -> None:
        while True:
            if not self._pending:
                await self._first.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._linger_s)
            self._wake.clear()
            self._first.clear()
            batch, self._pending = self._pending, []
            await self._points.flush(self._deadline_s)
            for mid, qos in batch:
                self._client._client.ack(mid, qos)


async def _handle_until_done(
    pipeline: Pipeline, topic: str, payload: bytes, metrics: IngestMetrics
) -> None:
    # Losing an accepted event is worse than stalling: hold the message until the backend
    # answers (the broker buffers the rest meanwhile).
    delay = 0.2
    while True:
        try:
            await pipeline.handle(topic, payload)
            return
        except BackendUnavailable as exc:
            metrics.backend_errors.labels("state").inc()
            log.error("backend unavailable, retrying message topic=%s error=%s", topic, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
