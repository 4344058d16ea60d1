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
    AlertTransition,
    DeviceRecord,
    EventKey,
    T,
    Transition,
)
from storesense.errors import BackendUnavailable
from storesense.protocol.alerts import Alert, changed_ms

# KEYS: one key prefix per (store, device). ARGV: ttl, then a JSON array per prefix of the
# event ids under it. Replies '1' (fresh) or '0' per id, in order, as one string. One round
# trip for a whole batch; the ids go as one argument, not as 100 keys, because packing
# each key cost the client about 1 µs per event. The keys are built here, so this suits
# one Redis (or a Cluster only with hash tags); they are the same keys as ever.
_CLAIM_EVENTS = """
local fresh = {}
for g, prefix in ipairs(KEYS) do
  for _, id in ipairs(cjson.decode(ARGV[g + 1])) do
    fresh[#fresh + 1] = redis.call('SET', prefix .. id, '1', 'NX', 'EX', ARGV[1]) and '1' or '0'
  end
end
return table.concat(fresh)
"""

# KEYS: store index, global index, alert hash, store changes, all changes, due timers.
# ARGV: id, json, keep, change ms, due ms ('' = none). Indexes by id (lex, score 0), by
# change time, and the lifecycle timer; trimming drops an alert from all of them.
_ADD_ALERT = """
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[1])
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[6], ARGV[1])
else
  redis.call('ZADD', KEYS[6], ARGV[5], ARGV[1])
end
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if excess > 0 then
  local old = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
  redis.call('ZREM', KEYS[1], unpack(old))
  redis.call('ZREM', KEYS[2], unpack(old))
  redis.call('HDEL', KEYS[3], unpack(old))
  redis.call('ZREM', KEYS[4], unpack(old))
  redis.call('ZREM', KEYS[5], unpack(old))
  redis.call('ZREM', KEYS[6], unpack(old))
end
return 1
"""

# Compare-and-set of one alert. KEYS: alert hash, store changes, all changes, due timers.
# ARGV: id, expected json, new json, change ms, due ms ('' = none). 0 when the stored alert
# is no longer the one the change was computed from (the caller recomputes).
_SWAP_ALERT = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[4], ARGV[1])
else
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
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
        self._swap_alert = self._redis.register_script(_SWAP_ALERT)
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
        groups: dict[tuple[str, str], list[int]] = {}  # (store, device) -> positions
        for position, (store, device, _) in enumerate(keys):
            groups.setdefault((store, device), []).append(position)
        prefixes = [f"{self._p}:seen:{store}:{device}:" for store, device in groups]
        ids = [_encode([keys[i][2] for i in positions]) for positions in groups.values()]
        async with self._guard():
            reply = await self._claim_events(keys=prefixes, args=[ttl_s, *ids])
        flags = [flag == ord("1") for flag in _raw(reply) or b""]
        if len(groups) == 1:
            return flags
        fresh = [False] * len(keys)
        for flag, position in zip(
            flags, (p for positions in groups.values() for p in positions), strict=True
        ):
            fresh[position] = flag
        return fresh

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

    async def delete_records(self, kind: str, record_ids: Sequence[str]) -> int:
        async with self._guard():
            pipe = self._redis.pipeline(transaction=True)
            if record_ids:
                pipe.hdel(f"{self._p}:records:{kind}", *record_ids)
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
                    f"{self._p}:alert-changes:{alert.store}",
                    f"{self._p}:alert-changes:all",
                    f"{self._p}:alert-due",
                ],
                args=[alert.id, _encode(alert), keep, changed_ms(alert), _due(alert)],
            )

    async def alert(self, alert_id: str) -> Alert | None:
        async with self._guard():
            raw = _raw(await self._redis.hget(f"{self._p}:alert", alert_id))
        return None if raw is None else _alert_decoder.decode(raw)

    async def update_alert(self, alert_id: str, transition: AlertTransition[T]) -> T:
        async with self._guard():
            # Optimistic: compute from what is stored, swap only if it is still stored.
            for _ in range(_MAX_UPDATE_ATTEMPTS):
                raw = _raw(await self._redis.hget(f"{self._p}:alert", alert_id))
                new, result = transition(None if raw is None else _alert_decoder.decode(raw))
                if new is None or raw is None:
                    return result
                swapped = await self._swap_alert(
                    keys=[
                        f"{self._p}:alert",
                        f"{self._p}:alert-changes:{new.store}",
                        f"{self._p}:alert-changes:all",
                        f"{self._p}:alert-due",
                    ],
                    args=[alert_id, raw, _encode(new), changed_ms(new), _due(new)],
                )
                if swapped:
                    return result
        raise BackendUnavailable(
            f"Redis update of alert {alert_id!r} kept conflicting ({_MAX_UPDATE_ATTEMPTS} attempts)"
        )

    async def alert_changes(
        self, store: str | None, since_ms: int, *, limit: int = 1000
    ) -> list[Alert]:
        index = f"{self._p}:alert-changes:{store if store is not None else 'all'}"
        async with self._guard():
            ids: list[bytes] = await self._redis.zrangebyscore(  # type: ignore[assignment]
                index, since_ms, "+inf", start=0, num=limit
            )
            if not ids:
                return []
            raw = await self._redis.hmget(f"{self._p}:alert", ids)
        found = [_alert_decoder.decode(value) for value in raw if value is not None]
        found.sort(key=lambda a: (changed_ms(a), a.id))
        return found

    async def due_alerts(self, now_ms: int, *, limit: int = 500) -> list[str]:
        async with self._guard():
            ids = await self._redis.zrangebyscore(
                f"{self._p}:alert-due", "-inf", now_ms, start=0, num=limit
            )
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]

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


def _due(alert: Alert) -> int | str:
    return "" if alert.due is None else alert.due


def _raw(value: bytes | str | None) -> bytes | None:
    """Replies are bytes (the client does not decode responses); narrow the type."""
    return value.encode() if isinstance(value, str) else value
