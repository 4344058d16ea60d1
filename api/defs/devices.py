"""Request and response models of device provisioning."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from storesense.registry.devices import Device, DeviceKind
from storesense.registry.provisioning import Provisioned


class DeviceOut(BaseModel):
    """A registered device; its password hash is never shown."""

    id: str
    store: str
    kind: DeviceKind
    zone: str | None = None
    name: str | None = None
    config: dict[str, Any]
    username: str = Field(description="its MQTT username")
    issued_ms: int = Field(description="when its current password was issued")

    @classmethod
    def of(cls, device: Device) -> DeviceOut:
        return cls(**device.model_dump(exclude={"password_hash"}))


class MqttCredentials(BaseModel):
    username: str
    password: str = Field(description="shown once: store it on the device now")


class ProvisionedOut(BaseModel):
    device: DeviceOut
    credentials: MqttCredentials | None = Field(
        default=None, description="only when credentials were issued by this request"
    )
    config_topic: str
    config: dict[str, Any] = Field(description="what the device receives, retained")
    config_published: bool = Field(
        description="false: the broker was unreachable; PUT the device again to publish"
    )

    @classmethod
    def of(cls, provisioned: Provisioned) -> ProvisionedOut:
        device = provisioned.device
        credentials = (
            None
            if provisioned.password is None
            else MqttCredentials(username=device.username, password=provisioned.password)
        )
        return cls(
            device=DeviceOut.of(device),
            credentials=credentials,
            config_topic=provisioned.config_topic,
            config=provisioned.config,
            config_published=provisioned.published,
        )
