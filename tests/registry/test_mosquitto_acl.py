"""A real Mosquitto enforcing the files `storesense devices mosquitto-acl` writes from the
Redis device registry: a provisioned device connects with its issued password and
publishes on its own topics; what it publishes on another store's or device's topic never
arrives; a wrong password is refused; the service user sees the whole root."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from storesense.backends.state.redis import RedisState
from storesense.cli.main import main
from storesense.protocol.topics import Topics
from storesense.registry.devices import DeviceRegistration, new_password
from storesense.registry.organisation import Store
from storesense.registry.provisioning import Provisioner
from storesense.registry.stores import create_store
from tests.servers import Mosquitto, Redis

ROOT = "storesense"


class EnforcingMosquitto(Mosquitto):
    name = "mosquitto-acl"

    def command(self) -> list[str]:
        config = self.workdir / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous false\n"
            f"password_file {self.workdir}/passwd\n"
            f"acl_file {self.workdir}/acl\n" + ("user root\n" if os.geteuid() == 0 else "")
        )
        return ["mosquitto", "-c", str(config)]


async def _provision(redis_url: str, prefix: str) -> str:
    """Register store s1 and device d1 in Redis; return the device's issued password."""
    state = RedisState(redis_url, prefix=prefix)
    sent: list[tuple[str, bytes]] = []

    async def publish(topic: str, payload: bytes, *, retain: bool = False) -> None:
        sent.append((topic, payload))

    try:
        await create_store(state, Store(id="s1", name="S1"))
        provisioner = Provisioner(state, Topics(ROOT), publish)
        done = await provisioner.register("s1", DeviceRegistration(id="d1", kind="rfid"))
    finally:
        await state.close()
    assert done.password is not None
    return done.password


@pytest.fixture
def broker(
    tmp_path: Path, redis_server: Redis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[EnforcingMosquitto, dict[str, str]]]:
    """Files written by `storesense devices mosquitto-acl` from a Redis registry."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    passwords = {"service": new_password()}
    passwords["s1.d1"] = asyncio.run(_provision(redis_server.url, prefix))
    server = EnforcingMosquitto(tmp_path / "broker")
    monkeypatch.setenv("STORESENSE_STATE__REDIS_URL", redis_server.url)
    monkeypatch.setenv("STORESENSE_STATE__KEY_PREFIX", prefix)
    monkeypatch.setenv("STORESENSE_TOPIC_ROOT", ROOT)
    monkeypatch.setenv(
        "STORESENSE_BROKER__URL", f"mqtt://service:{passwords['service']}@127.0.0.1:{server.port}"
    )
    code = main(
        ["devices", "mosquitto-acl", "--passwd", str(server.workdir / "passwd"),
         "--acl", str(server.workdir / "acl")]
    )  # fmt: skip
    assert code == 0
    server.start()
    yield server, passwords
    server.stop()


def _client(port: int, user: str, password: str) -> tuple[paho.Client, int]:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{user}-{time.time_ns()}")
    client.username_pw_set(user, password)
    connected = threading.Event()
    codes: list[int] = []

    def on_connect(_c: paho.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        codes.append(getattr(reason, "value", 0))
        connected.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    connected.wait(10)
    return client, codes[0] if codes else -1


def test_a_device_publishes_only_on_its_own_topics(
    broker: tuple[EnforcingMosquitto, dict[str, str]],
) -> None:
    server, passwords = broker
    received: list[str] = []
    service, code = _client(server.port, "service", passwords["service"])
    assert code == 0
    service.on_message = lambda _c, _u, message: received.append(message.topic)
    service.subscribe(f"{ROOT}/#", qos=1)
    time.sleep(0.3)
    device, code = _client(server.port, "s1.d1", passwords["s1.d1"])
    assert code == 0
    for topic in (f"{ROOT}/v1/s2/d1/events", f"{ROOT}/v1/s1/d2/events", f"{ROOT}/v1/s1/d1/events"):
        device.publish(topic, b"{}", qos=1).wait_for_publish(5)
    deadline = time.monotonic() + 5
    while f"{ROOT}/v1/s1/d1/events" not in received and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert received == [f"{ROOT}/v1/s1/d1/events"]
    _, refused = _client(server.port, "s1.d1", "wrong-password")
    assert refused != 0
    for client in (service, device):
        client.loop_stop()
        client.disconnect()
