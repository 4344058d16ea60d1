"""Load for the ingest benchmark: the device workload, a publisher that runs in its own
process, and the subscriber that timestamps alerts.

The publisher keeps its own window of unacknowledged QoS 1 messages and leaves paho's
in-flight limit at 0 (unlimited): with a limit set, paho rescans every in-flight message on
each PUBACK (`Client._update_inflight`), which at a window of 1000 costs the publisher more
CPU than the service under test spends on the message.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from storesense.protocol.events import (
    AnyEvent,
    BeaconSighting,
    DoorCrossing,
    RfidTag,
    encode_events,
)
from storesense.registry.members import Member, members_to_csv

# (device, event type, share of events). Batches come from one device, as real readers send.
DEVICES: tuple[tuple[str, str, float], ...] = (
    ("door-1", "door.crossing", 0.05),
    ("door-2", "door.crossing", 0.05),
    ("rfid-fitting-1", "rfid.tag", 0.15),
    ("rfid-fitting-2", "rfid.tag", 0.15),
    ("rfid-floor-1", "rfid.tag", 0.15),
    ("ble-1", "beacon.sighting", 0.25),
    ("ble-2", "beacon.sighting", 0.20),
)
PROBE_DEVICE = "rfid-entrance"
PROBE_ZONE = "entrance"


# --- workload ----------------------------------------------------------------------------


def bench_members(count: int, seed: int) -> list[Member]:
    """`count` consenting members, each with one loyalty-card EPC and an app key."""
    rng = random.Random(seed)
    return [
        Member(
            member_id=f"m{index:06d}",
            name=f"Bench Member {index}",
            tier=rng.choice(("classic", "silver", "gold")),
            consent=True,
            card_epcs=(f"e2801190{rng.getrandbits(64):016x}",),
            app_key=f"{rng.getrandbits(128):032x}",
        )
        for index in range(count)
    ]


def members_csv(members: list[Member]) -> str:
    return members_to_csv(members)


def _event(kind: str, event_id: str, ts_ms: int, rng: random.Random) -> AnyEvent:
    if kind == "door.crossing":
        return DoorCrossing(
            id=event_id, ts=ts_ms, direction=rng.choice(("in", "out")), count=rng.randint(1, 3)
        )
    if kind == "rfid.tag":
        return RfidTag(
            id=event_id,
            ts=ts_ms,
            epc=f"30{rng.getrandbits(88):022x}",  # 24 hex digits, garment-like
            action=rng.choice(("enter", "leave")),
            zone=f"zone-{rng.randint(1, 4)}",
            antenna=rng.randint(0, 3),
            rssi=round(rng.uniform(-75, -35), 1),
        )
    return BeaconSighting(
        id=event_id,
        ts=ts_ms,
        beacon=f"{rng.getrandbits(64):016x}",  # a rotating app id no member owns
        rssi=rng.randint(-95, -40),
        zone=f"zone-{rng.randint(1, 4)}",
    )


def device_messages(
    *, events: int, per_message: int, tag: str, seed: int, start_ms: int, root: str, store: str
) -> list[tuple[str, bytes]]:
    """`events` unique events as (topic, payload) messages of `per_message` events each
    (1: a single JSON object; more: a JSON array from one device).

    Event times step one millisecond per event from `start_ms`: two distinct events of one
    series in one millisecond could land on the same time-series point (the ns offset is a
    hash of device and id), and the point count must equal the event count."""
    rng = random.Random(seed)
    weights = [share for _, _, share in DEVICES]
    messages: list[tuple[str, bytes]] = []
    made = 0
    while made < events:
        device, kind, _ = rng.choices(DEVICES, weights)[0]
        size = min(per_message, events - made)
        batch = [_event(kind, f"{tag}-{made + i}", start_ms + made + i, rng) for i in range(size)]
        payload = encode_events(batch[0] if per_message == 1 else batch)
        messages.append((f"{root}/v1/{store}/{device}/events", payload))
        made += size
    return messages


def probe_message(root: str, store: str, tag: str, index: int, epc: str) -> tuple[str, bytes]:
    """A member's card read at the entrance, stamped now: it starts a visit, so the
    `member.arrived` rule raises exactly one alert for it."""
    event = RfidTag(
        id=f"{tag}-probe-{index}",
        ts=int(time.time() * 1000),
        epc=epc,
        action="enter",
        zone=PROBE_ZONE,
    )
    return f"{root}/v1/{store}/{PROBE_DEVICE}/events", encode_events(event)


# --- publisher process -------------------------------------------------------------------


@dataclass(frozen=True)
class PublishJob:
    host: str
    port: int
    root: str
    store: str
    tag: str
    seed: int
    events: int  # background events in all
    per_message: int
    window: int  # unacknowledged QoS 1 messages allowed
    rate: float | None = None  # background events/s; None = as fast as the window allows
    probes: tuple[tuple[str, str], ...] = ()  # (member_id, card EPC), spread over the run


@dataclass
class PublishResult:
    first_publish: float = 0.0  # time.monotonic(), comparable across processes on Linux
    last_publish: float = 0.0
    all_acked: float = 0.0
    messages: int = 0
    events: int = 0
    cpu_s: float = 0.0
    probe_sent: dict[str, float] = field(default_factory=dict)  # member_id -> monotonic
    error: str | None = None


class _WindowedPublisher:
    def __init__(self, host: str, port: int, window: int) -> None:
        self._slots = threading.BoundedSemaphore(window)
        self._acked = 0
        self._all_acked = threading.Event()
        self._expected: int | None = None
        self._lock = threading.Lock()
        self.last_ack = 0.0
        self._connected = threading.Event()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}", clean_session=True
        )
        self.client.max_inflight_messages_set(0)  # unlimited: the semaphore is the window
        self.client.max_queued_messages_set(0)
        self.client.on_publish = self._on_publish
        self.client.on_connect = lambda *_: self._connected.set()
        self.client.connect(host, port, keepalive=60)
        self.client.loop_start()
        if not self._connected.wait(15):
            raise RuntimeError(f"publisher could not connect to {host}:{port}")

    def _on_publish(self, *_: object) -> None:
        self._slots.release()
        with self._lock:
            self._acked += 1
            self.last_ack = time.monotonic()
            if self._expected is not None and self._acked >= self._expected:
                self._all_acked.set()

    def publish(self, topic: str, payload: bytes) -> None:
        self._slots.acquire()
        self.client.publish(topic, payload, qos=1)

    def wait_all_acked(self, total: int, timeout: float) -> bool:
        with self._lock:
            self._expected = total
            if self._acked >= total:
                self._all_acked.set()
        return self._all_acked.wait(timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _schedule(job: PublishJob, messages: int) -> Iterator[tuple[float, int, int]]:
    """(offset_s, kind, index) in time order; kind 0 = background message, 1 = probe."""
    if job.rate is None:
        yield from ((0.0, 0, i) for i in range(messages))
        return
    duration = job.events / job.rate
    items = [(i * job.per_message / job.rate, 0, i) for i in range(messages)]
    step = duration / max(1, len(job.probes))
    items += [((j + 0.5) * step, 1, j) for j in range(len(job.probes))]
    yield from sorted(items)


def publisher_main(job: PublishJob, conn: Connection) -> None:
    """Process entry point: connect, build the messages, say "ready", wait for "go",
    publish, then send back a PublishResult."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns shutdown
    result = PublishResult()
    publisher: _WindowedPublisher | None = None
    try:
        publisher = _WindowedPublisher(job.host, job.port, job.window)
        background = device_messages(
            events=job.events,
            per_message=job.per_message,
            tag=job.tag,
            seed=job.seed,
            start_ms=int(time.time() * 1000) - job.events,
            root=job.root,
            store=job.store,
        )
        conn.send("ready")
        if conn.recv() != "go":
            return
        cpu0 = time.process_time()
        start = result.first_publish = time.monotonic()
        for offset, kind, index in _schedule(job, len(background)):
            if job.rate is not None:
                delay = start + offset - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if kind == 0:
                publisher.publish(*background[index])
            else:
                member_id, epc = job.probes[index]
                topic, payload = probe_message(job.root, job.store, job.tag, index, epc)
                result.probe_sent[member_id] = time.monotonic()
                publisher.publish(topic, payload)
            result.messages += 1
        result.last_publish = time.monotonic()
        result.events = job.events + len(job.probes)
        if not publisher.wait_all_acked(result.messages, timeout=120):
            result.error = "not every message was acknowledged within 120 s"
        result.all_acked = publisher.last_ack
        result.cpu_s = time.process_time() - cpu0
    except Exception as exc:  # reported to the parent, which fails the run
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        if publisher is not None:
            publisher.close()
        conn.send(result)


# --- alert subscriber --------------------------------------------------------------------


class AlertSubscriber:
    """Receives `member.arrived` alerts and notes when each member's first one arrived."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        self.received: dict[str, float] = {}  # member_id -> monotonic
        self.other = 0
        self._subscribed = threading.Event()
        self._topic = topic
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-alerts-{os.getpid()}"
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = self._on_message
        self._client.connect(host, port, keepalive=60)
        self._client.loop_start()
        if not self._subscribed.wait(15):
            self.stop()
            raise RuntimeError(f"alert subscriber could not subscribe on {host}:{port}")

    def _on_connect(self, client: paho.Client, *_: object) -> None:
        client.subscribe(self._topic, qos=1)

    def _on_message(
        self, _client: paho.Client, _userdata: object, message: paho.MQTTMessage
    ) -> None:
        now = time.monotonic()
        alert = json.loads(message.payload)
        member = (alert.get("member") or {}).get("id")
        if alert.get("type") == "member.arrived" and member:
            self.received.setdefault(member, now)
        else:
            self.other += 1

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
