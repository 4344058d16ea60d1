"""The background-round loop: survives failing rounds, stops when cancelled even if a
round swallowed the cancellation."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from storesense.errors import BackendUnavailable
from storesense.periodic import every


async def test_failing_rounds_are_logged_and_the_next_round_comes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds = 0
    fourth = asyncio.Event()

    async def step() -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise BackendUnavailable("redis down")
        if rounds == 2:
            raise ValueError("a bad document")
        if rounds == 4:
            fourth.set()

    task = asyncio.create_task(every(0.01, step, "test round"))
    await asyncio.wait_for(fourth.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    assert "test round failed error=redis down" in caplog.text
    assert "a bad document" in caplog.text


async def test_a_cancellation_swallowed_inside_a_round_still_stops_the_loop() -> None:
    started = asyncio.Event()

    async def swallowing_step() -> None:
        started.set()
        with contextlib.suppress(asyncio.CancelledError):  # as a client library may do
            await asyncio.sleep(10)

    task = asyncio.create_task(every(0.01, swallowing_step, "test round"))
    await started.wait()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2)
    assert task in done and task.cancelled()


async def test_wait_first_waits_one_interval_before_the_first_round() -> None:
    calls: list[float] = []
    loop = asyncio.get_running_loop()
    began = loop.time()

    async def step() -> None:
        calls.append(loop.time() - began)

    task = asyncio.create_task(every(0.2, step, "test round", wait_first=True))
    await asyncio.sleep(0.1)
    assert calls == []
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert len(calls) == 1
