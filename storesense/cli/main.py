"""`storesense`: serve, demo, simulate, ingest, members/staff/products import, edge."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import storesense
from edge import cli as edge
from storesense.cli import demo, devices, ingest, registry, serve, simulate, users
from storesense.errors import StoresenseError
from storesense.logs import setup_logging
from storesense.settings import load_settings

COMMANDS = {
    "serve": serve,
    "demo": demo,
    "simulate": simulate,
    "ingest": ingest,
    "members": registry,
    "staff": registry,
    "products": registry,
    "devices": devices,
    "edge": edge,
    "users": users,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="storesense",
        description=(
            "In-store sensing and recognition. Settings come from STORESENSE_* environment "
            "variables and an optional TOML file (--config); defaults run everything embedded."
        ),
    )
    parser.add_argument("--version", action="version", version=storesense.__version__)
    parser.add_argument(
        "--config", type=Path, default=None, help="TOML settings file (env STORESENSE_CONFIG)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.add_parser(commands)
    demo.add_parser(commands)
    simulate.add_parser(commands)
    ingest.add_parser(commands)
    registry.add_parsers(commands)
    devices.add_parser(commands)
    edge.add_parser(commands)
    users.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        setup_logging(settings.log_level)
        return int(COMMANDS[args.command].run(args, settings))
    except StoresenseError as exc:
        print(f"storesense: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BaseExceptionGroup as group:  # from task groups: report our own errors plainly
        matched, _ = group.split(StoresenseError)
        if matched is None:
            raise
        for error in _leaves(matched):
            print(f"storesense: error: {error}", file=sys.stderr)
        return 2


def _leaves(group: BaseExceptionGroup[StoresenseError]) -> list[BaseException]:
    found: list[BaseException] = []
    for error in group.exceptions:
        found.extend(_leaves(error) if isinstance(error, BaseExceptionGroup) else [error])
    return found


if __name__ == "__main__":
    sys.exit(main())
