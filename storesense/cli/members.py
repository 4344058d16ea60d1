"""`storesense members import FILE.csv`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import httpx

from storesense.backends.state.redis import RedisState
from storesense.errors import BackendUnavailable, ConfigError
from storesense.registry import stored
from storesense.registry.members import COLUMNS, Member, parse_members_csv
from storesense.settings import Settings


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    members = commands.add_parser("members", help="manage the loyalty member registry")
    actions = members.add_subparsers(dest="action", required=True, metavar="ACTION")
    importer = actions.add_parser(
        "import",
        help="import members from CSV (insert or replace by member_id)",
        description=(
            "Import members from a CSV with the columns " + ",".join(COLUMNS) + ". "
            "card_epcs are separated by ';', app_key is hex (16 or 32 bytes), consent is "
            "true/false. The file is checked whole first: one bad row imports nothing. "
            "With Redis configured (STORESENSE_STATE__REDIS_URL) members are written there; "
            "with the embedded in-memory state they are sent to the running server's API."
        ),
    )
    importer.add_argument("file", type=Path, help="the CSV file")
    importer.add_argument(
        "--api", help="API base URL of a running server (default: from settings)", default=None
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.file
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8: {exc}") from None
    members = parse_members_csv(text, source=str(path))
    consenting = sum(member.consent for member in members)
    if settings.state.redis_url:
        version = asyncio.run(_write_redis(settings, members))
        where = f"Redis ({settings.state.redis_url})"
    else:
        api = args.api or f"http://{settings.api.host}:{settings.api.port}"
        version = _post_to_api(api, text)
        where = f"the server at {api}"
    print(
        f"imported {len(members)} members ({consenting} consenting) into {where}; "
        f"registry version {version}"
    )
    return 0


async def _write_redis(settings: Settings, members: list[Member]) -> int:
    assert settings.state.redis_url is not None
    state = RedisState(settings.state.redis_url, prefix=settings.state.key_prefix)
    try:
        return await stored.save(state, members)
    finally:
        await state.close()


def _post_to_api(api: str, text: str) -> int:
    url = api.rstrip("/") + "/api/v1/members/import"
    try:
        response = httpx.post(
            url, content=text.encode(), headers={"Content-Type": "text/csv"}, timeout=120
        )
    except httpx.HTTPError as exc:
        raise BackendUnavailable(
            f"no storesense server answers at {api} ({exc}). Start `storesense serve` first, "
            "or set STORESENSE_STATE__REDIS_URL to import straight into Redis."
        ) from None
    if response.status_code != 200:
        raise BackendUnavailable(f"{url} answered {response.status_code}: {response.text}")
    return int(response.json()["registry_version"])
