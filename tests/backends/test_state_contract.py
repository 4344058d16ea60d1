"""One contract for every StateStore: the in-memory default and Redis (a real server)."""

from __future__ import annotations

import asyncio

import pytest

from storesense.backends.state.base import DeviceRecord, StateStore
from storesense.backends.state.redis import RedisState
from storesense.errors import BackendUnavailable
from storesense.protocol.alerts import Alert
from storesense.registry import stored
from storesense.registry.members import Member
from tests.servers import free_port


def _alert(alert_id: str, store: str = "s1") -> Alert:
    return Alert(
        id=alert_id, store=store, type="member.arrived", ts=1, state="open", title="t", body="b"
    )


async def test_replayed_event_key_is_claimed_once(state: StateStore) -> None:
    first = await state.claim_events([("s1", "d1", "e1"), ("s1", "d1", "e2")], ttl_s=60)
    second = await state.claim_events([("s1", "d1", "e2"), ("s1", "d1", "e3")], ttl_s=60)
    assert first == [True, True]
    assert second == [False, True]


async def test_same_event_id_on_other_device_or_store_is_distinct(state: StateStore) -> None:
    keys = [("s1", "d1", "e1"), ("s1", "d2", "e1"), ("s2", "d1", "e1")]
    assert await state.claim_events(keys, ttl_s=60) == [True, True, True]


async def test_claims_of_interleaved_devices_answer_in_order(state: StateStore) -> None:
    await state.claim_events([("s1", "d2", "b"), ("s2", "d1", "c")], ttl_s=60)
    keys = [("s1", "d1", "a"), ("s1", "d2", "b"), ("s1", "d1", "b"), ("s2", "d1", "c")]
    assert await state.claim_events(keys, ttl_s=60) == [True, False, True, False]


@pytest.mark.parametrize("event_id", ['q"uote', "back\\slash", "é-ü-中", "nul\x00", "x:y", "[1]"])
async def test_any_event_id_is_claimed_once(state: StateStore, event_id: str) -> None:
    assert await state.claim_events([("s1", "d1", event_id)], ttl_s=60) == [True]
    assert await state.claim_events([("s1", "d1", event_id)], ttl_s=60) == [False]
    assert await state.claim_events([("s1", "d1", event_id + "2")], ttl_s=60) == [True]


async def test_concurrent_claims_of_one_key_admit_exactly_one(state: StateStore) -> None:
    results = await asyncio.gather(
        *(state.claim_events([("s1", "d1", "race")], ttl_s=60) for _ in range(20))
    )
    assert sum(result[0] for result in results) == 1


async def test_devices_are_listed_per_store_and_replaced(state: StateStore) -> None:
    await state.put_device(DeviceRecord(store="s1", device="d1", state="online", ts_ms=1))
    await state.put_device(DeviceRecord(store="s2", device="d9", state="online", ts_ms=1))
    await state.put_device(
        DeviceRecord(store="s1", device="d1", state="offline", ts_ms=2, kind="rfid")
    )
    s1 = await state.devices("s1")
    assert [(d.device, d.state, d.kind) for d in s1] == [("d1", "offline", "rfid")]
    assert len(await state.devices()) == 2


async def test_registry_records_upsert_and_version_per_kind(state: StateStore) -> None:
    assert await state.records_version("members") == 0
    v1 = await state.put_records("members", {"m1": b"one", "m2": b"two"})
    v2 = await state.put_records("members", {"m1": b"uno"})
    await state.put_records("staff", {"s1": b"badge"})
    assert 0 < v1 < v2 == await state.records_version("members")
    assert await state.records("members") == {"m1": b"uno", "m2": b"two"}
    assert await state.record("members", "m1") == b"uno"
    assert await state.record("members", "nobody") is None
    assert await state.records("staff") == {"s1": b"badge"}
    assert await state.records_version("staff") == 1
    v3 = await state.delete_records("members", ["m1", "nobody"])
    assert v3 > v2 and await state.records("members") == {"m2": b"two"}


async def test_typed_registry_round_trip(state: StateStore) -> None:
    member = Member(member_id="m1", name="Li Na", consent=True, card_epcs=("e2" * 12,))
    await stored.save(state, [member, Member(member_id="m2", name="Bo")])
    assert await stored.load_one(state, Member, "m1") == member
    assert len(await stored.load(state, Member)) == 2


async def test_alerts_listed_in_order_with_after_id_and_trimmed(state: StateStore) -> None:
    for i in range(5):
        await state.add_alert(_alert(f"{i:04d}"), keep=4)
    await state.add_alert(_alert("0009", store="s2"))
    assert [a.id for a in await state.alerts("s1")] == ["0001", "0002", "0003", "0004"]
    assert [a.id for a in await state.alerts("s1", limit=2)] == ["0003", "0004"]
    assert [a.id for a in await state.alerts("s1", after_id="0002")] == ["0003", "0004"]
    assert [a.id for a in await state.alerts()][-1] == "0009"
    assert await state.alerts("nowhere") == []


async def test_redis_down_is_backend_unavailable() -> None:
    state = RedisState(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(BackendUnavailable, match="unreachable"):
        await state.claim_events([("s", "d", "e")], ttl_s=60)
    await state.close()


def _increment(old: bytes | None) -> tuple[bytes | None, int]:
    value = int(old or b"0") + 1
    return str(value).encode(), value


async def test_update_is_atomic_under_concurrency(state: StateStore) -> None:
    results = await asyncio.gather(*(state.update("counter", _increment) for _ in range(25)))
    assert sorted(results) == list(range(1, 26))
    assert await state.get("counter") == b"25"


async def test_update_can_delete_and_scan_lists_by_prefix(state: StateStore) -> None:
    await state.update("room:s1:a", lambda _: (b"A", None))
    await state.update("room:s1:b", lambda _: (b"B", None))
    await state.update("room:s2:c", lambda _: (b"C", None))
    assert await state.scan("room:s1:") == [("room:s1:a", b"A"), ("room:s1:b", b"B")]
    await state.update("room:s1:a", lambda _: (None, None))
    assert await state.get("room:s1:a") is None
    assert [key for key, _ in await state.scan("room:")] == ["room:s1:b", "room:s2:c"]


async def test_update_ttl_expires_documents(state: StateStore) -> None:
    await state.update("short", lambda _: (b"x", None), ttl_s=1)
    assert await state.get("short") == b"x"
    await asyncio.sleep(1.3)
    assert await state.get("short") is None
