"""PointSpool: a bounded FIFO of points on disk that outlives its process."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storesense.backends.timeseries import Point, PointSpool, SpoolError
from storesense.backends.timeseries.spool import ROW_OVERHEAD_BYTES, spooled_size
from tests.backends.timeseries_helpers import (
    BASE_NS,
    NUMBERED,
    batch,
    numbers,
    points,
    typed_all,
)

T0 = BASE_NS
M = NUMBERED


async def everything(spool: PointSpool) -> list[Point]:
    return (await spool.read(10**9)).points


async def test_points_come_back_oldest_first_with_their_types(tmp_path: Path) -> None:
    mixed = Point(M, {"store": "s1", "door": "a b,c"}, {"i": 2, "f": 2.0, "b": True, "s": "2"}, T0)
    async with PointSpool(tmp_path / "spool.sqlite") as spool:
        await spool.append(batch(0, 3))
        await spool.append([mixed, *batch(3, 2)])
        assert typed_all(await everything(spool)) == typed_all([*batch(0, 3), mixed, *batch(3, 2)])
        assert spool.count == 6

        oldest = await spool.read(4)
        assert (oldest.rows, oldest.unreadable) == (4, 0)
        await spool.remove(oldest)
        assert numbers(await everything(spool)) == [3, 4]
        assert spool.count == 2
        assert spool.bytes == sum(spooled_size(point) for point in batch(3, 2))


async def test_reading_does_not_remove(tmp_path: Path) -> None:
    async with PointSpool(tmp_path / "spool.sqlite") as spool:
        await spool.append(batch(0, 5))
        assert numbers((await spool.read(2)).points) == [0, 1]
        assert numbers((await spool.read(2)).points) == [0, 1]
        assert spool.count == 5


async def test_points_survive_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "spool.sqlite"  # parent dirs are created
    async with PointSpool(path) as spool:
        await spool.append(batch(0, 10))
        await spool.remove(await spool.read(3))
    async with PointSpool(path) as reopened:
        assert (reopened.count, reopened.bytes) == (7, spool.bytes)
        assert numbers(await everything(reopened)) == list(range(3, 10))
        await reopened.append(batch(10, 1))
        assert numbers(await everything(reopened)) == list(range(3, 11))


async def test_a_full_spool_drops_the_oldest_counts_them_and_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    size = spooled_size(batch(0, 1)[0])
    path = tmp_path / "spool.sqlite"
    async with PointSpool(path, max_bytes=10 * size) as spool:
        assert await spool.append(batch(0, 8)) == 0
        with caplog.at_level(logging.WARNING):
            assert await spool.append(batch(8, 5)) == 3
        assert numbers(await everything(spool)) == list(range(3, 13))
        assert (spool.count, spool.bytes, spool.dropped_total) == (10, 10 * size, 3)
        assert "timeseries_spool_full dropped=3 dropped_total=3" in caplog.text
    async with PointSpool(path, max_bytes=10 * size) as reopened:
        assert reopened.dropped_total == 3  # kept in the file
        assert await reopened.append(batch(13, 1)) == 1
        assert reopened.dropped_total == 4


async def test_an_append_larger_than_the_bound_keeps_its_newest_points(tmp_path: Path) -> None:
    size = spooled_size(batch(0, 1)[0])
    async with PointSpool(tmp_path / "spool.sqlite", max_bytes=3 * size + 1) as spool:
        assert await spool.append(batch(0, 10)) == 7
        assert numbers(await everything(spool)) == [7, 8, 9]


async def test_a_spool_in_use_cannot_be_opened_again(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite"
    async with PointSpool(path):
        with pytest.raises(SpoolError, match="in use by another process"):
            await PointSpool(path).open()
    async with PointSpool(path) as reopened:  # free again once closed
        assert reopened.count == 0


async def test_a_spool_that_cannot_be_created_says_where(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SpoolError, match=str(blocker)):
        await PointSpool(blocker / "spool.sqlite").open()


async def test_unreadable_rows_are_reported_and_removed_with_their_batch(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite"
    async with PointSpool(path) as spool:
        await spool.append(batch(0, 2))
    with sqlite3.connect(path) as db:  # a row written by something else
        db.execute("INSERT INTO points (body) VALUES (x'c1')")
        db.execute(
            f"UPDATE totals SET points = points + 1, bytes = bytes + {1 + ROW_OVERHEAD_BYTES}"
        )
    db.close()
    async with PointSpool(path) as spool:
        await spool.append(batch(2, 1))
        read = await spool.read(10)
        assert (numbers(read.points), read.rows, read.unreadable) == ([0, 1, 2], 4, 1)
        await spool.remove(read)
        assert (spool.count, spool.bytes) == (0, 0)


async def test_an_emptied_spool_gives_its_disk_space_back(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite"
    async with PointSpool(path) as spool:
        big = [Point(M, {"store": "s1"}, {"s": "x" * 2000}, T0 + i) for i in range(2000)]
        await spool.append(big)
        full = disk_usage(path)
        while spool.count:
            await spool.remove(await spool.read(500))
        emptied = disk_usage(path)
    assert full > 4_000_000
    assert emptied < full / 10


def disk_usage(path: Path) -> int:
    return sum(file.stat().st_size for file in path.parent.glob(f"{path.name}*"))


async def test_a_closed_spool_refuses_work(tmp_path: Path) -> None:
    spool = PointSpool(tmp_path / "spool.sqlite")
    with pytest.raises(RuntimeError, match="not open"):
        await spool.append(batch(0, 1))


# A model of the spool: appends at the end, reads and removes at the front, reopens keep all.
operations = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.lists(points(M), min_size=1, max_size=12)),
        st.tuples(st.just("remove"), st.integers(min_value=1, max_value=10)),
        st.tuples(st.just("reopen"), st.none()),
    ),
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(operations, st.integers(min_value=200, max_value=3000))
def test_the_spool_is_a_bounded_fifo_that_accounts_for_every_point(
    ops: list[tuple[str, object]], max_bytes: int
) -> None:
    asyncio.run(check_against_model(ops, max_bytes))


async def check_against_model(ops: list[tuple[str, object]], max_bytes: int) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "spool.sqlite"
        spool = PointSpool(path, max_bytes=max_bytes)
        await spool.open()
        model: list[Point] = []
        appended = removed = dropped = 0
        try:
            for action, argument in ops:
                if action == "append":
                    assert isinstance(argument, list)
                    model += argument
                    appended += len(argument)
                    lost = await spool.append(argument)
                    # The fewest oldest points: without the last of them it would not fit.
                    kept = sum(spooled_size(point) for point in model[lost:])
                    assert kept <= max_bytes
                    if lost:
                        assert kept + spooled_size(model[lost - 1]) > max_bytes
                    del model[:lost]
                    dropped += lost
                elif action == "remove":
                    assert isinstance(argument, int)
                    read = await spool.read(argument)
                    assert typed_all(read.points) == typed_all(model[:argument])
                    await spool.remove(read)
                    del model[:argument]
                    removed += read.rows
                else:
                    await spool.close()
                    spool = PointSpool(path, max_bytes=max_bytes)
                    await spool.open()
                assert typed_all(await everything(spool)) == typed_all(model)
                assert spool.count == len(model)
                assert spool.bytes == sum(spooled_size(point) for point in model)
                assert spool.dropped_total == dropped
                assert appended == spool.count + removed + spool.dropped_total
        finally:
            await spool.close()
