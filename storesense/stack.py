"""The whole service in one process: embedded broker (unless external), ingest and API.

This is the composition root: the only place that wires backends to components.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import uvicorn
from prometheus_client import CollectorRegistry

from api.app import create_app
from ingest.service import run_ingest
from storesense.backends.broker.embedded import check_port_free, embedded_broker
from storesense.backends.state import StateStore, open_state
from storesense.backends.timeseries import BatchingWriter, PointSpool, open_timeseries
from storesense.backends.timeseries.base import TimeSeriesStore
from storesense.cancelling import cancel_and_wait
from storesense.errors import BackendUnavailable
from storesense.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunningStack:
    settings: Settings
    state: StateStore
    server: uvicorn.Server

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.api.host}:{self.settings.api.port}"


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the stack owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def running_stack(
    settings: Settings, on_ingest_ready: Callable[[], None] | None = None
) -> AsyncIterator[RunningStack]:
    """Start broker (if embedded), backends, ingest and the API; stop them on exit.
    Yields once the API answers and ingest is subscribed."""
    check_port_free(settings.api.host, settings.api.port, "the API", "STORESENSE_API__PORT")
    registry = CollectorRegistry()
    async with AsyncExitStack() as stack:
        if settings.broker.embedded:
            await stack.enter_async_context(
                embedded_broker(settings.broker.embedded_host, settings.broker.embedded_port)
            )
        state, writer, series = await _open_backends(stack, settings)

        ingest_ready = asyncio.Event()

        def mark_ready() -> None:
            ingest_ready.set()
            if on_ingest_ready is not None:
                on_ingest_ready()

        server = _Server(
            uvicorn.Config(
                create_app(settings, state, registry, points=writer, series=series),
                host=settings.api.host,
                port=settings.api.port,
                log_level="warning",
                lifespan="on",
                # Live streams never end by themselves; don't let them hold up shutdown.
                timeout_graceful_shutdown=3,
            )
        )
        async with asyncio.TaskGroup() as group:
            ingest = group.create_task(
                run_ingest(settings, state, writer, registry, ready=mark_ready), name="ingest"
            )
            api = group.create_task(_serve_api(server, settings), name="api")
            await _wait_started(server, ingest_ready, (ingest, api))
            log.info(
                "storesense running api=http://%s:%d broker=%s state=%s timeseries=%s",
                settings.api.host, settings.api.port,
                "embedded" if settings.broker.embedded else settings.broker.url,
                "redis" if settings.state.redis_url else "memory",
                "influxdb" if settings.timeseries.influx_url else settings.sqlite_path(),
            )  # fmt: skip
            try:
                yield RunningStack(settings=settings, state=state, server=server)
            finally:
                server.should_exit = True
                await cancel_and_wait(ingest)


async def _open_backends(
    stack: AsyncExitStack, settings: Settings
) -> tuple[StateStore, BatchingWriter, TimeSeriesStore]:
    """State, the time-series writer and the store it writes to, closed by `stack`."""
    state = open_state(settings)
    stack.push_async_callback(state.close)
    await state.ping()
    timeseries = open_timeseries(settings)
    stack.push_async_callback(timeseries.close)
    writer = BatchingWriter(
        timeseries,
        batch_size=settings.timeseries.batch_size,
        flush_interval_s=settings.timeseries.flush_interval_s,
        max_buffered_points=settings.timeseries.max_buffered_points,
        # InfluxDB is another machine that may be down; the embedded SQLite needs no spool.
        spool=PointSpool(settings.spool_path(), settings.timeseries.spool_max_bytes)
        if settings.timeseries.influx_url
        else None,
    )
    await stack.enter_async_context(writer)
    return state, writer, timeseries


@asynccontextmanager
async def running_ingest(
    settings: Settings, registry: CollectorRegistry | None = None
) -> AsyncIterator[StateStore]:
    """An ingest worker alone (no broker, no API): for `storesense ingest --workers N`."""
    async with AsyncExitStack() as stack:
        state, writer, _ = await _open_backends(stack, settings)
        ready = asyncio.Event()
        async with asyncio.TaskGroup() as group:
            ingest = group.create_task(
                run_ingest(settings, state, writer, registry or CollectorRegistry(), ready.set),
                name="ingest",
            )
            while not ready.is_set():
                if ingest.done():
                    ingest.result()
                await asyncio.sleep(0.05)
            try:
                yield state
            finally:
                await cancel_and_wait(ingest)


async def _serve_api(server: uvicorn.Server, settings: Settings) -> None:
    """Serve the API. uvicorn calls sys.exit when it cannot start (the port taken since our
    check, a failed lifespan); raised in a task, that would end the whole process past every
    clean-up. Here it is a start-up error like any other."""
    try:
        await server.serve()
    except SystemExit:
        check_port_free(settings.api.host, settings.api.port, "the API", "STORESENSE_API__PORT")
        raise BackendUnavailable("the API did not start; the log above says why") from None


async def _wait_started(
    server: uvicorn.Server, ingest_ready: asyncio.Event, tasks: tuple[asyncio.Task[None], ...]
) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while not (server.started and ingest_ready.is_set()):
        for task in tasks:
            if task.done():
                task.result()  # surfaces the startup error
                raise BackendUnavailable(f"{task.get_name()} stopped during start-up")
        if asyncio.get_running_loop().time() > deadline:
            what = "the API" if not server.started else "ingest (cannot reach the MQTT broker?)"
            raise BackendUnavailable(f"{what} did not start within 30 s")
        await asyncio.sleep(0.05)
