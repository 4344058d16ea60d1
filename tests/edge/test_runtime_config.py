"""Live config from the retained `config` topic, its fallback file, and the config file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from edge.config import load_edge_config
from edge.runtime.live_config import LiveConfig
from edge.runtime.runner import AgentRunner
from storesense.errors import ConfigError
from tests.edge.counting_agent import CountingAgent
from tests.edge.helpers import CONFIG, edge_config, publish_retained, wait_for
from tests.servers import Mosquitto


def test_retained_config_is_applied_saved_and_bad_ones_keep_the_previous(
    tmp_path: Path, broker: Mosquitto
) -> None:
    publish_retained(broker.port, CONFIG, b'{"rate_hz": 5}')
    agent = CountingAgent(rate_hz=1)
    runner = AgentRunner(edge_config(tmp_path, broker.port), agent)
    runner.start()
    assert runner.live_config is not None
    live = runner.live_config
    try:
        wait_for(lambda: live.applied == 1, 10, "retained config applied")
        assert agent.applied == [{"rate_hz": 5}]
        assert json.loads(live.fallback_path.read_text()) == {"rate_hz": 5}

        for bad in (
            b'{"rate_hz": 5, "colour": "red"}',
            b"{not json",
            b"[1, 2]",
            b'{"rate_hz": -1}',
        ):
            publish_retained(broker.port, CONFIG, bad)
        wait_for(lambda: live.rejected == 4, 10, "four rejections")
        assert agent.rate_hz == 5 and agent.applied == [{"rate_hz": 5}]
        assert json.loads(live.fallback_path.read_text()) == {"rate_hz": 5}

        publish_retained(broker.port, CONFIG, b'{"rate_hz": 7}')
        wait_for(lambda: live.applied == 2, 10, "new config applied")
        assert agent.rate_hz == 7
        assert json.loads(live.fallback_path.read_text()) == {"rate_hz": 7}
    finally:
        runner.stop()


def test_fallback_config_is_applied_at_start_when_broker_is_down(
    tmp_path: Path, stopped_broker: Mosquitto
) -> None:
    config = edge_config(tmp_path, stopped_broker.port)
    config.outbox.fallback_config_path.write_text('{"rate_hz": 9}')
    agent = CountingAgent(rate_hz=1)
    runner = AgentRunner(config, agent)
    runner.start()
    try:
        assert agent.applied == [{"rate_hz": 9}]  # before start() returns: no broker needed
        assert runner.publisher is not None and not runner.publisher.connected
    finally:
        runner.stop()


def test_same_config_from_broker_as_fallback_is_not_applied_twice(tmp_path: Path) -> None:
    agent = CountingAgent()
    live = LiveConfig(agent, tmp_path / "fallback.json")
    assert live.apply(b'{"rate_hz": 3}')
    assert live.load_fallback()  # the file it just saved
    assert live.apply(b'{ "rate_hz" : 3 }')
    assert agent.applied == [{"rate_hz": 3}]


def test_cleared_retained_config_keeps_the_current(tmp_path: Path) -> None:
    agent = CountingAgent()
    live = LiveConfig(agent, tmp_path / "fallback.json")
    live.apply(b'{"rate_hz": 3}')
    assert not live.apply(b"")
    assert live.current == {"rate_hz": 3} and agent.rate_hz == 3


def test_unreadable_fallback_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "fallback.json").write_text("garbage")
    agent = CountingAgent()
    assert not LiveConfig(agent, tmp_path / "fallback.json").load_fallback()
    assert agent.applied == []


@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_config_file_in_toml_or_yaml(tmp_path: Path, suffix: str) -> None:
    text = {
        ".toml": 'store = "s1"\ndevice = "d1"\n[broker]\nurl = "mqtts://u:p%40ss@h"\n'
        "[door]\nline = [0, 1]\n",
        ".yaml": "store: s1\ndevice: d1\nbroker:\n  url: mqtts://u:p%40ss@h\ndoor:\n  line: [0, 1]\n",
    }[suffix]
    path = tmp_path / f"agent{suffix}"
    path.write_text(text)
    config = load_edge_config(path)
    endpoint = config.broker.endpoint()
    assert (endpoint.host, endpoint.port, endpoint.tls) == ("h", 8883, True)
    assert (endpoint.username, endpoint.password) == ("u", "p@ss")
    assert config.agent_section("door") == {"line": [0, 1]}
    assert config.client_id == "storesense-edge-s1-d1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('device = "d1"\n', "key `store`: Field required"),
        ('store = "S 1"\ndevice = "d1"\n', "key `store`: String should match pattern"),
        ('store = "s1"\ndevice = "d1"\n[broker]\nurl = "http://h"\n', "key `broker.url`"),
        ('store = "s1"\ndevice = "d1"\n[outbox]\nmax_events = 0\n', "key `outbox.max_events`"),
        ('store = "s1"\ndevice = "d1"\nheartbeat = 5\n', "key `heartbeat`: Extra inputs"),
        ('store = "s1"\ndevice = "d1"\n[broker]\ncert_file = "c.pem"\n', "key_file"),
        ("store = \n", "not valid TOML"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        load_edge_config(path)
    assert str(path) in str(info.value)
