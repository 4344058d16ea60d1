"""Channel: a WeCom (企业微信) group robot. Alerts go to the robot's webhook URL as a
markdown message; WeCom answers HTTP 200 with `{"errcode": 0, ...}` on success and a
non-zero errcode otherwise (e.g. 45009, rate limited), which is retried."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import httpx

from rules.delivery.webhook import DELIVERY_HEADER, DeliveryFailed, delivery_id, for_store
from storesense.protocol.alerts import Alert

_STATES = {
    "en": {
        "open": "New",
        "escalated": "Escalated to the manager",
        "claimed": "Taken by {staff}",
        "resolved": "Resolved by {staff}: {outcome}",
        "expired": "Expired, nobody took it",
    },
    "zh-CN": {
        "open": "新提醒",
        "escalated": "已升级给店长",
        "claimed": "{staff} 已接单",
        "resolved": "{staff} 已处理：{outcome}",
        "expired": "已过期，无人接单",
    },
}
_OUTCOMES = {
    "zh-CN": {
        "served": "已接待",
        "purchased": "已购买",
        "not_needed": "无需处理",
        "no_show": "未见到顾客",
        "false_alarm": "误报",
    },
}
_FONT = {"open": "warning", "escalated": "warning", "claimed": "info", "resolved": "info"}


def markdown(alert: Alert) -> str:
    """The message text: title, body and state in the alert's locale."""
    code: str = alert.outcome or ""
    outcome = _OUTCOMES.get(alert.locale, {}).get(code, code.replace("_", " "))
    state = _STATES[alert.locale][alert.state].format(
        staff=alert.claimed_by or alert.resolved_by or "?", outcome=outcome
    )
    lines = [
        f"**{_escape(alert.title)}**",
        _escape(alert.body),
        f'> <font color="{_FONT.get(alert.state, "comment")}">{_escape(state)}</font>',
        f'> <font color="comment">{alert.store}'
        + (f" · {_escape(alert.zone)}" if alert.zone else "")
        + "</font>",
    ]
    return "\n".join(lines)


def message(alert: Alert) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": markdown(alert)}}


def _escape(text: str) -> str:
    # WeCom markdown has no escaping; keep user text from opening tags or headings.
    return text.replace("<", "‹").replace(">", "›")


class WecomChannel:
    def __init__(
        self,
        name: str,
        url: str,
        client: httpx.AsyncClient,
        *,
        stores: Collection[str] = (),
        timeout_s: float = 5.0,
    ) -> None:
        self.name = name
        self._url = url
        self._client = client
        self._stores = frozenset(stores)
        self._timeout = httpx.Timeout(timeout_s)

    async def deliver(self, alert: Alert) -> None:
        if not for_store(self._stores, alert):
            return
        response = await self._client.post(
            self._url,
            content=json.dumps(message(alert), ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json", DELIVERY_HEADER: delivery_id(alert)},
            timeout=self._timeout,
        )
        if not response.is_success:
            raise DeliveryFailed(f"WeCom robot answered HTTP {response.status_code}")
        try:
            reply = response.json()
        except ValueError as exc:
            raise DeliveryFailed(f"WeCom robot answered non-JSON: {response.text[:200]!r}") from exc
        errcode = reply.get("errcode") if isinstance(reply, dict) else None
        if errcode != 0:
            detail = reply.get("errmsg") if isinstance(reply, dict) else reply
            raise DeliveryFailed(f"WeCom robot refused: errcode={errcode} errmsg={detail}")
