"""An in-process MQTT 3.1.1 broker (amqtt) so `storesense serve` needs no Mosquitto.

For fleets use an external broker (Mosquitto, EMQX): MQTT 5 shared subscriptions and
clustering are theirs, not ours.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from amqtt.broker import Broker

from storesense.errors import PortInUse

log = logging.getLogger(__name__)


def check_port_free(host: str, port: int, what: str, setting: str) -> None:
    """Raise PortInUse, naming the setting to change, when `host:port` cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUse(
                    f"{what} cannot listen on {host}:{port}: the port is taken by another "
                    f"process. Set {setting} to a free port, or stop whatever holds it."
                ) from None
            raise


@asynccontextmanager
async def embedded_broker(host: str, port: int) -> AsyncIterator[Broker]:
    """Run an anonymous MQTT broker on `host:port` for the duration of the block."""
    check_port_free(host, port, "the embedded MQTT broker", "STORESENSE_BROKER__EMBEDDED_PORT")
    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.WARNING)
    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
    )
    await broker.start()
    log.info("embedded MQTT broker listening host=%s port=%d", host, port)
    try:
        yield broker
    finally:
        await broker.shutdown()
        log.info("embedded MQTT broker stopped")
