"""One failing or slow channel never delays or loses alerts on the others."""

from __future__ import annotations

import asyncio
import time

from rules.delivery.dispatcher import Dispatcher
from storesense.protocol.alerts import Alert


def alert(n: int) -> Alert:
    return Alert(id=f"{n:04d}", store="s1", type="t", ts=1, state="open", title="t", body="b")


class Recording:
    def __init__(self, name: str, fail_first: int = 0, delay_s: float = 0.0) -> None:
        self.name = name
        self.fail_first = fail_first
        self.delay_s = delay_s
        self.attempts = 0
        self.received: list[tuple[str, float]] = []

    async def deliver(self, alert: Alert) -> None:
        self.attempts += 1
        if self.attempts <= self.fail_first:
            raise ConnectionError("receiver down")
        await asyncio.sleep(self.delay_s)
        self.received.append((alert.id, time.monotonic()))


async def test_failing_channel_retries_and_delivers_once_while_others_are_not_delayed() -> None:
    flaky = Recording("webhook", fail_first=2)
    slow = Recording("slow", delay_s=0.5)
    fast = Recording("mqtt")
    started = time.monotonic()
    async with Dispatcher([flaky, slow, fast], backoff_s=0.05) as dispatcher:
        dispatcher.publish(alert(1))
        await dispatcher.drain()
    assert [a for a, _ in flaky.received] == ["0001"] and flaky.attempts == 3
    assert dispatcher.counters["webhook"].retried == 2
    assert fast.received[0][1] - started < 0.1  # not held up by the failing or the slow one
    assert [a for a, _ in slow.received] == ["0001"]


async def test_channel_that_never_recovers_gives_up_and_counts() -> None:
    dead = Recording("dead", fail_first=10**6)
    async with Dispatcher([dead], max_attempts=3, backoff_s=0.01) as dispatcher:
        dispatcher.publish(alert(1))
        await dispatcher.drain()
    assert dead.attempts == 3
    assert dispatcher.counters["dead"].dropped == 1 and dead.received == []


async def test_full_queue_drops_and_counts_instead_of_blocking() -> None:
    slow = Recording("slow", delay_s=0.2)
    async with Dispatcher([slow], queue_size=2) as dispatcher:
        for n in range(5):
            dispatcher.publish(alert(n))  # never blocks
        await dispatcher.drain()
    assert dispatcher.counters["slow"].dropped >= 2
    assert len(slow.received) + dispatcher.counters["slow"].dropped == 5


class SwallowsCancel:
    """A channel whose client drops a cancellation (as 3.11's wait_for can when the reply
    arrives at the same moment) and finishes its delivery."""

    name = "swallowing"

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def deliver(self, alert: Alert) -> None:
        self.started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            assert current is not None
            current.uncancel()


async def test_shutdown_does_not_hang_on_a_channel_that_swallows_its_cancellation() -> None:
    channel = SwallowsCancel()
    async with asyncio.timeout(2):
        async with Dispatcher([channel]) as dispatcher:
            dispatcher.publish(alert(1))
            await channel.started.wait()
