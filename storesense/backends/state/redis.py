"""Redis state, shared by any number of ingest workers and API processes.

Atomicity: dedupe is `SET NX EX` per key; documents change by optimistic transactions
(WATCH/MULTI), alert trimming by a Lua script, so two workers handling events of one
visit or fitting room never interleave their updates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from storesense.backends.state.base import (
    DeviceRecord,
    EventKey,
    T,
    Transition,
)
from storesense.errors import BackendUnavailable
from storesense.protocol.alerts import Alert

# KEYS: event keys. ARGV: ttl. One round trip and one reply for a whole batch.
_CLAIM_EVENTS = """
local fresh = {}
for i, key in ipairs(KEYS) do
  fresh[i] = redis.call('SET', key, '1', 'NX', 'EX', ARGV[1]) and 1 or 0
end
return fresh
"""

# KEYS: store index, global index, alert hash. ARGV: id, json, keep.
_ADD_ALERT = """
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if excess > 0 then
  local old = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
  redis.call('ZREM', KEYS[1], unpack(old))
  redis.call('ZREM', KEYS[2], unpack(old))
  redis.call('HDEL', KEYS[3], unpack(old))
end
return 1
"""

_MAX_UPDATE_ATTEMPTS = 100

_device_decoder = msgspec.json.Decoder(DeviceRecord)
_alert_decoder = msgspec.json.Decoder(Alert)
_encode = msgspec.json.Encoder().encode


class RedisState:
    """StateStore on Redis; keys start with `prefix:`."""

    def __init__(self, url: str, prefix: str = "storesense") -> None:
        self._url = url
        self._redis = aioredis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        self._p = prefix
        self._add_alert = self._redis.register_script(_ADD_ALERT)
        self._claim_events = self._redis.register_script(_CLAIM_EVENTS)

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        try:
            yield
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise BackendUnavailable(f"Redis at {self._url} is unreachable: {exc}") from exc

    async def claim_events(self, keys: Sequence[EventKey], ttl_s: int) -> list[bool]:
        if not keys:
            return []
        names = [f"{self._p}:seen:{store}:{device}:{event_id}" for store, device, event_id in keys]
        async with self._guard():
            # A script touching many keys suits one Redis; on Redis Cluster, batches would
            # have to be split by hash slot.
            results = await self._claim_events(keys=names, args=[ttl_s])
        return [bool(result) for result in results]

    async def put_device(self, record: DeviceRecord) -> None:
        async with self._guard():
            await self._redis.hset(
                f"{self._p}:devices", f"{record.store}/{record.device}", _encode(record)
            )

    async def devices(self, store: str | None = None) -> list[DeviceRecord]:
        async with self._guard():
            raw: dict[bytes | str, bytes | str] = await self._redis.hgetall(f"{self._p}:devices")
        records = [_device_decoder.decode(value) for value in raw.values()]
        return sorted(
            (r for r in records if store is None or r.store == store),
            key=lambda r: (r.store, r.device),
        )

    async def put_records(self, kind: str, records: Mapping[str, bytes]) -> int:
        items = list(records.items())
        async with self._guard():
            pipe = self._redis.pipeline(transaction=True)
            for start in range(0, len(items), 1000):
                pipe.hset(f"{self._p}:records:{kind}", mapping=dict(items[start : start + 1000]))
            pipe.incr(f"{self._p}:records:{kind}:version")
            results = await pipe.execute()
        return int(results[-1])

    async def records(self, kind: str) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        async with self._guard():
            async for key, value in self._redis.hscan_iter(f"{self._p}:records:{kind}", count=5000):
                found[key.decode()] = value
        return found

    async def record(self, kind: str, record_id: str) -> bytes | None:
        async with self._guard():
            return _raw(await self._redis.hget(f"{self._p}:records:{kind}", record_id))

    async def records_version(self, kind: str) -> int:
        async with self._guard():
            raw = await self._redis.get(f"{self._p}:records:{kind}:version")
        return int(raw or 0)

    async def add_alert(self, alert: Alert, keep: int = 10_000) -> None:
        async with self._guard():
            await self._add_alert(
                keys=[
                    f"{self._p}:alerts:{alert.store}",
                    f"{self._p}:alerts:all",
                    f"{self._p}:alert",
                ],
                args=[alert.id, _encode(alert), keep],
            )

    async def alerts(
        self, store: str | None = None, *, limit: int = 100, after_id: str | None = None
    ) -> list[Alert]:
        index = f"{self._p}:alerts:{store if store is not None else 'all'}"
        if limit <= 0:
            return []
        async with self._guard():
            if after_id is not None:
                ids = await self._redis.zrangebylex(index, f"({after_id}", "+", start=0, num=limit)
            else:
                ids = list(
                    reversed(await self._redis.zrevrangebylex(index, "+", "-", start=0, num=limit))
                )
            if not ids:
                return []
            raw = await self._redis.hmget(f"{self._p}:alert", ids)
        return [_alert_decoder.decode(value) for value in raw if value is not None]

    async def update(self, key: str, transition: Transition[T], ttl_s: int | None = None) -> T:
        full = f"{self._p}:doc:{key}"
        async with self._guard():
            # Optimistic concurrency: WATCH, compute, MULTI/EXEC; redo on a conflicting write.
            for _ in range(_MAX_UPDATE_ATTEMPTS):
                async with self._redis.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch(full)
                        new, result = transition(_raw(await pipe.get(full)))
                        pipe.multi()  # type: ignore[no-untyped-call]
                        if new is None:
                            pipe.delete(full)
                        else:
                            pipe.set(full, new, ex=ttl_s)
                        await pipe.execute()
                        return result
                    except WatchError:
                        continue
        raise BackendUnavailable(
            f"Redis update of {key!r} kept conflicting ({_MAX_UPDATE_ATTEMPTS} attempts)"
        )

    async def get(self, key: str) -> bytes | None:
        async with self._guard():
            return _raw(await self._redis.get(f"{self._p}:doc:{key}"))

    async def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        base = f"{self._p}:doc:"
        async with self._guard():
            keys = sorted([key async for key in self._redis.scan_iter(f"{base}{prefix}*", 1000)])
            if not keys:
                return []
            values = await self._redis.mget(keys)
        found = []
        for key, value in zip(keys, values, strict=True):
            raw = _raw(value)
            if raw is not None:
                found.append((key.decode()[len(base) :], raw))
        return found

    async def ping(self) -> None:
        async with self._guard():
            await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


def _raw(value: bytes | str | None) -> bytes | None:
    """Replies are bytes (the client does not decode responses); narrow the type."""
    return value.encode() if isinstance(value, str) else value
