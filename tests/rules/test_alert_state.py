"""The alert methods of every StateStore (memory and real Redis): atomic changes, the
change index live clients resume from, lifecycle timers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from rules.lifecycle.machine import Changed, claim
from storesense.backends.state.base import StateStore
from storesense.backends.state.redis import RedisState
from storesense.protocol.alerts import Alert
from tests.servers import Redis


def make(ms: int, store: str = "s1", due: int | None = None) -> Alert:
    return Alert(id=f"{ms:013x}{ms:012x}", store=store, type="t", ts=ms, state="open",
                 title="t", body="b", due=due)  # fmt: skip


async def test_update_alert_changes_the_stored_alert_and_its_indexes(state: StateStore) -> None:
    await state.add_alert(make(1000, due=5000))
    await state.add_alert(make(2000))
    assert await state.due_alerts(4999) == []
    assert await state.due_alerts(5000) == [make(1000).id]
    result = await state.update_alert(make(1000).id, lambda a: _apply(claim(a, "x", 3000)))
    assert isinstance(result, Changed)
    stored = await state.alert(make(1000).id)
    assert stored is not None and stored.claimed_by == "x" and stored.version == 2
    assert await state.due_alerts(10_000) == []  # claimed: its timer is gone
    # The change index: the claim (at 3000) now sorts after the alert raised at 2000.
    assert [a.id for a in await state.alert_changes("s1", 0)] == [make(2000).id, make(1000).id]
    assert [a.id for a in await state.alert_changes("s1", 2500)] == [make(1000).id]
    assert await state.alert_changes("other", 0) == []
    assert len(await state.alert_changes(None, 0)) == 2


async def test_update_of_unknown_alert_writes_nothing(state: StateStore) -> None:
    result = await state.update_alert("abc", lambda a: (None, a is None))
    assert result is True
    assert await state.alert("abc") is None


async def test_trimmed_alerts_leave_no_timer_or_change_behind(state: StateStore) -> None:
    for ms in (1000, 2000, 3000):
        await state.add_alert(make(ms, due=ms), keep=2)
    assert await state.due_alerts(10_000) == [make(2000).id, make(3000).id]
    assert [a.id for a in await state.alert_changes("s1", 0)] == [make(2000).id, make(3000).id]


async def test_concurrent_claims_from_many_clients_have_one_winner(
    redis_server: Redis,
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    clients = [RedisState(redis_server.url, prefix=prefix) for _ in range(8)]
    try:
        for round_ in range(20):
            alert = make(10_000 + round_)
            await clients[0].add_alert(alert)
            results = await asyncio.gather(*(
                client.update_alert(alert.id, claimer(f"a{n}")) for n, client in enumerate(clients)
            ))  # fmt: skip
            winners = [r for r in results if isinstance(r, Changed)]
            assert len(winners) == 1, results
            stored = await clients[0].alert(alert.id)
            assert stored is not None and stored.claimed_by == winners[0].alert.claimed_by
            assert stored.version == 2
    finally:
        for client in clients:
            await client.close()


def claimer(staff: str) -> Callable[[Alert | None], tuple[Alert | None, object]]:
    return lambda alert: _apply(claim(alert, staff, 20_000))


def _apply(result: object) -> tuple[Alert | None, object]:
    if isinstance(result, Changed) and result.changed:
        return result.alert, result
    return None, result
