"""`storesense serve`: broker (if embedded), ingest and API in one process."""

from __future__ import annotations

import argparse
import asyncio
import signal

from api.auth.bootstrap import FIRST_ADMIN, ensure_first_admin
from storesense.settings import Settings
from storesense.stack import running_stack


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands.add_parser(
        "serve",
        help="run broker (embedded unless configured), ingest and API in one process",
        description=(
            "Run the whole service. With nothing configured it uses an embedded MQTT broker "
            "(port 1884), in-memory state and a SQLite time-series file in ./.storesense. "
            "Point it at real services with STORESENSE_BROKER__URL, STORESENSE_STATE__REDIS_URL "
            "and STORESENSE_TIMESERIES__INFLUX_URL (see README)."
        ),
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    print(f"storesense: API and live alerts on http://{settings.api.host}:{settings.api.port}/")
    asyncio.run(serve_until_stopped(settings))
    return 0


async def serve_until_stopped(settings: Settings) -> None:
    stop = stop_event()
    async with running_stack(settings) as stack:
        if password := await ensure_first_admin(stack.state):
            print(
                f"storesense: no users yet; created the first admin: user `{FIRST_ADMIN}`, "
                f"password {password} (shown once; with Redis change it with "
                f"`storesense users passwd {FIRST_ADMIN}`)",
                flush=True,
            )
        await stop.wait()


def stop_event() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, for a clean shutdown."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
