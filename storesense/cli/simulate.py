"""`storesense simulate`: a virtual store publishing over the real protocol to any broker."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import msgspec

from simulators.run import SimulationOptions, broker_fields_from_url, run_simulation
from storesense.settings import Settings


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "simulate",
        help="publish a simulated store (door, BLE, RFID, POS) to a broker",
        description=(
            "Simulate a store over device protocol v1: door crossings, members' phones "
            "advertising rotating IDs, anonymous phones, RFID fitting rooms and sales. "
            "Deterministic for a given --seed and --start-ms. Publishes to the configured "
            "broker (STORESENSE_BROKER__URL, else the embedded broker's address) or --broker. "
            "Prints a JSON report with the ground truth at the end."
        ),
    )
    add_simulation_options(parser)
    parser.add_argument("--broker", help="mqtt[s]://[user:pass@]host[:port] (default: settings)")
    parser.add_argument("--duration-s", type=float, help="simulated seconds (default 3600)")
    parser.add_argument("--start-ms", type=int, help="simulated opening time, epoch ms")
    parser.add_argument("--batch-size", type=int, help="events per message, 1-500 (default 1)")
    parser.add_argument("--members-csv", type=Path, help="write the member registry CSV here")
    parser.add_argument("--products-csv", type=Path, help="write the product catalog CSV here")
    parser.add_argument("--ground-truth", type=Path, help="write the ground truth JSON here")
    parser.add_argument(
        "--stock-readers",
        action="store_true",
        default=None,
        help="floor and backroom RFID readers: stock moving all day, restocks in the truth",
    )


def add_simulation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="store id (default demo-store)")
    parser.add_argument("--seed", type=int, help="random seed (default 1)")
    parser.add_argument(
        "--speed", type=float, help="simulated seconds per real second; 0 = as fast as possible"
    )
    parser.add_argument("--visitors-per-hour", type=float, help="arriving parties per hour")


def simulation_overrides(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """SimulationOptions fields from the command line and the broker settings."""
    broker_url = getattr(args, "broker", None) or settings.broker.url
    if broker_url:
        fields = broker_fields_from_url(broker_url)
    else:
        endpoint = settings.broker.endpoint()
        fields = {"host": endpoint.host, "port": endpoint.port}
    fields["topic_root"] = settings.topic_root
    names = {
        "store": "store", "seed": "seed", "speed": "speed", "visitors_per_hour":
        "visitors_per_hour", "duration_s": "duration_s", "start_ms": "start_ms",
        "batch_size": "batch_size", "members_csv": "members_csv_out",
        "products_csv": "products_csv_out", "ground_truth": "ground_truth_out",
        "stock_readers": "stock_readers",
    }  # fmt: skip
    for arg, field in names.items():
        value = getattr(args, arg, None)
        if value is not None:
            fields[field] = value
    return fields


def run(args: argparse.Namespace, settings: Settings) -> int:
    options = SimulationOptions(**simulation_overrides(args, settings))
    report = asyncio.run(run_simulation(options))
    summary = msgspec.to_builtins(report)
    summary["truth"].pop("parties", None)
    print(msgspec.json.format(msgspec.json.encode(summary), indent=2).decode())
    return 0
