"""Private Mosquitto, Redis and InfluxDB servers for tests: each on a free port, in a temp
dir, started and waited for, stoppable and restartable (fault tests), stopped at the end."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

_PORTS_PER_WORKER = 1000


def _ephemeral_low(default: int = 32768) -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def _port_candidates() -> Iterator[int]:
    """Ports for this test process, in turn. Below the kernel's ephemeral range: a port the
    kernel hands out (bind to 0) can be taken as the local end of any outgoing connection
    before the server meant for it binds, and was (CI: the API lost its port, one worker's
    run fell apart). One slice per xdist worker, so workers never pick the same port."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    first = 10_000 + worker * _PORTS_PER_WORKER
    if first + _PORTS_PER_WORKER > _ephemeral_low():
        return  # no room below the ephemeral range on this machine: the kernel picks
    while True:
        yield from range(first, first + _PORTS_PER_WORKER)


_candidates = _port_candidates()


def _bindable(port: int) -> bool:
    # No SO_REUSEADDR: a port with connections lingering in TIME_WAIT is skipped as well.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A port nobody listens on, never handed out twice in a row by this process."""
    for port, _ in zip(_candidates, range(_PORTS_PER_WORKER), strict=False):
        if _bindable(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} not ready after {timeout}s")


class ServerProcess:
    """One server process that can be stopped and started again on the same port and dir."""

    name = "server"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.workdir / f"{self.name}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        return port_open(self.port)

    def start(self) -> None:
        binary = self.command()[0]
        if shutil.which(binary) is None:
            raise RuntimeError(f"{binary} is not installed; run scripts/test, which installs it")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        try:
            wait_until(self._alive_and_ready, 30, f"{self.name} on port {self.port}")
        except TimeoutError:
            self.stop()
            raise RuntimeError(
                f"{self.name} failed to start: {self.log.read_text()[-2000:]}"
            ) from None

    def _alive_and_ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
        return self.ready()

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        wait_until(lambda: not port_open(self.port), 10, f"{self.name} port release")


class Mosquitto(ServerProcess):
    name = "mosquitto"

    def command(self) -> list[str]:
        config = self.workdir / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            "max_queued_messages 100000\n"
            "message_size_limit 0\n" + ("user root\n" if os.geteuid() == 0 else "")
            # As root, Mosquitto drops to user `mosquitto`, which cannot write the temp dir:
            # persistence (sessions, retained messages across restarts) would silently fail.
        )
        return ["mosquitto", "-c", str(config)]

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


class Redis(ServerProcess):
    name = "redis"

    def command(self) -> list[str]:
        return [
            "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
        ]  # fmt: skip

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class InfluxDB(ServerProcess):
    """InfluxDB 1.x (Debian's `influxdb` package): /write and /query."""

    name = "influxd"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.rpc_port = free_port()

    def command(self) -> list[str]:
        config = self.workdir / "influxdb.conf"
        config.write_text(
            "reporting-disabled = true\n"
            f'bind-address = "127.0.0.1:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{self.workdir}/meta"\n'
            f'[data]\n  dir = "{self.workdir}/data"\n  wal-dir = "{self.workdir}/wal"\n'
            '  query-log-enabled = false\n  wal-fsync-delay = "0s"\n'
            f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
            "[monitor]\n  store-enabled = false\n"
            "[continuous_queries]\n  enabled = false\n"
        )
        return [_influxd_binary(), "-config", str(config)]

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=0.5) as response:
                return int(response.status) == 204
        except OSError:
            return False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _influxd_binary() -> str:
    for candidate in ("influxd", "/usr/bin/influxd", "/usr/sbin/influxd"):
        if shutil.which(candidate):
            return candidate
    return "influxd"
