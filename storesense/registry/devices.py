"""Registered devices and their MQTT credentials.

Registering a device issues a random password, returned once; only its hash is kept, in
Mosquitto's own PBKDF2-SHA512 format (`$7$iterations$salt$hash`), so the password file a
broker enforces is written from the registry without knowing any password (mosquitto.py).
The MQTT username is `{store}.{device}` (identifiers never contain a dot).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from storesense.registry.organisation import Identifier

DeviceKind = Literal["rfid", "door", "beacon", "pos"]
_ITERATIONS = 1000
_SALT_BYTES = 12


class DeviceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: DeviceKind
    zone: Identifier | None = Field(default=None, description="a zone id of the store")
    name: str | None = Field(default=None, max_length=200)
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="the agent's live config section (rfid: antennas, zones, …; door: "
        "counting line, …), published retained on the device's `config` topic",
    )


class DeviceRegistration(DeviceBody):
    id: Identifier


class Device(DeviceBody):
    """As stored: the registration plus its credentials' hash."""

    id: str
    store: str
    username: str
    password_hash: str = Field(description="Mosquitto PBKDF2-SHA512 ($7$) hash")
    issued_ms: int


def username(store: str, device: str) -> str:
    return f"{store}.{device}"


def new_password() -> str:
    return secrets.token_urlsafe(24)


def hash_password(
    password: str, *, salt: bytes | None = None, iterations: int = _ITERATIONS
) -> str:
    """Mosquitto 2's password-file hash (what `mosquitto_passwd` writes)."""
    salt = salt or secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, hashed: str) -> bool:
    try:
        _, kind, iterations, salt, digest = hashed.split("$")
        if kind != "7":
            return False
        expected = hashlib.pbkdf2_hmac(
            "sha512", password.encode(), base64.b64decode(salt), int(iterations)
        )
        return hmac.compare_digest(expected, base64.b64decode(digest))
    except ValueError:
        return False
