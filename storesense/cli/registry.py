"""`storesense members|staff|products import FILE.csv`."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from storesense.backends.state.redis import RedisState
from storesense.errors import BackendUnavailable, ConfigError
from storesense.registry import members, products, staff, stored
from storesense.settings import Settings


@dataclass(frozen=True)
class Kind:
    name: str
    help: str
    columns: Sequence[str]
    notes: str
    parse: Callable[[str, str], Sequence[Any]]


KINDS = {
    "members": Kind(
        "members", "loyalty members", members.COLUMNS,
        "card_epcs are separated by ';', app_key is hex (16 or 32 bytes), consent is "
        "true/false; only consenting members are ever recognised.",
        members.parse_members_csv,
    ),
    "staff": Kind(
        "staff", "staff and their badges", staff.COLUMNS,
        "badge_epcs and beacons are separated by ';'; beacons are ibeacon:… or "
        "eddystone-uid:… identifiers.",
        staff.parse_staff_csv,
    ),
    "products": Kind(
        "products", "the product catalog", products.COLUMNS,
        "gtin is a GTIN-8/12/13/14 with a valid check digit (kept as GTIN-14); garment "
        "SGTIN-96 tags decode to it.",
        products.parse_products_csv,
    ),
}  # fmt: skip


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for kind in KINDS.values():
        parser = commands.add_parser(kind.name, help=f"manage {kind.help}")
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        importer = actions.add_parser(
            "import",
            help=f"import {kind.help} from CSV (insert or replace)",
            description=(
                f"Import {kind.help} from a CSV with the columns {','.join(kind.columns)}. "
                f"{kind.notes} The file is checked whole first: one bad row imports nothing, "
                "and every problem is listed by line and column. With Redis configured "
                "(STORESENSE_STATE__REDIS_URL) the records are written there; with the "
                "embedded in-memory state they are sent to the running server's API."
            ),
        )
        importer.add_argument("file", type=Path, help="the CSV file")
        importer.add_argument("--api", default=None, help="API base URL (default: settings)")
        importer.set_defaults(kind=kind.name)


def run(args: argparse.Namespace, settings: Settings) -> int:
    kind = KINDS[args.kind]
    path: Path = args.file
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8: {exc}") from None
    records = kind.parse(text, str(path))
    if not records:
        raise ConfigError(f"{path} has a header but no rows")
    if settings.state.redis_url:
        version = asyncio.run(_write_redis(settings, records))
        where = f"Redis ({settings.state.redis_url})"
    else:
        api = args.api or f"http://{settings.api.host}:{settings.api.port}"
        version = _post_to_api(api, kind.name, text)
        where = f"the server at {api}"
    print(f"imported {len(records)} {kind.name} into {where}; registry version {version}")
    return 0


async def _write_redis(settings: Settings, records: Sequence[Any]) -> int:
    assert settings.state.redis_url is not None
    state = RedisState(settings.state.redis_url, prefix=settings.state.key_prefix)
    try:
        return await stored.save(state, list(records))
    finally:
        await state.close()


def _post_to_api(api: str, kind: str, text: str) -> int:
    url = api.rstrip("/") + f"/api/v1/{kind}/import"
    try:
        response = httpx.post(url, content=text.encode(), headers=_headers(), timeout=120)
    except httpx.HTTPError as exc:
        raise BackendUnavailable(
            f"no storesense server answers at {api} ({exc}). Start `storesense serve` first, "
            "or set STORESENSE_STATE__REDIS_URL to import straight into Redis."
        ) from None
    if response.status_code in (401, 403):
        raise ConfigError(
            f"{url} answered {response.status_code}: {response.text}. Set STORESENSE_TOKEN to "
            "an hq_admin's access token or an org-wide integration's API token."
        )
    if response.status_code != 200:
        raise BackendUnavailable(f"{url} answered {response.status_code}: {response.text}")
    return int(response.json()["registry_version"])


def _headers() -> dict[str, str]:
    headers = {"Content-Type": "text/csv"}
    if token := os.environ.get("STORESENSE_TOKEN"):
        headers["Authorization"] = f"Bearer {token}"
    return headers
