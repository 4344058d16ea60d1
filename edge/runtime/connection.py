"""Build the agent's paho-mqtt client from its config: protocol version, credentials, TLS,
last will and reconnect delays. Nothing here connects."""

from __future__ import annotations

import ssl

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import EdgeConfig
from storesense.errors import ConfigError


def build_client(config: EdgeConfig, status_topic: str, will_payload: bytes) -> paho.Client:
    """A paho v2-callback client; its last will is the retained offline status (QoS 1)."""
    broker = config.broker
    endpoint = broker.endpoint()
    v5 = broker.protocol == "5"
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=config.client_id,
        protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
        # The outbox, not a broker session, keeps unacknowledged events: a clean session
        # means no stale queue on the broker after a long outage.
        clean_session=None if v5 else True,
    )
    if endpoint.username is not None:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls:
        try:
            client.tls_set(
                ca_certs=str(broker.ca_file) if broker.ca_file else None,
                certfile=str(broker.cert_file) if broker.cert_file else None,
                keyfile=str(broker.key_file) if broker.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"broker TLS files (ca_file, cert_file, key_file) cannot be loaded: {exc}"
            ) from None
    client.will_set(status_topic, will_payload, qos=1, retain=True)
    client.reconnect_delay_set(broker.reconnect_min_s, broker.reconnect_max_s)
    # Room for the event window plus status messages, so nothing waits in paho's queue.
    client.max_inflight_messages_set(broker.max_in_flight + 4)
    return client


def connect_async(client: paho.Client, config: EdgeConfig) -> None:
    """Register where to connect; the network thread (loop_start) connects and reconnects."""
    endpoint = config.broker.endpoint()
    if config.broker.protocol == "5":
        client.connect_async(
            endpoint.host, endpoint.port, config.broker.keepalive_s, clean_start=True
        )
    else:
        client.connect_async(endpoint.host, endpoint.port, config.broker.keepalive_s)
