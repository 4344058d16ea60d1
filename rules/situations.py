"""One alert per situation, decided in the state backend so that every ingest worker agrees.

A draft's subject is `thing@start` (a fitting room and the start of its session, a member and
the start of their visit, a device and the start of its outage): the situation. Two checks,
each one atomic update of one small document:

- **dedupe** (`alert-situation:{store}:{rule}:{subject}`): the first draft of a situation
  raises, every later evaluation of it is the same situation. The note is written again on
  every evaluation (so it lives as long as the situation is still being evaluated) and kept
  `SITUATION_TTL_S` after the last one: longer than any pause in evaluation (a restart),
  whatever the cooldown.
- **cooldown** (`alert-cooldown:{store}:{rule}:{thing}`): a new situation of the same thing
  within `cooldown_s` of event time after the last alert of that thing is dropped (a device
  flapping, a custom rule's bursts). Event time, like the rest of ingest state: replays and
  sped-up simulations run behind or ahead of the wall clock.
"""

from __future__ import annotations

from typing import Literal

from rules.drafts import AlertDraft
from storesense.backends.state.base import StateStore

Verdict = Literal["new", "same_situation", "cooldown"]
# Longer than any pause between two evaluations of a lasting situation (they come every
# sweep, 30 s, while it lasts); a situation that outlives a longer pause alerts again.
SITUATION_TTL_S = 3 * 86_400
# The cooldown note outlives its event-time window by this much wall time.
_COOLDOWN_MARGIN_S = 3_600


def thing_of(subject: str) -> str:
    """What a subject is about, without the start of its situation (`room-2@1795…` → `room-2`)."""
    thing, at, _ = subject.rpartition("@")
    return thing if at else subject


class SituationGate:
    def __init__(self, state: StateStore) -> None:
        self._state = state

    async def admit(self, draft: AlertDraft, cooldown_ms: int) -> Verdict:
        """Whether `draft` may raise an alert: only the first draft of a new situation, and
        not within `cooldown_ms` (event time) of the last alert about the same thing."""
        store, rule, subject = draft.store, draft.rule_name, draft.subject_key
        ts_ms = draft.ts_ms

        def note(old: bytes | None) -> tuple[bytes | None, bool]:
            return (old, False) if old is not None else (str(ts_ms).encode(), True)

        if not await self._state.update(_situation_key(draft), note, ttl_s=SITUATION_TTL_S):
            return "same_situation"
        if cooldown_ms <= 0:
            return "new"

        def cool(old: bytes | None) -> tuple[bytes | None, bool]:
            # "<ts> <subject>" of the thing's last alert; its own note (a retry) lets it by.
            if old is not None:
                last_ms, _, last_subject = old.decode().partition(" ")
                if last_subject != subject and abs(ts_ms - int(last_ms)) < cooldown_ms:
                    return old, False
            return f"{ts_ms} {subject}".encode(), True

        key = f"alert-cooldown:{store}:{rule}:{thing_of(subject)}"
        ttl_s = cooldown_ms // 1000 + _COOLDOWN_MARGIN_S
        return "new" if await self._state.update(key, cool, ttl_s=ttl_s) else "cooldown"

    async def forget(self, draft: AlertDraft) -> None:
        """Undo `admit` of a draft whose alert could not be stored, so that the retry of its
        message raises it (the thing's cooldown note names this situation: it lets it by)."""
        await self._state.update(_situation_key(draft), lambda _old: (None, None))


def _situation_key(draft: AlertDraft) -> str:
    return f"alert-situation:{draft.store}:{draft.rule_name}:{draft.subject_key}"
