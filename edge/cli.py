"""`storesense edge rfid|door|beacon --config FILE`: run one edge agent.

Agent modules are imported only for the kind asked for, so a missing optional dependency
of one agent (OpenCV, sllurp, bleak) does not break the others.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from edge.config import AGENT_KINDS, AgentKind, load_edge_config
from edge.runtime.base import Agent
from edge.runtime.runner import AgentRunner
from storesense.errors import ConfigError, StoresenseError
from storesense.settings import Settings

log = logging.getLogger(__name__)

# kind -> (module, class); imported only when that kind is run
AGENTS: dict[AgentKind, tuple[str, str]] = {
    "rfid": ("edge.rfid.agent", "RfidAgent"),
    "door": ("edge.door.agent", "DoorAgent"),
    "beacon": ("edge.beacon.agent", "BeaconAgent"),
}


class AgentUnavailable(StoresenseError):
    """The agent's module, or a library it needs, is not installed."""


class AgentFactory(Protocol):
    def from_config(self, section: Mapping[str, Any]) -> Agent: ...


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    edge = commands.add_parser(
        "edge",
        help="run an edge agent (rfid, door or beacon) on store hardware",
        description=(
            "Run one edge agent: it reads its hardware, keeps every event in a durable "
            "on-disk outbox and publishes to the broker, reconnecting as needed. Its settings "
            "come from its own TOML or YAML file (examples in deploy/edge/)."
        ),
    )
    kinds = edge.add_subparsers(dest="edge_kind", required=True, metavar="KIND")
    for kind in AGENT_KINDS:
        parser = kinds.add_parser(kind, help=f"the {kind} agent")
        parser.add_argument(
            "--config",
            dest="edge_config",
            type=Path,
            required=True,
            metavar="FILE",
            help=f"the agent's TOML or YAML config (store, device, broker, outbox, [{kind}])",
        )
    calibrate = kinds.add_parser(
        "door-calibrate",
        help="measure one person at the door from a walk-test video",
        description=(
            "The installer's walk test: record people walking through the door one at a "
            "time, then run this with the door agent's config (its line and band). It prints "
            "`person_area` and `person_aspect` for the [door] section, so that the counter "
            "tells one person from two walking abreast."
        ),
    )
    calibrate.add_argument("--config", dest="edge_config", type=Path, required=True)
    calibrate.add_argument(
        "--video", type=Path, required=True, help="the walk-test video file (any OpenCV format)"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.edge_kind == "door-calibrate":
        return _calibrate_door(args.edge_config, args.video)
    kind: AgentKind = args.edge_kind
    config = load_edge_config(args.edge_config)
    factory = load_agent_class(kind)
    try:
        agent = factory.from_config(config.agent_section(kind))
    except ValueError as exc:
        raise ConfigError(f"edge config {args.edge_config}: section [{kind}]: {exc}") from None
    if agent.kind != kind:
        log.warning("agent reports kind=%s, run as %s", agent.kind, kind)
    return AgentRunner(config, agent).run()


def load_agent_class(kind: AgentKind) -> AgentFactory:
    """Import the agent class for `kind`; raise AgentUnavailable saying what is missing."""
    module_name, class_name = AGENTS[kind]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise AgentUnavailable(
                f"the {kind} agent is not part of this installation "
                f"(module {module_name} not found)"
            ) from None
        raise AgentUnavailable(
            f"the {kind} agent needs the Python package providing {missing!r}, which is not "
            f"installed; install it into this environment and retry"
        ) from None
    factory = getattr(module, class_name, None)
    if factory is None:
        raise AgentUnavailable(f"module {module_name} has no class {class_name}")
    return factory  # type: ignore[no-any-return]


def _calibrate_door(config_path: Path, video: Path) -> int:
    from edge.door.calibrate import measure_person
    from edge.door.config import parse_config
    from edge.door.errors import CalibrationError, SourceError
    from edge.door.sources import SourceSettings, VideoSource

    config = load_edge_config(config_path)
    try:
        door = parse_config(config.agent_section("door"))
    except ValueError as exc:
        raise ConfigError(f"edge config {config_path}: section [door]: {exc}") from None
    source = VideoSource(SourceSettings(source=str(video), fps=door.fps))
    try:
        # Held in memory (measured twice): a walk test is a minute or two of video.
        frames = [frame.image for frame in source.frames(threading.Event())]
        person = measure_person(frames, door.counter_settings(), source.fps)
    except (CalibrationError, SourceError) as exc:
        raise ConfigError(f"door-calibrate: {exc}") from None
    print(f"# measured over {person.samples} frames of {video}; put in the [door] section:")
    print(f"person_area = {person.area:.0f}")
    print(f"person_aspect = {person.aspect:.2f}")
    if person.radial_growth:
        print("# seen from above: a person shows more of their side away from the centre")
        print(f"radial_growth = {person.radial_growth:.5f}")
        print(f"radial_from = {person.radial_from:.0f}")
    return 0
