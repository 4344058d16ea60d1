"""The delivery channels configured in settings: the store's MQTT alerts topic, plus each
webhook (`alerts.webhooks`: generic signed JSON, or a WeCom group robot), plus Web Push to
the web app's subscribed browsers when the state backend is given."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from rules.delivery.base import Channel
from rules.delivery.mqtt import MqttAlertChannel, Publish
from rules.delivery.webhook import WebhookChannel
from rules.delivery.webpush import WebPushChannel
from rules.delivery.wecom import WecomChannel
from storesense.backends.state.base import StateStore
from storesense.protocol.topics import Topics
from storesense.settings import Settings


@asynccontextmanager
async def alert_channels(
    settings: Settings, mqtt_publish: Publish, state: StateStore | None = None
) -> AsyncIterator[list[Channel]]:
    """Every channel, sharing one HTTP client that is closed on exit."""
    channels: list[Channel] = [MqttAlertChannel(mqtt_publish, Topics(settings.topic_root))]
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=10)
    async with httpx.AsyncClient(limits=limits, follow_redirects=False) as client:
        for n, hook in enumerate(settings.alerts.webhooks):
            name = f"{hook.kind}-{n}"
            if hook.kind == "wecom":
                channels.append(
                    WecomChannel(
                        name, hook.url, client, stores=hook.stores, timeout_s=hook.timeout_s
                    )
                )
            else:
                assert hook.secret is not None  # settings require it for generic webhooks
                channels.append(
                    WebhookChannel(
                        name,
                        hook.url,
                        hook.secret,
                        client,
                        stores=hook.stores,
                        timeout_s=hook.timeout_s,
                    )
                )
        if state is not None:
            channels.append(WebPushChannel(state, client))
        yield channels
