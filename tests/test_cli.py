"""The `storesense` command: imports, helpful errors, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from storesense.backends.state.redis import RedisState
from storesense.registry import stored
from storesense.registry.products import Product
from tests.servers import Redis, free_port

PRODUCTS = "gtin,style,name,colour,size,price\n80614141123458,COAT-1,Wool coat,navy,M,1299\n"


def storesense(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "storesense.cli.main", *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
    )  # fmt: skip


async def test_products_import_writes_to_redis(tmp_path: Path, redis_server: Redis) -> None:
    prefix = f"c{uuid.uuid4().hex[:8]}"
    csv = tmp_path / "products.csv"
    csv.write_text(PRODUCTS)
    result = storesense("products", "import", str(csv), env={
        "STORESENSE_STATE__REDIS_URL": redis_server.url, "STORESENSE_STATE__KEY_PREFIX": prefix,
    })  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "imported 1 products" in result.stdout
    state = RedisState(redis_server.url, prefix=prefix)
    try:
        [product] = await stored.load(state, Product)
    finally:
        await state.close()
    assert product.style == "COAT-1"


def test_import_with_a_bad_row_names_it_and_fails(tmp_path: Path) -> None:
    csv = tmp_path / "members.csv"
    csv.write_text("member_id,name,tier,phone,consent,card_epcs,app_key\nm1,A,,,perhaps,,\n")
    result = storesense("members", "import", str(csv))
    assert result.returncode == 2
    assert "line 2, column `consent`: must be true or false" in result.stderr


def test_import_without_redis_or_server_says_what_to_do(tmp_path: Path) -> None:
    csv = tmp_path / "members.csv"
    csv.write_text("member_id,name,tier,phone,consent,card_epcs,app_key\nm1,A,,,true,,\n")
    result = storesense(
        "members", "import", str(csv), env={"STORESENSE_API__PORT": str(free_port())}
    )
    assert result.returncode == 2
    assert "Start `storesense serve` first" in result.stderr


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"STORESENSE_API__PORT": "70000"}, "setting `api.port`"),
        ({"STORESENSE_BROKER__URL": "http://x"}, "setting `broker.url`"),
        ({"STORESENSE_STORES__S1__TIMEZONE": "Mars/Base"}, "setting `stores.s1.timezone`"),
        ({"STORESENSE_TIMESERIES__INFLUX_VERSION": "2",
          "STORESENSE_TIMESERIES__INFLUX_URL": "http://x:8086"}, "needs both `token` and `org`"),
    ],
)  # fmt: skip
def test_bad_settings_stop_start_up_naming_the_key(env: dict[str, str], complaint: str) -> None:
    result = storesense("serve", env=env)
    assert result.returncode == 2
    assert complaint in result.stderr


def test_taken_port_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = storesense("serve", env={
            "STORESENSE_BROKER__EMBEDDED_PORT": str(port), "STORESENSE_DATA_DIR": str(tmp_path),
            "STORESENSE_API__PORT": str(free_port()),
        })  # fmt: skip
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "STORESENSE_BROKER__EMBEDDED_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_ingest_workers_need_an_external_broker_and_redis() -> None:
    result = storesense("ingest", "--workers", "2")
    assert result.returncode == 2 and "STORESENSE_BROKER__URL" in result.stderr
