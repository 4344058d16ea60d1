import asyncio

from ingest.directory import DirectoryCache
from ingest.identity import MemberDirectory, eids_for_window
from storesense.backends.state.memory import MemoryState
from storesense.protocol.eid import eid_at
from storesense.registry import stored
from storesense.registry.members import Member

KEY = bytes(range(16))
T = 1_795_658_400  # a window boundary (divisible by 900)


def member(member_id: str, consent: bool = True, **kw: object) -> Member:
    return Member(member_id=member_id, name=member_id.upper(), consent=consent, **kw)  # type: ignore[arg-type]


def directory() -> MemberDirectory:
    return MemberDirectory(
        [
            member(
                "m1", app_key=KEY.hex(), card_epcs=("e2" + "0" * 22,), phone="+86 138-0013-8000"
            ),
            member("m2", consent=False, app_key=(b"x" * 16).hex(), card_epcs=("e2" + "1" * 22,)),
        ]
    )


def test_rotating_id_resolves_in_its_window_and_the_neighbours() -> None:
    d = directory()
    eid = eid_at(KEY, T + 100)
    for moment in (T + 100, T - 1, T + 900 + 899):  # same window, previous, next
        found = d.by_app_id(eid, moment * 1000)
        assert found is not None and found.member_id == "m1"
    assert d.by_app_id(eid, (T + 1800) * 1000) is None  # two windows later: stale


def test_non_consenting_members_stay_anonymous() -> None:
    d = directory()
    assert d.by_card("e2" + "1" * 22) is None
    assert d.by_app_id(eid_at(b"x" * 16, T), T * 1000) is None
    assert d.by_id("m2") is None
    assert len(d) == 1


def test_cards_and_phones_resolve_whatever_the_spelling() -> None:
    d = directory()
    assert d.by_card("E2" + "0" * 22) is not None
    assert d.by_phone("+8613800138000") is not None
    assert d.by_phone("+86 138 0013 8000") is not None
    assert d.by_phone("13800138000") is None


def test_tables_computed_elsewhere_resolve_like_tables_built_here() -> None:
    keys = [bytes([i]) * 16 for i in range(1, 40)]
    members = [member(f"m{i}", app_key=key.hex()) for i, key in enumerate(keys)]
    built, installed = MemberDirectory(members), MemberDirectory(members)
    window = T // 900
    built.prepare(window)
    installed.install(window, eids_for_window(installed.app_keys, window))
    for key, expected in zip(keys, members, strict=True):
        eid = eid_at(key, T + 10)
        assert built.by_app_id(eid, (T + 10) * 1000) == expected
        assert installed.by_app_id(eid, (T + 10) * 1000) == expected
    assert built.by_app_id("not-hex!", T * 1000) is None


async def test_directory_cache_prepares_windows_ahead_in_a_process_pool() -> None:
    state = MemoryState()
    count = 50_000  # the size from which the hashing leaves this process
    keys = [i.to_bytes(16, "big") for i in range(count)]
    await stored.save(state, [member(f"m{i}", app_key=key.hex()) for i, key in enumerate(keys)])
    now = float(T + 30)
    cache = DirectoryCache(state, check_interval_s=0, wall_clock=lambda: now)
    try:
        directory = await cache.current()
        assert cache._preparing is not None
        await asyncio.wait_for(cache._preparing, 120)
        assert cache._pool is not None  # the large registry went to the process pool
        members = directory.members
        assert members.is_prepared(T // 900) and members.is_prepared(T // 900 + 1)
        found = members.by_app_id(eid_at(keys[12_345], now), int(now * 1000))
        assert found is not None and found.member_id == "m12345"
    finally:
        cache.close()
