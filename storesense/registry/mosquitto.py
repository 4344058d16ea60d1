"""A Mosquitto password file and ACL file from the device registry, so a real broker
enforces the credentials issued at provisioning: each device may publish its own `events`
and `status` and read its own `config`, nothing else. The service's own user (the one in
`broker.url`) gets the whole topic root.

    storesense devices mosquitto-acl --passwd /etc/mosquitto/storesense.passwd \\
        --acl /etc/mosquitto/storesense.acl

with, in mosquitto.conf: `password_file …passwd`, `acl_file …acl`, `allow_anonymous false`.
"""

from __future__ import annotations

from collections.abc import Iterable

from storesense.protocol.topics import PROTOCOL_VERSION
from storesense.registry.devices import Device


def password_file(devices: Iterable[Device], extra: Iterable[tuple[str, str]] = ()) -> str:
    """`username:hash` lines; `extra` adds (username, hash) pairs (e.g. the service's)."""
    lines = [f"{device.username}:{device.password_hash}" for device in devices]
    lines += [f"{user}:{hashed}" for user, hashed in extra]
    return "".join(line + "\n" for line in lines)


def acl_file(devices: Iterable[Device], root: str, service_users: Iterable[str] = ()) -> str:
    """Per-user topic rules; anything not granted is denied."""
    out = ["# storesense: generated from the device registry; do not edit by hand"]
    for user in service_users:
        out += ["", f"user {user}", f"topic readwrite {root}/#", "topic read $SYS/#"]
    for device in devices:
        base = f"{root}/{PROTOCOL_VERSION}/{device.store}/{device.id}"
        out += [
            "",
            f"user {device.username}",
            f"topic write {base}/events",
            f"topic readwrite {base}/status",
            f"topic read {base}/config",
        ]
        if device.kind == "pos":  # tills and handhelds show the store's alerts
            out.append(f"topic read {root}/{PROTOCOL_VERSION}/{device.store}/alerts")
    return "\n".join(out) + "\n"
