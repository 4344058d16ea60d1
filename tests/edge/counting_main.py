"""Entry point for fault tests: `python -m tests.edge.counting_main CONFIG.toml` runs the
counting agent under AgentRunner (its [door] section: rate_hz, progress, limit)."""

from __future__ import annotations

import sys

from edge.config import load_edge_config
from edge.runtime.runner import AgentRunner
from storesense.logs import setup_logging
from tests.edge.counting_agent import CountingAgent


def main(argv: list[str]) -> int:
    setup_logging("INFO")
    config = load_edge_config(argv[0])
    return AgentRunner(config, CountingAgent.from_config(config.door)).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
