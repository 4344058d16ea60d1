"""Carry the outbox to the broker: one paho-mqtt client (its own network thread) and one
drain thread.

- Drain: the oldest events go out as protocol messages (a JSON array of up to 500 events
  under 256 KiB, or a lone event) at QoS 1, at most `max_in_flight` messages awaiting a
  PUBACK. An event leaves the outbox only when its message's PUBACK arrives.
- Reconnect: paho keeps unacknowledged messages and sends them again after it reconnects
  (duplicates are fine, the service dedupes by `(store, device, id)`); after a process
  restart the outbox still holds them. Delays grow exponentially with jitter (`Backoff`).
- Status: the last will is the retained `offline` status; on every connect a retained
  `online` status goes out and the device's retained `config` topic is subscribed; every
  `heartbeat_s` the status is refreshed with outbox depth, drops, publishes and uptime.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.config import EdgeConfig
from edge.runtime.backoff import Backoff
from edge.runtime.connection import build_client, connect_async
from edge.runtime.outbox import Outbox, OutboxEntry
from edge.runtime.status import RuntimeCounters, status_payload
from storesense.protocol.decode import MAX_BATCH_EVENTS, MAX_MESSAGE_BYTES
from storesense.protocol.topics import Topics

log = logging.getLogger(__name__)

_RETRY_AFTER_REFUSED_S = 5.0  # after a failed PUBACK (MQTT 5) or a refused publish
_QUEUED = (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN)


def frame(entries: list[OutboxEntry]) -> bytes:
    """One protocol message: the event itself when alone, else a JSON array."""
    if len(entries) == 1:
        return entries[0].payload
    return b"[" + b",".join(entry.payload for entry in entries) + b"]"


class Publisher:
    def __init__(
        self,
        config: EdgeConfig,
        outbox: Outbox,
        *,
        kind: str,
        version: str,
        on_config: Callable[[bytes], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        topics = Topics(config.broker.topic_root)
        self.events_topic = topics.events(config.store, config.device)
        self.status_topic = topics.status(config.store, config.device)
        self.config_topic = topics.config(config.store, config.device)
        self._config = config
        self._outbox = outbox
        self._kind = kind
        self._version = version
        self._on_config = on_config
        self._clock = clock
        self._max_in_flight = config.broker.max_in_flight
        self._backoff = Backoff(config.broker.reconnect_min_s, config.broker.reconnect_max_s)
        self._client = build_client(config, self.status_topic, self._status("offline", False))
        self._client.on_pre_connect = self._on_pre_connect
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe

        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._acks: queue.SimpleQueue[tuple[int, bool]] = queue.SimpleQueue()
        # Owned by the drain thread: message id -> outbox seqs it carries, in send order.
        self._window: dict[int, list[int]] = {}
        self._cursor = 0  # highest seq handed to paho
        self._hold_until = 0.0
        self._published = 0
        self._started_at = clock()
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (retrying until the broker answers) and start draining."""
        endpoint = self._config.broker.endpoint()
        log.info(
            "publisher starting broker=%s:%d tls=%s client_id=%s topic=%s",
            endpoint.host, endpoint.port, endpoint.tls, self._config.client_id,
            self.events_topic,
        )  # fmt: skip
        connect_async(self._client, self._config)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._drain, name="edge-publisher", daemon=True)
        self._thread.start()

    def stop(self, flush_timeout_s: float = 5.0) -> bool:
        """Flush while connected (up to the timeout), publish the offline status,
        disconnect. Return True when the outbox was empty at the end."""
        deadline = self._clock() + flush_timeout_s
        self._wake.set()
        while self._outbox.depth > 0 and self._connected.is_set() and self._clock() < deadline:
            time.sleep(0.02)
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._take_acks()
        if self._connected.is_set():
            info = self._client.publish(
                self.status_topic, self._status("offline", True), qos=1, retain=True
            )
            try:
                info.wait_for_publish(timeout=max(1.0, deadline - self._clock()))
            except (RuntimeError, ValueError) as exc:
                log.warning("offline status not sent error=%s", exc)
        self._client.disconnect()
        self._client.loop_stop()
        flushed = self._outbox.depth == 0
        log.info(
            "publisher stopped flushed=%s outbox_depth=%d published=%d",
            flushed, self._outbox.depth, self._published,
        )  # fmt: skip
        return flushed

    def wake(self) -> None:
        """New events are in the outbox."""
        self._wake.set()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def counters(self) -> RuntimeCounters:
        stats = self._outbox.stats()
        return RuntimeCounters(
            outbox_depth=stats.depth,
            outbox_bytes=stats.bytes,
            dropped=stats.dropped,
            published=self._published,
            uptime_s=self._clock() - self._started_at,
        )

    # -- drain thread --------------------------------------------------------------------

    def _drain(self) -> None:
        heartbeat_s = self._config.heartbeat_s
        next_beat = self._clock() + heartbeat_s
        while not self._stopping.is_set():
            self._wake.clear()  # before looking for work, so a wake-up meanwhile is kept
            try:
                self._take_acks()
                if self._clock() >= next_beat:
                    next_beat = self._clock() + heartbeat_s
                    if self._connected.is_set():
                        self._publish_status()
                if self._send_next():
                    continue
            except Exception:  # keep draining: a transient disk error must not end it
                log.exception("publisher drain failed; retrying in 1 s")
                # Send again whatever is still in the outbox: a duplicate is fine, an event
                # stuck until the next restart is not.
                self._cursor = 0
                self._stopping.wait(1.0)
                continue
            wait = next_beat - self._clock()
            if self._hold_until > self._clock():
                wait = min(wait, self._hold_until - self._clock())
            self._wake.wait(max(0.0, wait))

    def _send_next(self) -> bool:
        """Publish the next batch when connected and the window has room."""
        if (
            not self._connected.is_set()
            or len(self._window) >= self._max_in_flight
            or self._clock() < self._hold_until
        ):
            return False
        entries = self._outbox.peek_batch(
            MAX_BATCH_EVENTS, MAX_MESSAGE_BYTES - 1, after=self._cursor
        )
        if not entries:
            return False
        info = self._client.publish(self.events_topic, frame(entries), qos=1)
        if info.rc not in _QUEUED:
            log.warning("publish refused by client rc=%s; retrying", info.rc)
            self._hold_until = self._clock() + 1.0
            return False
        self._window[info.mid] = [entry.seq for entry in entries]
        self._cursor = entries[-1].seq
        return True

    def _take_acks(self) -> None:
        acked: list[int] = []
        while True:
            try:
                mid, failed = self._acks.get_nowait()
            except queue.Empty:
                break
            seqs = self._window.pop(mid, None)
            if seqs is None:
                continue  # a status message
            if failed:
                # Keep them and send again from there (MQTT 5 brokers may refuse, e.g. quota).
                log.error("broker refused events message mid=%d events=%d", mid, len(seqs))
                self._cursor = min(self._cursor, seqs[0] - 1)
                self._hold_until = self._clock() + _RETRY_AFTER_REFUSED_S
                continue
            acked.extend(seqs)
        if acked:
            self._outbox.ack(acked)
            self._published += len(acked)

    # -- status --------------------------------------------------------------------------

    def _status(self, state: Literal["online", "offline"], with_counters: bool) -> bytes:
        counters = self.counters() if with_counters else None
        return status_payload(state, self._kind, self._version, counters)

    def _publish_status(self) -> None:
        self._client.publish(self.status_topic, self._status("online", True), qos=1, retain=True)

    # -- paho callbacks (network thread) -------------------------------------------------

    def _on_pre_connect(self, client: paho.Client, userdata: Any) -> None:
        delay = self._backoff.jitter()
        if delay > 0:
            self._stopping.wait(delay)
        # The will carries the time of this connect, not of the first one days ago.
        client.will_set(self.status_topic, self._status("offline", False), qos=1, retain=True)

    def _on_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.warning("broker refused connection reason=%s", reason)
            return
        self._backoff.succeeded()
        self._connected.set()
        self._publish_status()
        client.subscribe(self.config_topic, qos=1)
        log.info(
            "connected to broker outbox_depth=%d in_flight=%d",
            self._outbox.depth, len(self._window),
        )  # fmt: skip
        self._wake.set()

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        self._backoff.failed()
        log.warning(
            "cannot reach broker attempt=%d next_retry_s=%.0f+jitter outbox_depth=%d",
            self._backoff.failures, self._backoff.step(), self._outbox.depth,
        )  # fmt: skip

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        if self._stopping.is_set():
            return
        self._backoff.failed()
        if was_connected:
            log.warning(
                "broker connection lost reason=%s outbox_depth=%d", reason, self._outbox.depth
            )

    def _on_publish(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        # Runs under paho's message lock: hand over, never touch the outbox here.
        self._acks.put((mid, reason.is_failure))
        self._wake.set()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        if message.topic == self.config_topic and self._on_config is not None:
            self._on_config(bytes(message.payload))

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if any(reason.is_failure for reason in reasons):
            log.warning("broker refused the config subscription topic=%s", self.config_topic)
