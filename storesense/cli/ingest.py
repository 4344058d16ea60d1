"""`storesense ingest [--workers N]`: ingest workers sharing the load through an MQTT
shared subscription, with state in Redis; no broker, no API in these processes."""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server

from storesense.cli.serve import stop_event
from storesense.errors import ConfigError
from storesense.logs import setup_logging
from storesense.settings import Settings, load_settings
from storesense.stack import running_ingest

log = logging.getLogger(__name__)
_RESTART_BACKOFF_S = (1.0, 30.0)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "ingest",
        help="run ingest workers only (scale-out: external broker + Redis)",
        description=(
            "Run N ingest workers that share the device events through the MQTT shared "
            "subscription $share/<group>/…; run more on other machines with the same group. "
            "Needs an external broker (STORESENSE_BROKER__URL) and Redis "
            "(STORESENSE_STATE__REDIS_URL): workers share state there. Each worker keeps a "
            "persistent MQTT session (client id <prefix>-ingest-<group>-<host>-<n>), so "
            "messages that arrive while it restarts wait for it. A worker that dies is restarted."
        ),
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--group", default=None, help="shared-subscription group (default: settings, or 'ingest')"
    )
    parser.add_argument(
        "--metrics-port", type=int, default=None,
        help="serve Prometheus metrics of worker n on this port + n",
    )  # fmt: skip


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    if settings.broker.embedded:
        raise ConfigError(
            "storesense ingest needs an external broker: set STORESENSE_BROKER__URL "
            "(the embedded broker runs inside `storesense serve`)"
        )
    if not settings.state.redis_url:
        raise ConfigError(
            "storesense ingest needs Redis for state shared by its workers: set "
            "STORESENSE_STATE__REDIS_URL (or use `storesense serve` for one process)"
        )
    group = args.group or settings.ingest.shared_group or "ingest"
    config: Path | None = args.config
    context = multiprocessing.get_context("spawn")
    workers: dict[int, BaseProcess] = {}
    restarts: dict[int, float] = {}
    stopping = False

    def start(index: int) -> None:
        process = context.Process(
            target=worker_main,
            args=(config, index, group, args.metrics_port),
            name=f"ingest-{index}",
        )
        process.start()
        workers[index] = process
        log.info("ingest worker started index=%d pid=%s group=%s", index, process.pid, group)

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for process in workers.values():
            if process.is_alive() and process.pid is not None:
                process.terminate()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    for index in range(args.workers):
        start(index)
    print(f"storesense ingest: {args.workers} worker(s) in group {group!r}; Ctrl-C stops")
    while not stopping:
        time.sleep(0.5)
        for index, process in list(workers.items()):
            if process.is_alive() or stopping:
                continue
            delay = min(restarts.get(index, _RESTART_BACKOFF_S[0] / 2) * 2, _RESTART_BACKOFF_S[1])
            restarts[index] = delay
            log.error(
                "ingest worker died index=%d exitcode=%s restart_in=%.0fs",
                index, process.exitcode, delay,
            )  # fmt: skip
            time.sleep(delay)
            start(index)
    for process in workers.values():
        process.join(timeout=15)
        if process.is_alive():
            process.kill()
    return 0


def worker_main(config: Path | None, index: int, group: str, metrics_port: int | None) -> None:
    """One worker process: its own settings (shared group, persistent client id)."""
    base = load_settings(config)
    name = f"ingest-{group}-{_host()}-{index}"
    overrides: dict[str, Any] = {
        "ingest": {"shared_group": group, "client_id": f"{base.broker.client_id_prefix}-{name}"},
        # Each worker buffers InfluxDB outages in a spool file of its own.
        "timeseries": {
            "spool_path": base.spool_path().with_name(f"timeseries-spool-{name}.sqlite")
        },
    }
    settings = load_settings(config, **overrides)
    setup_logging(settings.log_level)
    registry = CollectorRegistry()
    if metrics_port is not None:
        start_http_server(metrics_port + index, registry=registry)
    asyncio.run(_serve(settings, registry))


async def _serve(settings: Settings, registry: CollectorRegistry) -> None:
    stop = stop_event()
    async with running_ingest(settings, registry):
        await stop.wait()


def _host() -> str:
    return socket.gethostname().split(".")[0].lower()
