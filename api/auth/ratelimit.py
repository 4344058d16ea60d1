"""Login rate limiting: failed logins are counted per (username, client IP) in a fixed
window, and per username from any address with a larger allowance (a password guessed
from many addresses); past the limit logins answer 429 with Retry-After until the window
ends. A successful login clears its (username, IP) counter."""

from __future__ import annotations

import hashlib
import time

import msgspec

from storesense.backends.state.base import StateStore

_KEY = "auth:login-failures:"
ANY_ADDRESS_FACTOR = 4


class Failures(msgspec.Struct):
    count: int
    first_ms: int


_decoder = msgspec.json.Decoder(Failures)


def _key(username: str, ip: str | None) -> str:
    # Hashed: usernames typed at a login form are not stored in the clear.
    return _KEY + hashlib.sha256(f"{username.lower()}\x00{ip or '*'}".encode()).hexdigest()


class LoginLimiter:
    def __init__(self, state: StateStore, max_failures: int, window_s: int) -> None:
        self._state = state
        self.max_failures = max_failures
        self.window_s = window_s

    async def retry_after(self, username: str, ip: str | None) -> int:
        """Seconds until `username` may try again from `ip`; 0 when it may now."""
        now = int(time.time() * 1000)
        waits = [0]
        for key, limit in (
            (_key(username, ip), self.max_failures),
            (_key(username, None), self.max_failures * ANY_ADDRESS_FACTOR),
        ):
            raw = await self._state.get(key)
            if raw is None:
                continue
            failures = _decoder.decode(raw)
            ends = failures.first_ms + self.window_s * 1000
            if failures.count >= limit and ends > now:
                waits.append(-(-(ends - now) // 1000))
        return max(waits)

    async def failed(self, username: str, ip: str | None) -> None:
        now = int(time.time() * 1000)

        def count(raw: bytes | None) -> tuple[bytes | None, None]:
            old = None if raw is None else _decoder.decode(raw)
            if old is None or old.first_ms + self.window_s * 1000 <= now:
                return msgspec.json.encode(Failures(1, now)), None
            return msgspec.json.encode(Failures(old.count + 1, old.first_ms)), None

        for key in (_key(username, ip), _key(username, None)):
            await self._state.update(key, count, ttl_s=self.window_s)

    async def succeeded(self, username: str, ip: str | None) -> None:
        await self._state.update(_key(username, ip), lambda _old: (None, None))
