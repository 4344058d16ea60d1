"""Helpers for runtime tests: agent configs, a persistent-session MQTT recorder, reading a
retained message, polling."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import EdgeConfig, parse_edge_config
from tests.edge.counting_agent import seq_of

STORE = "store-1"
DEVICE = "door-1"
EVENTS = f"storesense/v1/{STORE}/{DEVICE}/events"
STATUS = f"storesense/v1/{STORE}/{DEVICE}/status"
CONFIG = f"storesense/v1/{STORE}/{DEVICE}/config"


def config_data(tmp_path: Path, port: int, **overrides: Any) -> dict[str, Any]:
    """An agent config as a file would hold it: fast reconnects, outbox in tmp_path."""
    data: dict[str, Any] = {
        "store": STORE,
        "device": DEVICE,
        "heartbeat_s": 30,
        "broker": {"url": f"mqtt://127.0.0.1:{port}", "reconnect_min_s": 1, "reconnect_max_s": 2},
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def edge_config(tmp_path: Path, port: int, **overrides: Any) -> EdgeConfig:
    return parse_edge_config(config_data(tmp_path, port, **overrides))


def toml_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_toml(path: Path, data: dict[str, Any]) -> Path:
    """Enough TOML for these configs: scalars at the top, one level of tables."""
    lines = [f"{k} = {toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for key, table in data.items():
        if isinstance(table, dict):
            lines.append(f"[{key}]")
            lines.extend(f"{k} = {toml_value(v)}" for k, v in table.items())
    path.write_text("\n".join(lines) + "\n")
    return path


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class Recorder:
    """A QoS 1 subscriber with a persistent session (clean_session=False): what the broker
    accepted while it was away is delivered when it comes back, as for a real consumer."""

    def __init__(self, port: int, topics: list[str], **credentials: str) -> None:
        self._lock = threading.Lock()
        self.messages: list[tuple[str, bytes, bool]] = []  # (topic, payload, retained)
        self.event_ids: list[str] = []
        self.batch_sizes: list[int] = []
        self.max_payload = 0
        self.payload_sizes: list[int] = []
        self._topics = topics
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"recorder-{uuid.uuid4().hex[:8]}",
            clean_session=False,
        )
        if credentials:
            self._client.username_pw_set(credentials["username"], credentials["password"])
        self._client.reconnect_delay_set(1, 1)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._subscribed = threading.Event()
        self._client.on_subscribe = lambda *args: self._subscribed.set()
        self._client.connect_async("127.0.0.1", port, keepalive=10)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            raise AssertionError("recorder did not subscribe")

    def _on_connect(self, client: paho.Client, *args: Any) -> None:
        client.subscribe([(topic, 1) for topic in self._topics])

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        payload = bytes(message.payload)
        with self._lock:
            self.messages.append((message.topic, payload, bool(message.retain)))
            if message.topic.endswith("/events"):
                decoded = json.loads(payload)
                events = decoded if isinstance(decoded, list) else [decoded]
                self.batch_sizes.append(len(events))
                self.max_payload = max(self.max_payload, len(payload))
                self.event_ids.extend(event["id"] for event in events)
                self.payload_sizes.append(len(payload))

    def seqs(self) -> list[int]:
        with self._lock:
            return [seq_of(event_id) for event_id in self.event_ids]

    def statuses(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(p) for t, p, _ in self.messages if t.endswith("/status") and p]

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def retained(port: int, topic: str, timeout: float = 5, **credentials: str) -> dict[str, Any]:
    """The retained JSON message on `topic` (fails when there is none)."""
    got: list[bytes] = []
    done = threading.Event()
    client = paho.Client(CallbackAPIVersion.VERSION2)
    if credentials:
        client.username_pw_set(credentials["username"], credentials["password"])

    def on_message(client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        if message.retain:
            got.append(bytes(message.payload))
            done.set()

    client.on_message = on_message
    client.on_connect = lambda c, *args: c.subscribe(topic, qos=1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        if not done.wait(timeout):
            raise AssertionError(f"no retained message on {topic}")
    finally:
        client.disconnect()
        client.loop_stop()
    result: dict[str, Any] = json.loads(got[0])
    return result


def publish_retained(port: int, topic: str, payload: bytes, **credentials: str) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2)
    if credentials:
        client.username_pw_set(credentials["username"], credentials["password"])
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        info = client.publish(topic, payload, qos=1, retain=True)
        info.wait_for_publish(timeout=5)
    finally:
        client.disconnect()
        client.loop_stop()
