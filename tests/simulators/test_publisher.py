from __future__ import annotations

import asyncio

import aiomqtt
import pytest

from simulators.publisher import BrokerOptions, Pacer, publish_store
from simulators.run import SimulationOptions, SimulationPlan, plan_simulation
from storesense.errors import BackendUnavailable
from storesense.protocol.topics import Topics
from tests.servers import Mosquitto, free_port
from tests.simulators.mqtt_helpers import Received, collect

START_MS = 1_780_000_000_000


class FakeClock:
    """Monotonic time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def test_pacer_plays_simulated_time_at_the_given_speed() -> None:
    clock = FakeClock()
    pacer = Pacer(60, START_MS, clock=clock, sleep=clock.sleep)
    assert pacer.delay(START_MS + 60_000) == pytest.approx(1.0)
    await pacer.wait_until(START_MS + 120_000)
    assert clock.sleeps == [pytest.approx(2.0)]
    await pacer.wait_until(START_MS + 90_000)  # already due: no sleep
    assert len(clock.sleeps) == 1


@pytest.mark.parametrize("speed", [0, None])
async def test_pacer_at_speed_zero_never_waits(speed: float | None) -> None:
    clock = FakeClock()
    pacer = Pacer(speed, START_MS, clock=clock, sleep=clock.sleep)
    await pacer.wait_until(START_MS + 3_600_000)
    assert clock.sleeps == [] and pacer.delay(START_MS + 10**9) == 0


def test_negative_speed_is_refused() -> None:
    with pytest.raises(ValueError, match="speed"):
        Pacer(-1, START_MS)


def small_plan(store: str, speed: float | None, duration_s: float = 900) -> SimulationPlan:
    options = SimulationOptions(
        store=store, seed=2, speed=speed, duration_s=duration_s, start_ms=START_MS
    )
    return plan_simulation(options)


def broker(mosquitto: Mosquitto) -> BrokerOptions:
    return BrokerOptions(host="127.0.0.1", port=mosquitto.port)


async def test_replay_waits_for_each_message_at_simulated_pace(mosquitto: Mosquitto) -> None:
    plan = small_plan("paced", speed=60)
    clock = FakeClock()
    counts = await publish_store(
        plan.messages,
        broker=broker(mosquitto),
        topics=Topics(),
        store="paced",
        devices=plan.scenario.devices,
        start_ms=plan.start_ms,
        end_ms=plan.scenario.truth.end_ms,
        speed=60,
        run=plan.run,
        clock=clock,
        sleep=clock.sleep,
    )
    assert counts.messages == len(plan.messages)
    last_ms = plan.messages[-1].at_ms
    assert sum(clock.sleeps) == pytest.approx((last_ms - START_MS) / 1000 / 60)
    assert len(clock.sleeps) > len(plan.messages) / 2


async def test_cancelling_a_run_leaves_every_device_offline(mosquitto: Mosquitto) -> None:
    store = "cancelled"
    plan = small_plan(store, speed=60, duration_s=3600)
    topics = Topics()
    async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="sub-cancel") as sub:
        await sub.subscribe(f"storesense/v1/{store}/+/events", qos=1)
        publishing = asyncio.create_task(
            publish_store(
                plan.messages,
                broker=broker(mosquitto),
                topics=topics,
                store=store,
                devices=plan.scenario.devices,
                start_ms=plan.start_ms,
                end_ms=plan.scenario.truth.end_ms,
                speed=60,
                run=plan.run,
            )
        )
        async with asyncio.timeout(30):
            async for _ in sub.messages:
                break  # the store is live
        publishing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await publishing

    # A newcomer gets the retained statuses: every device is offline.
    received = Received()
    async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="sub-after") as late:
        await late.subscribe(f"storesense/v1/{store}/+/status", qos=1)
        async with asyncio.timeout(10):
            await collect(late, received, set(plan.scenario.devices), topics)
    assert all(retained for _, _, retained in received.statuses)
    assert {d for d, s, _ in received.statuses if s["state"] == "offline"} == set(
        plan.scenario.devices
    )
    last_ms = plan.scenario.truth.end_ms
    assert all(START_MS <= int(str(s["ts"])) < last_ms for _, s, _ in received.statuses)


async def test_an_unreachable_broker_is_reported_with_its_address() -> None:
    plan = small_plan("nobroker", speed=0, duration_s=600)
    port = free_port()
    with pytest.raises(BackendUnavailable, match=f"127.0.0.1:{port}"):
        await publish_store(
            plan.messages,
            broker=BrokerOptions(host="127.0.0.1", port=port),
            topics=Topics(),
            store="nobroker",
            devices=plan.scenario.devices,
            start_ms=plan.start_ms,
            end_ms=plan.scenario.truth.end_ms,
            speed=0,
            run=plan.run,
        )


class CuttableProxy:
    """A TCP relay to the broker whose connections can be cut without an MQTT DISCONNECT,
    as when a device loses power: the broker must then publish the device's will."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers += [writer, up_writer]
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    def cut(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()


async def test_a_device_that_vanishes_is_marked_offline_by_its_will(
    mosquitto: Mosquitto,
) -> None:
    store = "vanished"
    plan = small_plan(store, speed=60, duration_s=3600)
    topics = Topics()
    proxy = CuttableProxy(mosquitto.port)
    proxy_port = await proxy.start()
    try:
        async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="sub-will") as sub:
            await sub.subscribe(f"storesense/v1/{store}/+/events", qos=1)
            publishing = asyncio.create_task(
                publish_store(
                    plan.messages,
                    broker=BrokerOptions(host="127.0.0.1", port=proxy_port),
                    topics=topics,
                    store=store,
                    devices=plan.scenario.devices,
                    start_ms=plan.start_ms,
                    end_ms=plan.scenario.truth.end_ms,
                    speed=60,
                    run=plan.run,
                )
            )
            async with asyncio.timeout(30):
                async for _ in sub.messages:
                    break  # the store is live
            proxy.cut()  # power cut: no DISCONNECT, no graceful offline status
            with pytest.raises(BackendUnavailable):
                async with asyncio.timeout(30):
                    await publishing
    finally:
        await proxy.stop()

    received = Received()
    async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="sub-will-2") as late:
        await late.subscribe(f"storesense/v1/{store}/+/status", qos=1)
        async with asyncio.timeout(10):
            await collect(late, received, set(plan.scenario.devices), topics)
    # Only the wills can have said so: the graceful statuses could not get through.
    offline = [s for _, s, _ in received.statuses if s["state"] == "offline"]
    assert len(offline) == len(plan.scenario.devices)
    assert all(s["ts"] == START_MS for s in offline)
