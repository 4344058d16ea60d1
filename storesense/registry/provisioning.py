"""Device provisioning: register a device in a store, issue its MQTT credentials (the
password is returned once, its hash kept) and publish the config it will receive, retained,
on `{root}/v1/{store}/{device}/config`. Deleting a device clears its retained config."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Protocol

from storesense.backends.state.base import StateStore
from storesense.errors import BackendUnavailable
from storesense.protocol.topics import Topics
from storesense.registry.devices import (
    Device,
    DeviceBody,
    DeviceRegistration,
    hash_password,
    new_password,
    username,
)
from storesense.registry.documents import Collection, RegistryError
from storesense.registry.stores import stores, zones


class RetainedPublish(Protocol):
    def __call__(self, topic: str, payload: bytes, *, retain: bool = ...) -> Awaitable[None]: ...


@dataclass(frozen=True)
class Provisioned:
    device: Device
    password: str | None  # only when credentials were issued just now
    config_topic: str
    config: dict[str, Any]
    published: bool  # False: the broker was unreachable (PUT the device again to retry)


log = logging.getLogger(__name__)


def devices(state: StateStore) -> Collection[Device]:
    """Keyed by (store, device)."""
    return Collection(state, "device", Device)


class Provisioner:
    def __init__(self, state: StateStore, topics: Topics, publish: RetainedPublish) -> None:
        self._state = state
        self._topics = topics
        self._publish = publish

    async def register(self, store: str, registration: DeviceRegistration) -> Provisioned:
        """A new device: credentials issued, config published (retained)."""
        await stores(self._state).require(store)
        await self._check_zone(store, registration.zone)
        password = new_password()
        device = Device(
            **registration.model_dump(),
            store=store,
            username=username(store, registration.id),
            password_hash=hash_password(password),
            issued_ms=int(time.time() * 1000),
        )
        await devices(self._state).create(device, store, device.id)
        return await self._published(device, password)

    async def update(self, store: str, device_id: str, body: DeviceBody) -> Provisioned:
        """New kind, zone, name or config; credentials unchanged; config republished."""
        await self._check_zone(store, body.zone)
        changed = await devices(self._state).change(
            lambda old: old.model_copy(update=body.model_dump()), store, device_id
        )
        return await self._published(changed, None)

    async def rotate(self, store: str, device_id: str) -> Provisioned:
        """Issue a new password; the old one stops working once the broker reloads."""
        password = new_password()
        hashed = hash_password(password)
        now_ms = int(time.time() * 1000)
        changed = await devices(self._state).change(
            lambda old: old.model_copy(update={"password_hash": hashed, "issued_ms": now_ms}),
            store,
            device_id,
        )
        return await self._published(changed, password)

    async def delete(self, store: str, device_id: str) -> None:
        await devices(self._state).delete(store, device_id)
        try:
            # An empty retained message removes the retained config from the broker.
            await self._publish(self._topics.config(store, device_id), b"", retain=True)
        except BackendUnavailable as exc:
            log.warning(
                "retained config not cleared store=%s device=%s error=%s", store, device_id, exc
            )

    async def _published(self, device: Device, password: str | None) -> Provisioned:
        """Publish the config (an empty one is not sent: agents would reject it)."""
        topic = self._topics.config(device.store, device.id)
        published = True
        if device.config:
            try:
                await self._publish(topic, json.dumps(device.config).encode(), retain=True)
            except BackendUnavailable as exc:
                published = False
                log.warning(
                    "device config not published store=%s device=%s error=%s",
                    device.store, device.id, exc,
                )  # fmt: skip
        return Provisioned(device, password, topic, device.config, published)

    async def _check_zone(self, store: str, zone: str | None) -> None:
        if zone is not None and await zones(self._state).get(store, zone) is None:
            raise RegistryError(f"`zone`: store {store!r} has no zone {zone!r}", field="zone")
