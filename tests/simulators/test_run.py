from __future__ import annotations

import asyncio
import csv
from collections import defaultdict
from pathlib import Path

import aiomqtt
import msgspec
import pytest

from simulators.population import MEMBER_CSV_COLUMNS
from simulators.run import (
    SimulationOptions,
    broker_fields_from_url,
    plan_simulation,
    run_simulation,
)
from simulators.scenario import DEVICES
from simulators.truth import GroundTruth
from storesense.errors import ConfigError
from storesense.protocol.decode import decode_events
from storesense.protocol.topics import Topics
from tests.servers import Mosquitto
from tests.simulators.mqtt_helpers import Received, collect

START_MS = 1_780_000_000_000


@pytest.mark.parametrize("batch_size", [1, 25])
async def test_a_run_publishes_every_message_the_report_counts(
    mosquitto: Mosquitto, batch_size: int
) -> None:
    store = f"run-batch-{batch_size}"
    options = SimulationOptions(
        host="127.0.0.1",
        port=mosquitto.port,
        store=store,
        seed=21,
        speed=0,
        duration_s=1800,
        start_ms=START_MS,
        batch_size=batch_size,
    )
    topics = Topics()
    received = Received()
    async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier=f"sub-{store}") as sub:
        await sub.subscribe(f"storesense/v1/{store}/#", qos=1)
        async with asyncio.timeout(60):
            async with asyncio.TaskGroup() as group:
                collecting = group.create_task(collect(sub, received, set(DEVICES), topics))
                report = await run_simulation(options)
                await collecting

    assert report.messages == len(received.events) > 0
    assert report.events == report.truth.events
    assert report.status_messages == 2 * len(DEVICES)
    by_device: dict[str, list[str]] = defaultdict(list)
    for device, payload in received.events:
        decoded = decode_events(payload, store, device)
        assert decoded.rejected == []
        by_device[device].extend(a.event.id for a in decoded.accepted)
    assert sum(len(ids) for ids in by_device.values()) == report.events
    assert {d: len(ids) for d, ids in by_device.items()} == report.events_by_device
    for device, ids in by_device.items():
        assert ids == sorted(ids) and len(set(ids)) == len(ids), device  # in order, once
    if batch_size > 1:
        assert report.messages < report.events
    # Each device said online first and offline last, both retained on the broker.
    for device, kind in DEVICES.items():
        states = [s for d, s, _ in received.statuses if d == device]
        assert [s["state"] for s in states] == ["online", "offline"]
        assert all(s["kind"] == kind and s["version"] for s in states)


async def test_a_run_writes_the_member_csv_and_the_ground_truth(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    options = SimulationOptions(
        port=mosquitto.port,
        store="files",
        seed=4,
        speed=None,
        duration_s=600,
        start_ms=START_MS,
        member_count=50,
        members_csv_out=tmp_path / "members.csv",
        products_csv_out=tmp_path / "products.csv",
        ground_truth_out=tmp_path / "truth.json",
    )
    report = await run_simulation(options)
    truth = msgspec.json.decode((tmp_path / "truth.json").read_bytes(), type=GroundTruth)
    assert truth == report.truth
    rows = list(csv.DictReader((tmp_path / "members.csv").read_text("utf-8").splitlines()))
    assert len(rows) == 50 and tuple(rows[0]) == MEMBER_CSV_COLUMNS
    assert set(truth.member_visits) <= {row["member_id"] for row in rows}
    assert (tmp_path / "products.csv").read_text("utf-8").startswith("gtin,")


def test_the_same_options_plan_the_same_run() -> None:
    options = SimulationOptions(seed=8, duration_s=900, start_ms=START_MS, batch_size=10)
    first, second = plan_simulation(options), plan_simulation(options)
    assert [m.payload for m in first.messages] == [m.payload for m in second.messages]
    assert first.members == second.members and first.run == second.run


def test_without_a_start_time_the_run_starts_now() -> None:
    plan = plan_simulation(SimulationOptions(duration_s=600), now_ms=START_MS)
    assert plan.start_ms == START_MS == plan.scenario.truth.start_ms


def test_demo_preset_brings_a_recognisable_member_early() -> None:
    options = SimulationOptions.demo(seed=3, start_ms=START_MS)
    assert options.early_member_s == 30 and options.speed == 1.0
    plan = plan_simulation(options)
    first = plan.scenario.truth.parties[0]
    assert first.consent and first.has_app and first.app_ids
    assert first.arrived_ms - START_MS <= 30_000
    assert SimulationOptions.demo(speed=10.0).speed == 10.0


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 501}, "batch_size"),
        ({"speed": -1.0}, "speed"),
        ({"port": 0}, "port"),
        ({"topic_root": "Store Sense"}, "topic_root"),
        ({"store": "bad/store"}, "store"),
        ({"member_share": 2.0}, "member_share"),
        ({"consent_share": -0.1}, "consent_share"),
        ({"duration_s": 0}, "duration_s"),
    ],
)
def test_bad_options_are_refused_with_the_option_named(
    overrides: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ConfigError, match=complaint):
        SimulationOptions(**overrides)  # type: ignore[arg-type]


def test_broker_urls_give_the_connection_fields() -> None:
    fields = broker_fields_from_url("mqtts://sim:secret@broker.example:8884")
    assert fields == {
        "host": "broker.example",
        "port": 8884,
        "username": "sim",
        "password": "secret",
        "tls": True,
    }
    assert broker_fields_from_url("mqtt://localhost")["port"] == 1883
    with pytest.raises(ConfigError, match="broker url"):
        broker_fields_from_url("http://localhost")
