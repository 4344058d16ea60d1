"""Webhook channels against a real local HTTP receiver: signed generic JSON, WeCom robot
messages, retries until accepted, errcode handling, store filters, settings validation."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from rules.delivery.dispatcher import Dispatcher
from rules.delivery.webhook import WebhookChannel, sign, verify
from rules.delivery.wecom import WecomChannel, markdown, message
from storesense.errors import ConfigError
from storesense.protocol.alerts import Alert, decode_alert
from storesense.settings import load_settings
from tests.rules.receivers import failing_first, receiver

SECRET = "s3cret-s3cret-s3cret"


def alert(store: str = "s1", **changes: object) -> Alert:
    base = {"id": "019ab0c0d0e0f1234567890ab", "store": store, "type": "member.arrived", "ts": 1,
            "state": "open", "title": "Ann (gold) just arrived", "body": "Last visit: today.",
            "zone": "entrance"}  # fmt: skip
    return Alert(**{**base, **changes})  # type: ignore[arg-type]


async def test_failing_receiver_gets_the_alert_once_signed_and_recognisable() -> None:
    async with receiver(failing_first(2)) as hook, httpx.AsyncClient() as client:
        channel = WebhookChannel("hook", hook.url, SECRET, client)
        async with Dispatcher([channel], backoff_s=0.05) as dispatcher:
            dispatcher.publish(alert())
            await dispatcher.drain()
    assert len(hook.requests) == 3 and len(hook.accepted) == 1
    got = hook.accepted[0]
    assert decode_alert(got.body).id == alert().id
    assert verify(SECRET, got.headers["x-storesense-timestamp"], got.body,
                  got.headers["x-storesense-signature"])  # fmt: skip
    assert not verify("another-secret-xxxxx", got.headers["x-storesense-timestamp"], got.body,
                      got.headers["x-storesense-signature"])  # fmt: skip
    # Every attempt of one change carries the same delivery id.
    assert {r.headers["x-storesense-delivery"] for r in hook.requests} == {f"{alert().id}:open"}
    assert dispatcher.counters["hook"].retried == 2


def test_signature_covers_the_timestamp() -> None:
    body = b'{"id":"x"}'
    assert sign(SECRET, "100", body) != sign(SECRET, "101", body)
    assert sign(SECRET, "100", body).startswith("sha256=")


async def test_webhook_only_sends_its_stores() -> None:
    async with receiver(failing_first(0)) as hook, httpx.AsyncClient() as client:
        channel = WebhookChannel("hook", hook.url, SECRET, client, stores=["s2"])
        await channel.deliver(alert("s1"))
        await channel.deliver(alert("s2"))
    assert [decode_alert(r.body).store for r in hook.requests] == ["s2"]


def test_wecom_message_is_markdown_in_the_alert_locale() -> None:
    sent = message(alert(state="claimed", claimed_by="a1"))
    assert sent["msgtype"] == "markdown"
    content = sent["markdown"]["content"]
    assert content.startswith("**Ann (gold) just arrived**\nLast visit: today.")
    assert "Taken by a1" in content and "s1 · entrance" in content
    chinese = markdown(alert(locale="zh-CN", state="resolved", resolved_by="a1",
                             outcome="purchased", title="<b>x</b>"))  # fmt: skip
    assert "a1 已处理：已购买" in chinese and "<b>" not in chinese


async def test_wecom_errcode_is_a_failure_that_is_retried() -> None:
    def answer(n: int) -> tuple[int, object]:
        if n == 1:
            return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    async with receiver(answer) as robot, httpx.AsyncClient() as client:
        channel = WecomChannel("wecom", robot.url, client)
        async with Dispatcher([channel], backoff_s=0.05) as dispatcher:
            dispatcher.publish(alert())
            await dispatcher.drain()
    assert len(robot.requests) == 2
    assert dispatcher.counters["wecom"].retried == 1
    assert dispatcher.counters["wecom"].delivered == 1
    body = json.loads(robot.requests[1].body)
    assert body["msgtype"] == "markdown" and "Ann (gold)" in body["markdown"]["content"]


@pytest.mark.parametrize("reply", [(200, ["not", "an", "object"]), (500, {"errcode": 0})])
async def test_wecom_odd_replies_fail(reply: tuple[int, object]) -> None:
    async with receiver(lambda _: reply) as robot, httpx.AsyncClient() as client:
        with pytest.raises(Exception, match="WeCom robot"):
            await WecomChannel("wecom", robot.url, client).deliver(alert())


@pytest.mark.parametrize(
    ("hook", "named"),
    [
        ({"url": "ftp://x", "secret": SECRET}, "alerts.webhooks.0.url"),
        ({"url": "https://example.com/h"}, "`secret` must be set"),
        ({"url": "https://example.com/h", "secret": "short"}, "at least 16"),
        ({"url": "https://example.com/h", "kind": "slack"}, "alerts.webhooks.0.kind"),
    ],
)
def test_bad_webhook_settings_are_named(hook: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        load_settings(None, alerts={"webhooks": [hook]})


def test_wecom_webhook_needs_no_secret() -> None:
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"
    loaded = load_settings(None, alerts={"webhooks": [{"url": url, "kind": "wecom"}]})
    assert loaded.alerts.webhooks[0].kind == "wecom"
