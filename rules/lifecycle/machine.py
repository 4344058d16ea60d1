"""The alert state machine, as pure functions of (alert, request, now).

    open ──claim──▶ claimed ──resolve(outcome)──▶ resolved
      │                ▲
      ├─(unclaimed N s)─▶ escalated (to the manager) ──claim──┘
      └────────────(unclaimed M s)──────────────────▶ expired

Every change bumps `version` and sets `updated`, so clients upsert by id. The state
backend applies these atomically (`StateStore.update_alert`); they may run more than once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import msgspec

from storesense.protocol.alerts import CLAIMABLE, FINAL, Alert, Outcome

RefusalReason = Literal["unknown", "unknown_staff", "taken", "final", "not_holder"]


@dataclass(frozen=True, slots=True)
class Refused:
    """Why a claim or resolve was not applied, with the alert as it stands."""

    reason: RefusalReason
    message: str
    alert: Alert | None = None


@dataclass(frozen=True, slots=True)
class Changed:
    """The alert after an applied change; `changed` is False for an idempotent repeat."""

    alert: Alert
    changed: bool = True


def raised_ms(alert: Alert) -> int:
    """When the alert was raised (its id starts with the creation time in ms)."""
    try:
        return int(alert.id[:13], 16)
    except ValueError:
        return alert.ts


def _bump(alert: Alert, now_ms: int, **changes: object) -> Alert:
    # A clock that stepped back must not make a change sort before the one it follows.
    updated = max(now_ms, alert.updated, raised_ms(alert) if alert.updated == 0 else 0)
    return msgspec.structs.replace(alert, version=alert.version + 1, updated=updated, **changes)


def claim(alert: Alert | None, staff: str, now_ms: int) -> Changed | Refused:
    """One assistant takes the alert; a second claim is refused naming the holder."""
    if alert is None:
        return Refused("unknown", "no such alert")
    if alert.state in CLAIMABLE:
        return Changed(_bump(alert, now_ms, state="claimed", claimed_by=staff, claimed=now_ms,
                             due=None))  # fmt: skip
    if alert.state == "claimed":
        if alert.claimed_by == staff:
            return Changed(alert, changed=False)
        return Refused("taken", f"alert {alert.id} is claimed by {alert.claimed_by}", alert)
    return Refused("final", f"alert {alert.id} is already {alert.state}", alert)


def resolve(alert: Alert | None, staff: str, outcome: Outcome, now_ms: int) -> Changed | Refused:
    """Close the alert with an outcome. The holder resolves a claimed alert; an unclaimed
    one may be resolved directly (it counts as claimed by the resolver at the same time)."""
    if alert is None:
        return Refused("unknown", "no such alert")
    if alert.state in FINAL:
        if alert.state == "resolved" and alert.resolved_by == staff and alert.outcome == outcome:
            return Changed(alert, changed=False)
        return Refused("final", f"alert {alert.id} is already {alert.state}", alert)
    if alert.state == "claimed" and alert.claimed_by != staff:
        return Refused("not_holder", f"alert {alert.id} is claimed by {alert.claimed_by}", alert)
    claimed_by = alert.claimed_by or staff
    claimed = alert.claimed if alert.claimed is not None else now_ms
    resolved = _bump(alert, now_ms, state="resolved", claimed_by=claimed_by, claimed=claimed,
                     resolved_by=staff, resolved=now_ms, outcome=outcome, due=None)  # fmt: skip
    return Changed(resolved)


def advance(
    alert: Alert | None, now_ms: int, *, expire_at_ms: int, managers: list[str]
) -> Alert | None:
    """The timed change that has come due, or None if none has (another process may
    already have made it: the caller publishes only what this returns)."""
    if alert is None or alert.due is None or alert.due > now_ms:
        return None
    if alert.state not in CLAIMABLE:
        return msgspec.structs.replace(alert, due=None)  # stale timer; nothing to announce
    if alert.state == "open" and alert.audience == "assistant" and now_ms < expire_at_ms:
        return _bump(alert, now_ms, state="escalated", escalated=now_ms, audience="manager",
                     targets=list(managers), due=expire_at_ms)  # fmt: skip
    return _bump(alert, now_ms, state="expired", expired=now_ms, due=None)


def mark_delivered(alert: Alert | None, now_ms: int) -> Alert | None:
    """Record the first confirmed delivery. Not a new version: nothing to re-announce."""
    if alert is None or alert.delivered is not None:
        return None
    return msgspec.structs.replace(alert, delivered=now_ms)
