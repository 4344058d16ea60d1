"""Fixtures for runtime tests: a private Mosquitto per test (tests stop and restart it),
with working persistence (sessions and retained messages survive a restart)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.edge.brokers import DurableMosquitto


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[DurableMosquitto]:
    server = DurableMosquitto(tmp_path / "mosquitto")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stopped_broker(tmp_path: Path) -> Iterator[DurableMosquitto]:
    """A broker with its port chosen but not started: the test starts it."""
    server = DurableMosquitto(tmp_path / "mosquitto")
    yield server
    server.stop()
