"""Fixtures for backend tests that stop and start their own servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import InfluxDB


@pytest.fixture
def own_influxdb(tmp_path: Path) -> Iterator[InfluxDB]:
    """A private server this test may stop and start."""
    server = InfluxDB(tmp_path / "influx")
    server.start()
    yield server
    server.stop()
