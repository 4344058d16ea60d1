"""`storesense edge KIND --config FILE` and the example deployment files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from edge import cli
from edge.config import AGENT_KINDS, AgentKind, load_edge_config
from storesense.cli import main
from tests.edge.helpers import EVENTS, Recorder, config_data, wait_for, write_toml
from tests.servers import Mosquitto

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", AGENT_KINDS)
def test_example_configs_are_valid(kind: AgentKind) -> None:
    config = load_edge_config(REPO / "deploy" / "edge" / f"{kind}.toml")
    assert config.outbox.path == Path(f"/var/lib/storesense/edge-{kind}/outbox.sqlite")
    assert config.broker.endpoint().tls
    agent = cli.load_agent_class(kind).from_config(config.agent_section(kind))
    assert agent.kind == kind


def test_systemd_unit_runs_the_kind_named_by_the_instance() -> None:
    unit = (REPO / "deploy" / "systemd" / "storesense-edge@.service").read_text()
    assert "storesense edge %i --config /etc/storesense/edge-%i.toml" in unit
    assert "Restart=always" in unit


def test_edge_config_option_does_not_clash_with_the_settings_file() -> None:
    args = main.build_parser().parse_args(
        ["--config", "settings.toml", "edge", "door", "--config", "agent.toml"]
    )
    assert (args.config, args.edge_config, args.edge_kind) == (
        Path("settings.toml"),
        Path("agent.toml"),
        "door",
    )


def test_missing_agent_module_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli.AGENTS, "door", ("tests.edge.no_such_agent", "DoorAgent"))
    monkeypatch.setattr(main, "setup_logging", lambda level: None)
    config = write_toml(tmp_path / "agent.toml", config_data(tmp_path, 1883))
    assert main.main(["edge", "door", "--config", str(config)]) == 2
    assert "the door agent is not part of this installation" in capsys.readouterr().err


def test_missing_optional_dependency_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "needs_cv.py").write_text("import cv9000_not_installed\nclass DoorAgent: ...\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.AGENTS, "door", ("needs_cv", "DoorAgent"))
    with pytest.raises(cli.AgentUnavailable, match="'cv9000_not_installed'"):
        cli.load_agent_class("door")
    sys.modules.pop("needs_cv", None)


def test_bad_agent_section_names_the_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli.AGENTS, "door", ("tests.edge.counting_agent", "CountingAgent"))
    monkeypatch.setattr(main, "setup_logging", lambda level: None)
    data = config_data(tmp_path, 1883, door={"colour": "red"})
    config = write_toml(tmp_path / "agent.toml", data)
    assert main.main(["edge", "door", "--config", str(config)]) == 2
    assert "section [door]: unknown key `colour`" in capsys.readouterr().err


def test_edge_command_runs_the_agent_until_it_ends(
    tmp_path: Path, broker: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(cli.AGENTS, "door", ("tests.edge.counting_agent", "CountingAgent"))
    monkeypatch.setattr(main, "setup_logging", lambda level: None)
    data = config_data(tmp_path, broker.port, door={"rate_hz": 1000, "limit": 30})
    config = write_toml(tmp_path / "agent.toml", data)
    recorder = Recorder(broker.port, [EVENTS])
    try:
        assert main.main(["edge", "door", "--config", str(config)]) == 0
        wait_for(lambda: len(recorder.seqs()) >= 30, 5, "events")
    finally:
        recorder.close()
    assert recorder.seqs() == list(range(1, 31))
