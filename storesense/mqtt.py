"""aiomqtt clients built from settings, for every asyncio component (ingest, API,
simulators); edge agents use paho-mqtt in their own thread instead."""

from __future__ import annotations

import os
import socket
import ssl

import aiomqtt

from storesense.errors import BackendUnavailable
from storesense.settings import BrokerEndpoint, Settings


def mqtt_client(endpoint: BrokerEndpoint, identifier: str, clean: bool = True) -> aiomqtt.Client:
    """An aiomqtt client for the configured broker (TLS and credentials when set)."""
    tls_context = None
    if endpoint.tls:
        tls_context = ssl.create_default_context(
            cafile=str(endpoint.ca_file) if endpoint.ca_file else None
        )
    return aiomqtt.Client(
        endpoint.host,
        endpoint.port,
        username=endpoint.username,
        password=endpoint.password,
        identifier=identifier,
        clean_session=clean,
        tls_context=tls_context,
        keepalive=30,
    )


def client_id(settings: Settings, role: str) -> str:
    """A client id unique per process: `{prefix}-{role}-{host}-{pid}`."""
    return f"{settings.broker.client_id_prefix}-{role}-{socket.gethostname()}-{os.getpid()}"


class MqttLink:
    """The current connection, for publishers that outlive reconnects."""

    def __init__(self) -> None:
        self._client: aiomqtt.Client | None = None

    def attach(self, client: aiomqtt.Client | None) -> None:
        self._client = client

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish at QoS 1; raise BackendUnavailable while disconnected."""
        if self._client is None:
            raise BackendUnavailable("not connected to the MQTT broker")
        try:
            await self._client.publish(topic, payload, qos=1, retain=retain)
        except aiomqtt.MqttError as exc:
            raise BackendUnavailable(f"MQTT publish to {topic} failed: {exc}") from exc
