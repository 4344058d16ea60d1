"""Keep the identity directory in step with the registries in the state store.

Registry versions are checked at most every `check_interval_s`; a changed registry is
rebuilt off the event loop (large registries take seconds) and swapped in whole.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from ingest.heap import freeze_long_lived
from ingest.identity import Directory, MemberDirectory, eids_for_window
from storesense.backends.state.base import StateStore
from storesense.protocol.eid import window_of
from storesense.registry import stored
from storesense.registry.members import Member
from storesense.registry.products import Product
from storesense.registry.staff import StaffMember

log = logging.getLogger(__name__)

# Below this many app keys a table builds in well under a second: a thread will do.
_PROCESS_POOL_FROM = 50_000


class DirectoryCache:
    def __init__(
        self,
        state: StateStore,
        check_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self._interval = check_interval_s
        self._clock = clock
        self._directory = Directory()
        self._versions: tuple[int, ...] | None = None
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()
        self._wall_clock = wall_clock
        self._preparing: asyncio.Future[None] | None = None
        self._pool: ProcessPoolExecutor | None = None

    async def current(self) -> Directory:
        if self._clock() - self._checked_at >= self._interval:
            await self.refresh()
            self._prepare_windows()
        return self._directory

    def _prepare_windows(self) -> None:
        """Build the rotating-ID tables of this window and the next before sightings need
        them, so no lookup pays for a build on the event loop. The hashing (seconds for a
        large registry) runs in another process, not to hold this one's GIL."""
        if self._preparing is not None and not self._preparing.done():
            return
        window = window_of(self._wall_clock())
        members = self._directory.members
        missing = [w for w in (window, window + 1) if not members.is_prepared(w)]
        if missing:
            self._preparing = asyncio.ensure_future(self._build(members, missing))

    async def _build(self, members: MemberDirectory, windows: list[int]) -> None:
        loop = asyncio.get_running_loop()
        for window in windows:
            keys = members.app_keys
            if len(keys) >= _PROCESS_POOL_FROM:
                if self._pool is None:
                    self._pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"))
                eids = await loop.run_in_executor(self._pool, eids_for_window, keys, window)
                await asyncio.to_thread(members.install, window, eids)
            else:
                await asyncio.to_thread(members.prepare, window)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def refresh(self) -> None:
        async with self._lock:
            self._checked_at = self._clock()
            versions = await stored.versions(self._state)
            if versions == self._versions:
                return
            members = await stored.load(self._state, Member)
            staff = await stored.load(self._state, StaffMember)
            products = await stored.load(self._state, Product)
            self._directory = await asyncio.to_thread(Directory, members, staff, products)
            self._versions = versions
            log.info(
                "directory loaded members=%d recognizable=%d staff=%d products=%d",
                len(members), len(self._directory.members), len(staff), len(products),
            )  # fmt: skip
            # Out of the collector's sight: a large directory made each full pass long.
            freeze_long_lived("directory", collect=False)
