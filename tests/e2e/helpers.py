"""Helpers for end-to-end tests: a plain MQTT client, settings for a private stack, and
polling without fixed sleeps."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from storesense.settings import Settings, load_settings
from tests.servers import free_port

T = TypeVar("T")


async def publish(port: int, topic: str, payload: bytes | str | dict[str, Any] | list[Any]) -> None:
    """Publish one QoS 1 message with a plain paho client (in a thread: the broker may run
    on this event loop), waiting for the PUBACK."""
    await asyncio.to_thread(publish_blocking, port, topic, payload)


def publish_blocking(
    port: int, topic: str, payload: bytes | str | dict[str, Any] | list[Any]
) -> None:
    if isinstance(payload, dict | list):
        payload = json.dumps(payload)
    client = paho.Client(CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published(), f"no PUBACK for {topic}"
    finally:
        client.loop_stop()
        client.disconnect()


def stack_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a private stack: free ports, its own data dir, no environment leaks."""
    base: dict[str, Any] = {
        "data_dir": data_dir,
        "broker": {"embedded_port": free_port()},
        "api": {"port": free_port()},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return load_settings(None, **base)


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], timeout: float = 15
) -> T:
    """Poll `probe` until `check` holds; fail with the last value seen."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if check(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            shown = f"{len(value)} items" if isinstance(value, list) else repr(value)[:500]
            raise AssertionError(f"condition not met within {timeout}s; last value: {shown}")
        await asyncio.sleep(0.1)
