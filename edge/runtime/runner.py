"""`AgentRunner`: wire one agent to the outbox, the publisher and live config, run it in its
own thread, and stop cleanly on SIGINT/SIGTERM (agent first, then flush what can be
flushed, retained status offline)."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import storesense
from edge.config import EdgeConfig
from edge.runtime.base import Agent
from edge.runtime.live_config import LiveConfig
from edge.runtime.outbox import Outbox
from edge.runtime.publisher import Publisher
from edge.runtime.sink import OutboxSink

log = logging.getLogger(__name__)

_AGENT_JOIN_S = 10.0


class AgentRunner:
    def __init__(
        self,
        config: EdgeConfig,
        agent: Agent,
        *,
        version: str = storesense.__version__,
        flush_timeout_s: float = 5.0,
    ) -> None:
        self.config = config
        self.agent = agent
        self.version = version
        self.flush_timeout_s = flush_timeout_s
        self.stop_event = threading.Event()  # the agent's `stop`
        self._done = threading.Event()  # stop requested or the agent ended
        self._agent_failed = False
        self._stopped = False
        self._flushed = False
        self._thread: threading.Thread | None = None
        self.outbox: Outbox | None = None
        self.publisher: Publisher | None = None
        self.live_config: LiveConfig | None = None
        self.sink: OutboxSink | None = None

    def start(self) -> None:
        """Open the outbox, apply the fallback config, connect, start the agent thread."""
        config = self.config
        self.outbox = Outbox(
            config.outbox.path,
            max_events=config.outbox.max_events,
            max_bytes=config.outbox.max_bytes,
        )
        self.live_config = LiveConfig(self.agent, config.outbox.fallback_config_path)
        self.live_config.load_fallback()
        self.live_config.start()
        self.publisher = Publisher(
            config,
            self.outbox,
            kind=self.agent.kind,
            version=self.version,
            on_config=self.live_config.offer,
        )
        self.sink = OutboxSink(self.outbox, on_append=self.publisher.wake)
        self.publisher.start()
        self._thread = threading.Thread(target=self._run_agent, name="edge-agent", daemon=True)
        self._thread.start()
        log.info(
            "agent started kind=%s store=%s device=%s version=%s",
            self.agent.kind, config.store, config.device, self.version,
        )  # fmt: skip

    def request_stop(self) -> None:
        """Ask for a clean stop (safe from a signal handler)."""
        self.stop_event.set()
        self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a stop is requested or the agent ends; False on timeout."""
        return self._done.wait(timeout)

    def stop(self) -> bool:
        """Stop the agent, flush, go offline, close. Return True if the outbox was drained."""
        self.request_stop()
        if self._stopped:
            return self._flushed
        self._stopped = True
        if self._thread is not None:
            self._thread.join(timeout=_AGENT_JOIN_S)
            if self._thread.is_alive():
                log.error("agent did not stop within %.0f s; closing anyway", _AGENT_JOIN_S)
        flushed = False
        if self.publisher is not None:
            flushed = self.publisher.stop(self.flush_timeout_s)
        if self.live_config is not None:
            self.live_config.close()
        if self.outbox is not None:
            self.outbox.close()
        self._flushed = flushed
        return flushed

    def run(self) -> int:
        """Start, run until SIGINT/SIGTERM or the agent ends, stop. Exit code: 0, or 1 when
        the agent failed (a supervisor such as systemd restarts it)."""
        previous = _install_stop_handlers(self.request_stop)
        try:
            self.start()
            while not self.wait(1.0):
                pass
        finally:
            self.stop()
            _restore_handlers(previous)
        return 1 if self._agent_failed else 0

    def _run_agent(self) -> None:
        assert self.sink is not None
        try:
            self.agent.run(self.sink, self.stop_event)
            if not self.stop_event.is_set():
                log.info("agent source ended kind=%s", self.agent.kind)
        except Exception:
            self._agent_failed = True
            log.exception("agent failed kind=%s", self.agent.kind)
        finally:
            self._done.set()


def _install_stop_handlers(stop: Callable[[], None]) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}  # only the main thread may set signal handlers (e.g. under tests)

    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("stopping on signal=%s", signal.Signals(signum).name)
        stop()

    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handle)
    return previous


def _restore_handlers(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
