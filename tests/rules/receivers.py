"""A real local HTTP server standing in for webhook receivers (generic and WeCom)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.servers import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    accepted: bool


@dataclass
class Receiver:
    """Answers each request with `answer(n)` (n counts from 1): (status, JSON body)."""

    answer: Callable[[int], tuple[int, object]]
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if r.accepted]


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def receiver(
    answer: Callable[[int], tuple[int, object]], fail_after_s: float = 0.0
) -> AsyncIterator[Receiver]:
    """`fail_after_s`: a failing answer takes this long (a receiver timing out)."""
    state = Receiver(answer)

    async def hook(request: Request) -> Response:
        body = await request.body()
        status, reply = state.answer(len(state.requests) + 1)
        if not 200 <= status < 300:
            await asyncio.sleep(fail_after_s)
        state.requests.append(Received(dict(request.headers), body, 200 <= status < 300))
        return JSONResponse(reply, status_code=status)

    port = free_port()
    state.url = f"http://127.0.0.1:{port}/hook"
    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield state
    finally:
        server.should_exit = True
        await task


def failing_first(n_failures: int, ok: object = None) -> Callable[[int], tuple[int, object]]:
    def answer(n: int) -> tuple[int, object]:
        return (503, {"error": "down"}) if n <= n_failures else (200, ok or {"ok": True})

    return answer
