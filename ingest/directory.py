"""Keep the member directory in step with the registry in the state store.

The registry version is checked at most every `check_interval_s`; a changed registry is
rebuilt off the event loop (large registries take seconds) and swapped in whole.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ingest.identity import MemberDirectory
from storesense.backends.state.base import StateStore

log = logging.getLogger(__name__)


class DirectoryCache:
    def __init__(
        self,
        state: StateStore,
        check_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._state = state
        self._interval = check_interval_s
        self._clock = clock
        self._directory = MemberDirectory([])
        self._version: int | None = None
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()

    async def current(self) -> MemberDirectory:
        if self._clock() - self._checked_at >= self._interval:
            await self.refresh()
        return self._directory

    async def refresh(self) -> None:
        async with self._lock:
            self._checked_at = self._clock()
            version = await self._state.members_version()
            if version == self._version:
                return
            members = await self._state.members()
            self._directory = await asyncio.to_thread(MemberDirectory, members)
            self._version = version
            log.info(
                "member directory loaded version=%d members=%d recognizable=%d",
                version, len(members), len(self._directory),
            )  # fmt: skip
