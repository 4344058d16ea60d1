"""`device.offline` / `device.silent`: a device that reported itself offline (or whose last
will did), or that sent no event for longer than its kind ever should."""

from __future__ import annotations

from rules.drafts import AlertDraft
from rules.params import DeviceSilentRule
from rules.views import DeviceView


def device_down(
    store: str, device: DeviceView, params: DeviceSilentRule, now_ms: int
) -> AlertDraft | None:
    """One alert per outage: the subject is the status (or last event) it started from."""
    if not params.enabled:
        return None
    record = device.record
    facts: dict[str, object] = {"device": record.device, "kind": record.kind}
    if record.state == "offline":
        if now_ms - record.ts_ms < params.offline_after_s * 1000:
            return None
        facts["since_ts"] = record.ts_ms
        due_ms = record.ts_ms + params.offline_after_s * 1000
        return _draft("device.offline", store, record.device, record.ts_ms, due_ms, facts)
    limit_min = params.silent_after_min.get(record.kind or "")
    last = device.last_event_ms
    if limit_min is None or last is None or now_ms - last < limit_min * 60_000:
        return None
    facts.update(since_ts=last, minutes=(now_ms - last) // 60_000)
    due_ms = last + int(limit_min * 60_000)
    return _draft("device.silent", store, record.device, last, due_ms, facts)


def _draft(
    rule: str, store: str, device: str, since_ms: int, due_ms: int, facts: dict[str, object]
) -> AlertDraft:
    # Dated when the outage became one: every evaluation of it is the same situation.
    return AlertDraft(
        type=rule,
        store=store,
        ts_ms=due_ms,
        facts=facts,
        rule=rule,
        subject=f"{device}@{since_ms}",
        audience="manager",
    )
