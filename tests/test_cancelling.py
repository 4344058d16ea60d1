"""A task that swallows a cancellation (as Python 3.11's wait_for can) is still stopped."""

from __future__ import annotations

import asyncio

import pytest

from storesense.cancelling import cancel_and_wait


async def _swallows_first_cancel(cancels: list[int]) -> None:
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancels.append(1)
            if len(cancels) > 1:
                raise


async def test_a_task_that_swallowed_a_cancel_is_cancelled_again_until_it_ends() -> None:
    cancels: list[int] = []
    task = asyncio.create_task(_swallows_first_cancel(cancels))
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait(task, retry_s=0.05), timeout=5)
    assert task.cancelled() and len(cancels) == 2


async def test_a_single_cancel_leaves_such_a_task_running() -> None:
    # What the helper is for: one cancel and a wait never end.
    cancels: list[int] = []
    task = asyncio.create_task(_swallows_first_cancel(cancels))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(task), timeout=0.2)
    assert not task.done() and cancels == [1]
    await cancel_and_wait(task, retry_s=0.05)


async def test_what_the_tasks_raised_is_not_raised_and_finished_ones_are_left_alone() -> None:
    async def fails() -> None:
        raise ValueError("boom")

    failed = asyncio.create_task(fails())
    done = asyncio.create_task(asyncio.sleep(0))
    await asyncio.sleep(0.01)
    await cancel_and_wait(failed, done)
    assert isinstance(failed.exception(), ValueError) and done.result() is None
