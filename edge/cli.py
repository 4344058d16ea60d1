"""`storesense edge rfid|door|beacon --config FILE`: run one edge agent.

Agent modules are imported only for the kind asked for, so a missing optional dependency
of one agent (OpenCV, sllurp, bleak) does not break the others.
"""

from __future__ import annotations

import argparse
import importlib
import logging
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


def run(args: argparse.Namespace, settings: Settings) -> int:
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
