"""`python -m simulators`: run a simulated store against a broker and print the report."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import msgspec

from simulators.run import SimulationOptions, broker_fields_from_url, run_simulation
from storesense.errors import StoresenseError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators", description=__doc__)
    parser.add_argument("--url", help="broker, mqtt[s]://[user:pass@]host[:port]")
    parser.add_argument("--demo", action="store_true", help="real time, member within 30 s")
    parser.add_argument("--store")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--speed", type=float, help="simulated s per real s; 0 = flat out")
    parser.add_argument("--duration-s", type=float)
    parser.add_argument("--visitors-per-hour", type=float)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--members-csv", type=Path, dest="members_csv_out")
    parser.add_argument("--products-csv", type=Path, dest="products_csv_out")
    parser.add_argument("--ground-truth", type=Path, dest="ground_truth_out")
    parser.add_argument("--stock-readers", action="store_true", default=None)
    args = vars(parser.parse_args(argv))
    url, demo = args.pop("url"), args.pop("demo")
    overrides: dict[str, Any] = {key: value for key, value in args.items() if value is not None}
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        if url:
            overrides |= broker_fields_from_url(url)
        options = SimulationOptions.demo(**overrides) if demo else SimulationOptions(**overrides)
        report = asyncio.run(run_simulation(options))
    except StoresenseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    summary = msgspec.to_builtins(report)
    # Totals only: per-GTIN, per-member and per-visit truth go to --ground-truth.
    summary["truth"] = {
        key: value
        for key, value in summary["truth"].items()
        if not isinstance(value, dict | list) or key == "events_by_type"
    }
    print(msgspec.json.format(msgspec.json.encode(summary), indent=2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
