"""Live agent config from the device's retained `config` topic.

A JSON object is applied with `Agent.apply_config` and, once the agent accepts it, saved
to a fallback file next to the outbox; the next start applies that file first, so the
agent runs with its last good config even when the broker is unreachable. Anything else
(not JSON, not an object, refused by the agent) is logged and the previous config kept.
Messages are applied on a worker thread, off paho's network thread.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from pathlib import Path
from typing import Any

import msgspec

from edge.runtime.base import Agent

log = logging.getLogger(__name__)

_decode = msgspec.json.Decoder(dict[str, Any]).decode


class LiveConfig:
    def __init__(self, agent: Agent, fallback_path: Path) -> None:
        self._agent = agent
        self.fallback_path = fallback_path
        self._current: dict[str, Any] | None = None
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.applied = 0
        self.rejected = 0

    def load_fallback(self) -> bool:
        """Apply the last good config saved by an earlier run, if any."""
        try:
            payload = self.fallback_path.read_bytes()
        except FileNotFoundError:
            return False
        except OSError as exc:
            log.warning("cannot read fallback config path=%s error=%s", self.fallback_path, exc)
            return False
        return self.apply(payload, source="fallback", save=False)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="edge-live-config", daemon=True)
        self._thread.start()

    def offer(self, payload: bytes) -> None:
        """A `config` message arrived (called on paho's network thread)."""
        self._queue.put(payload)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    @property
    def current(self) -> dict[str, Any] | None:
        """The config the agent runs with (from the broker or the fallback file)."""
        return self._current

    def apply(self, payload: bytes, source: str = "broker", save: bool = True) -> bool:
        """Apply one config message; return True when the agent runs with it."""
        with self._lock:
            if not payload.strip():
                log.info("retained config cleared; keeping current source=%s", source)
                return False
            try:
                config = _decode(payload)
            except msgspec.DecodeError as exc:  # ValidationError included: not an object
                return self._reject(source, f"must be a JSON object: {exc}")
            if config == self._current:
                log.debug("live config unchanged source=%s", source)
                return True
            try:
                self._agent.apply_config(config)
            except ValueError as exc:
                return self._reject(source, str(exc))
            except Exception as exc:  # an agent bug must not end config handling
                log.exception("agent failed applying config source=%s", source)
                return self._reject(source, f"agent error: {exc!r}")
            self._current = config
            if save:
                self._save(config)
            self.applied += 1
            log.info("live config applied source=%s keys=%s", source, ",".join(sorted(config)))
            return True

    def _reject(self, source: str, reason: str) -> bool:
        self.rejected += 1
        log.error("invalid live config, keeping previous source=%s reason=%s", source, reason)
        return False

    def _save(self, config: dict[str, Any]) -> None:
        # Write a temp file, fsync, rename: a crash leaves the old file or the new, never half.
        path = self.fallback_path
        temp = path.with_name(path.name + ".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with temp.open("wb") as handle:
                handle.write(msgspec.json.format(msgspec.json.encode(config), indent=2))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
            directory = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as exc:
            log.warning("cannot save fallback config path=%s error=%s", path, exc)

    def _work(self) -> None:
        while True:
            payload = self._queue.get()
            if payload is None:
                return
            self.apply(payload)
