"""Shared fixtures: private real servers, started once per session on free ports."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storesense.backends.state.base import StateStore
from storesense.backends.state.memory import MemoryState
from storesense.backends.state.redis import RedisState
from tests.servers import InfluxDB, Mosquitto, Redis


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    server = Redis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    server = InfluxDB(tmp_path_factory.mktemp("influxdb"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["memory", "redis"])
async def state(request: pytest.FixtureRequest) -> AsyncIterator[StateStore]:
    """Each StateStore implementation: in memory, and on the session's real Redis (under a
    key prefix of its own). A test module may override it with a `state` of its own."""
    if request.param == "memory":
        store: StateStore = MemoryState()
    else:
        server: Redis = request.getfixturevalue("redis_server")
        store = RedisState(server.url, prefix=f"t{uuid.uuid4().hex[:8]}")
    yield store
    await store.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path
