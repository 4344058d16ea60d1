"""Publish a simulated store's messages to an MQTT broker, paced like the real thing.

One MQTT client per device, as in a real store, so each device has its own last will
(a retained `offline` status). On start each device publishes a retained `online` status;
at the end, or when cancelled, a retained `offline` one. Events go out at QoS 1 on the
device's `events` topic, at simulated pace: `speed` 60 plays one simulated minute per real
second; `speed` 0 or None publishes as fast as the broker acknowledges.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt

from simulators.batching import Message
from storesense.errors import BackendUnavailable
from storesense.protocol.events import DeviceStatus, encode_status
from storesense.protocol.topics import Topics

log = logging.getLogger(__name__)

QOS = 1
SIMULATOR_VERSION = "storesense-sim/0.1"
_MAX_IN_FLIGHT = 64  # unacknowledged QoS 1 publishes per device at full speed
_PROGRESS_EVERY_S = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerOptions:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None  # TLS only; None = the system's trusted CAs
    client_id_prefix: str = "storesense-sim"


@dataclass(slots=True)
class PublishCounts:
    messages: int = 0
    events: int = 0
    status_messages: int = 0
    events_by_device: dict[str, int] = field(default_factory=dict)
    sim_ms: int = 0  # simulated time of the latest message sent


class Pacer:
    """Maps simulated time to wall-clock time: waits until a simulated moment is due."""

    def __init__(
        self,
        speed: float | None,
        origin_ms: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if speed is not None and speed < 0:
            raise ValueError(f"speed must be >= 0 (0 = as fast as possible), got {speed}")
        self.speed = speed or None
        self.origin_ms = origin_ms
        self._clock = clock
        self._sleep = sleep
        self._started = clock()

    def delay(self, at_ms: int) -> float:
        """Seconds of wall-clock time until simulated `at_ms` is due (<= 0: already due)."""
        if self.speed is None:
            return 0.0
        due = self._started + (at_ms - self.origin_ms) / 1000 / self.speed
        return due - self._clock()

    async def wait_until(self, at_ms: int) -> None:
        delay = self.delay(at_ms)
        if delay > 0:
            await self._sleep(delay)


async def publish_store(
    messages: Sequence[Message],
    *,
    broker: BrokerOptions,
    topics: Topics,
    store: str,
    devices: Mapping[str, str],
    start_ms: int,
    end_ms: int,
    speed: float | None,
    run: str,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> PublishCounts:
    """Announce `devices` (device -> kind) online, replay `messages`, announce them offline.

    `start_ms`/`end_ms` are the simulated times of the online and offline statuses; `run`
    makes client identifiers unique per run.
    """
    counts = PublishCounts(events_by_device=dict.fromkeys(devices, 0))
    async with AsyncExitStack() as stack:
        clients: dict[str, aiomqtt.Client] = {}
        for device, kind in devices.items():
            client = _client(broker, topics, store, device, kind, start_ms, run)
            try:
                clients[device] = await stack.enter_async_context(client)
            except aiomqtt.MqttError as exc:
                raise BackendUnavailable(
                    f"cannot connect to MQTT broker {broker.host}:{broker.port} as {device}: "
                    f"{exc}; is it running, and are the credentials and TLS setting right?"
                ) from exc
        finished = False
        try:
            for device, kind in devices.items():
                status = DeviceStatus(
                    state="online", ts=start_ms, kind=kind, version=SIMULATOR_VERSION
                )
                await clients[device].publish(
                    topics.status(store, device), encode_status(status), qos=QOS, retain=True
                )
                counts.status_messages += 1
            log.info(
                "sim.start store=%s devices=%d messages=%d speed=%s",
                store,
                len(devices),
                len(messages),
                speed or "max",
            )
            pacer = Pacer(speed, start_ms, clock=clock, sleep=sleep)
            await _replay(messages, clients, topics, store, counts, pacer, clock)
            finished = True
        except aiomqtt.MqttError as exc:  # from the status publishes; _replay converts its own
            raise BackendUnavailable(f"publishing device status failed: {exc}") from exc
        finally:
            # Also on cancellation: a clean disconnect does not fire the will.
            offline_ms = end_ms if finished else max(start_ms, counts.sim_ms)
            await _announce_offline(clients, topics, store, devices, offline_ms, counts)
    log.info("sim.done store=%s messages=%d events=%d", store, counts.messages, counts.events)
    return counts


async def _replay(
    messages: Sequence[Message],
    clients: Mapping[str, aiomqtt.Client],
    topics: Topics,
    store: str,
    counts: PublishCounts,
    pacer: Pacer,
    clock: Callable[[], float],
) -> None:
    in_flight = {device: asyncio.Semaphore(_MAX_IN_FLIGHT) for device in clients}
    next_progress = clock() + _PROGRESS_EVERY_S

    async def send(message: Message) -> None:
        try:
            await clients[message.device].publish(
                topics.events(store, message.device), message.payload, qos=QOS
            )
        finally:
            in_flight[message.device].release()
        counts.messages += 1
        counts.events += len(message.events)
        counts.events_by_device[message.device] += len(message.events)
        counts.sim_ms = max(counts.sim_ms, message.at_ms)

    try:
        async with asyncio.TaskGroup() as group:
            for message in messages:
                await pacer.wait_until(message.at_ms)
                await in_flight[message.device].acquire()
                # Tasks start in creation order and hand the message to paho before their
                # first await, so each device's messages reach the broker in order.
                group.create_task(send(message))
                if clock() >= next_progress:
                    next_progress = clock() + _PROGRESS_EVERY_S
                    log.info(
                        "sim.progress store=%s messages=%d/%d events=%d sim_ms=%d",
                        store,
                        counts.messages,
                        len(messages),
                        counts.events,
                        message.at_ms,
                    )
    except* aiomqtt.MqttError as errors:
        raise BackendUnavailable(
            f"publishing to the MQTT broker failed after {counts.messages} messages: "
            f"{errors.exceptions[0]}"
        ) from errors.exceptions[0]


async def _announce_offline(
    clients: Mapping[str, aiomqtt.Client],
    topics: Topics,
    store: str,
    devices: Mapping[str, str],
    ts_ms: int,
    counts: PublishCounts,
) -> None:
    for device, client in clients.items():
        status = DeviceStatus(
            state="offline", ts=ts_ms, kind=devices[device], version=SIMULATOR_VERSION
        )
        try:
            async with asyncio.timeout(5):
                await client.publish(
                    topics.status(store, device), encode_status(status), qos=QOS, retain=True
                )
            counts.status_messages += 1
        except (aiomqtt.MqttError, TimeoutError) as exc:
            # The broker is gone or unresponsive; the will covers an abrupt end.
            log.warning("sim.offline_failed store=%s device=%s error=%s", store, device, exc)


def _client(
    broker: BrokerOptions,
    topics: Topics,
    store: str,
    device: str,
    kind: str,
    start_ms: int,
    run: str,
) -> aiomqtt.Client:
    # A will's payload is fixed when the client connects, so its `ts` is the run's start.
    will = aiomqtt.Will(
        topics.status(store, device),
        encode_status(
            DeviceStatus(state="offline", ts=start_ms, kind=kind, version=SIMULATOR_VERSION)
        ),
        qos=QOS,
        retain=True,
    )
    tls_context = None
    if broker.tls:
        cafile = str(broker.ca_file) if broker.ca_file is not None else None
        tls_context = ssl.create_default_context(cafile=cafile)
    client = aiomqtt.Client(
        broker.host,
        broker.port,
        username=broker.username,
        password=broker.password,
        identifier=f"{broker.client_id_prefix}-{store}-{device}-{run}",
        will=will,
        tls_context=tls_context,
    )
    # We keep up to _MAX_IN_FLIGHT publishes pending on purpose; don't warn about them.
    client.pending_calls_threshold = _MAX_IN_FLIGHT + 1
    return client
