"""Follow `{root}/v1/+/alerts` on the broker and feed the live hub, so the API sees every
alert whichever ingest worker raised it."""

from __future__ import annotations

import asyncio
import logging
import random

import aiomqtt
import msgspec

from api.live import AlertHub
from storesense.mqtt import MqttLink, client_id, mqtt_client
from storesense.protocol.alerts import decode_alert
from storesense.protocol.topics import Topics
from storesense.settings import Settings

log = logging.getLogger(__name__)


async def follow_alerts(
    settings: Settings, hub: AlertHub, link: MqttLink, connected: asyncio.Event
) -> None:
    """Feed the hub until cancelled; `link` lends the connection to HTTP publishers."""
    topics = Topics(settings.topic_root)
    endpoint = settings.broker.endpoint()
    delay = 0.5
    while True:
        try:
            async with mqtt_client(endpoint, client_id(settings, "api")) as client:
                await client.subscribe(topics.all_alerts(), qos=1)
                link.attach(client)
                connected.set()
                delay = 0.5
                async for message in client.messages:
                    payload = message.payload
                    if not isinstance(payload, bytes):
                        continue
                    try:
                        hub.publish(decode_alert(payload))
                    except msgspec.DecodeError as exc:
                        log.warning("alert ignored topic=%s error=%s", message.topic, exc)
        except aiomqtt.MqttError as exc:
            log.warning("alert feed lost broker error=%s retry_in=%.1fs", exc, delay)
        finally:
            link.attach(None)
            connected.clear()
        await asyncio.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 15.0)
