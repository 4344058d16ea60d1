"""`storesense devices mosquitto-acl --passwd FILE --acl FILE`: the Mosquitto password and
ACL files of every registered device, so a real broker enforces the credentials issued at
provisioning. The service's own user (`broker.url`) is added with the whole topic root."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

import httpx

from storesense.backends.state.redis import RedisState
from storesense.errors import BackendUnavailable, ConfigError
from storesense.registry import mosquitto
from storesense.registry.devices import Device, hash_password
from storesense.registry.provisioning import devices
from storesense.settings import Settings


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("devices", help="registered devices and their credentials")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    acl = actions.add_parser(
        "mosquitto-acl",
        help="write Mosquitto password and ACL files from the device registry",
        description=(
            "Write Mosquitto's password_file (hashes only, as issued at provisioning) and "
            "acl_file: each device may write its own events, read and write its own status "
            "and read its own config. The user of STORESENSE_BROKER__URL (the service) gets "
            "the whole topic root. Point mosquitto.conf at both files with "
            "allow_anonymous false, then reload Mosquitto (SIGHUP). Reads Redis when "
            "configured, else the running server's API (STORESENSE_TOKEN: an hq_admin's)."
        ),
    )
    acl.add_argument("--passwd", type=Path, required=True, help="password file to write")
    acl.add_argument("--acl", type=Path, required=True, help="ACL file to write")
    acl.add_argument("--api", default=None, help="API base URL (default: settings)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    endpoint = settings.broker.endpoint()
    service: list[tuple[str, str]] = []
    if endpoint.username and endpoint.password and not settings.broker.embedded:
        service.append((endpoint.username, hash_password(endpoint.password)))
    if settings.state.redis_url:
        registered = asyncio.run(_from_redis(settings))
        passwd = mosquitto.password_file(registered, service)
        acl = mosquitto.acl_file(registered, settings.topic_root, [u for u, _ in service])
        count = len(registered)
    else:
        passwd, acl = _from_api(args.api or f"http://{settings.api.host}:{settings.api.port}")
        passwd += mosquitto.password_file([], service)
        count = len(passwd.splitlines()) - len(service)
    _write(args.passwd, passwd)
    _write(args.acl, acl)
    print(f"wrote {args.passwd} and {args.acl}: {count} device(s)"
          + (f", service user {service[0][0]}" if service else ""))  # fmt: skip
    return 0


async def _from_redis(settings: Settings) -> list[Device]:
    assert settings.state.redis_url is not None
    state = RedisState(settings.state.redis_url, prefix=settings.state.key_prefix)
    try:
        return await devices(state).list()
    finally:
        await state.close()


def _from_api(api: str) -> tuple[str, str]:
    """The running server's exports (its ACL names the service user of its settings)."""
    headers = {}
    if token := os.environ.get("STORESENSE_TOKEN"):
        headers["Authorization"] = f"Bearer {token}"
    base = api.rstrip("/") + "/api/v1/devices/mosquitto"
    try:
        passwd = httpx.get(base + "/passwd", headers=headers, timeout=30)
        acl = httpx.get(base + "/acl", headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        raise BackendUnavailable(f"no storesense server answers at {api} ({exc})") from None
    for response in (passwd, acl):
        if response.status_code != 200:
            raise ConfigError(
                f"{response.url} answered {response.status_code}: {response.text}. "
                "Set STORESENSE_TOKEN to an hq_admin's access token."
            )
    return passwd.text, acl.text


def _write(path: Path, text: str) -> None:
    """Write whole or not at all; readable by the owner and group (Mosquitto) only."""
    temp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc}") from None
