"""Credentials and TLS against real Mosquitto brokers configured for them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from edge.runtime.runner import AgentRunner
from tests.edge.brokers import PasswordMosquitto, TlsMosquitto
from tests.edge.counting_agent import CountingAgent
from tests.edge.helpers import EVENTS, Recorder, edge_config, wait_for


@pytest.fixture
def password_broker(tmp_path: Path) -> Iterator[PasswordMosquitto]:
    server = PasswordMosquitto(tmp_path / "mosquitto")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[TlsMosquitto]:
    server = TlsMosquitto(tmp_path / "mosquitto")
    server.start()
    yield server
    server.stop()


def test_username_and_password_from_the_url(
    tmp_path: Path, password_broker: PasswordMosquitto
) -> None:
    user, password = password_broker.username, password_broker.password
    recorder = Recorder(password_broker.port, [EVENTS], username=user, password=password)
    url = f"mqtt://{user}:{quote(password, safe='')}@127.0.0.1:{password_broker.port}"
    runner = AgentRunner(
        edge_config(tmp_path, password_broker.port, broker={"url": url}),
        CountingAgent(rate_hz=1000, limit=20),
    )
    runner.start()
    try:
        wait_for(lambda: len(recorder.seqs()) >= 20, 10, "events with credentials")
    finally:
        runner.stop()
        recorder.close()
    assert recorder.seqs() == list(range(1, 21))


def test_wrong_password_keeps_events_in_the_outbox(
    tmp_path: Path, password_broker: PasswordMosquitto
) -> None:
    url = f"mqtt://{password_broker.username}:wrong@127.0.0.1:{password_broker.port}"
    runner = AgentRunner(
        edge_config(tmp_path, password_broker.port, broker={"url": url}),
        CountingAgent(rate_hz=1000, limit=20),
        flush_timeout_s=0.5,
    )
    runner.start()
    try:
        wait_for(lambda: runner.sink is not None and runner.sink.emitted == 20, 5, "emits")
        time.sleep(1.5)  # refused at least once
        assert runner.publisher is not None and not runner.publisher.connected
        assert runner.outbox is not None and runner.outbox.depth == 20
    finally:
        assert not runner.stop()  # not flushed: nothing was acknowledged


def test_tls_with_client_certificate(tmp_path: Path, tls_broker: TlsMosquitto) -> None:
    certs = tls_broker.certs
    recorder = Recorder(tls_broker.plain_port, [EVENTS])
    config = edge_config(
        tmp_path,
        tls_broker.port,
        broker={
            "url": f"mqtts://127.0.0.1:{tls_broker.port}",
            "ca_file": str(certs / "ca.pem"),
            "cert_file": str(certs / "client.pem"),
            "key_file": str(certs / "client.key"),
        },
    )
    runner = AgentRunner(config, CountingAgent(rate_hz=1000, limit=20))
    runner.start()
    try:
        wait_for(lambda: len(recorder.seqs()) >= 20, 10, "events over TLS")
    finally:
        runner.stop()
        recorder.close()
    assert recorder.seqs() == list(range(1, 21))


def test_tls_without_client_certificate_is_refused(
    tmp_path: Path, tls_broker: TlsMosquitto
) -> None:
    config = edge_config(
        tmp_path,
        tls_broker.port,
        broker={
            "url": f"mqtts://127.0.0.1:{tls_broker.port}",
            "ca_file": str(tls_broker.certs / "ca.pem"),
        },
    )
    runner = AgentRunner(config, CountingAgent(rate_hz=1000, limit=5), flush_timeout_s=0.5)
    runner.start()
    try:
        time.sleep(1.5)
        assert runner.publisher is not None and not runner.publisher.connected
        assert runner.outbox is not None and runner.outbox.depth == 5
    finally:
        runner.stop()
