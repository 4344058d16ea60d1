"""Logins, refresh rotation, logout, rate limiting, users and API tokens, on the in-memory
state and on a real Redis (the stores every API process shares)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.auth.bootstrap import add_user, ensure_first_admin
from api.auth.users import UserStore
from storesense.backends.state.base import StateStore
from storesense.backends.state.redis import RedisState
from tests.api.auth_helpers import bearer
from tests.e2e.helpers import stack_settings
from tests.servers import Redis

PASSWORD = "correct horse battery"


def client_for(tmp_path: Path, state: StateStore, ip: str = "10.0.0.1") -> httpx.AsyncClient:
    settings = stack_settings(tmp_path, api={"auth": {"login_max_failures": 3}})
    app = create_app(settings, state)
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.fixture
async def client(tmp_path: Path, state: StateStore) -> AsyncIterator[httpx.AsyncClient]:
    await add_user(state, "ann", name="Ann", role="assistant", stores=["s1"], staff="a1",
                   password=PASSWORD)  # fmt: skip
    async with client_for(tmp_path, state) as http:
        yield http


async def login(
    http: httpx.AsyncClient, username: str = "ann", password: str = PASSWORD
) -> httpx.Response:
    return await http.post("/api/v1/auth/login", json={"username": username, "password": password})


async def test_login_answers_the_contract_and_me_says_who(client: httpx.AsyncClient) -> None:
    response = await login(client)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert body["user"] == {"id": "ann", "name": "Ann", "role": "assistant", "stores": ["s1"],
                            "regions": [], "staff": "a1"}  # fmt: skip
    me = await client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == "ann"


@pytest.mark.parametrize(
    ("username", "password"), [("ann", "wrong password"), ("nobody", PASSWORD), ("ANN ", "x")]
)
async def test_wrong_credentials_are_401_without_saying_which(
    client: httpx.AsyncClient, username: str, password: str
) -> None:
    response = await login(client, username, password)
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong username or password"}


async def test_password_is_stored_as_an_argon2id_hash(
    client: httpx.AsyncClient, state: StateStore
) -> None:
    user = await UserStore(state).get("ann")
    assert user is not None and user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


async def test_refresh_rotates_and_the_old_pair_stops_working(client: httpx.AsyncClient) -> None:
    first = (await login(client)).json()
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["user"]["id"] == "ann" and second["access_token"] != first["access_token"]
    reused = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert reused.status_code == 401
    assert (
        await client.get("/api/v1/auth/me", headers=bearer(first["access_token"]))
    ).status_code == 401
    assert (
        await client.get("/api/v1/auth/me", headers=bearer(second["access_token"]))
    ).status_code == 200
    # an access token is not a refresh token
    wrong_kind = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["access_token"]}
    )
    assert wrong_kind.status_code == 401


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    tokens = (await login(client)).json()
    other = (await login(client)).json()  # another device: stays logged in
    out = await client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
    assert out.status_code == 200
    assert (
        await client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    ).status_code == 401
    again = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert again.status_code == 401
    assert (
        await client.get("/api/v1/auth/me", headers=bearer(other["access_token"]))
    ).status_code == 200


async def test_failed_logins_are_limited_per_username_and_address(
    client: httpx.AsyncClient, tmp_path: Path, state: StateStore
) -> None:
    for _ in range(3):
        assert (await login(client, "ann", "guess-guess")).status_code == 401
    limited = await login(client)  # even the right password, from this address
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert "try again" in limited.json()["detail"]
    async with client_for(tmp_path, state, ip="10.0.0.2") as elsewhere:
        assert (await login(elsewhere)).status_code == 200
    await add_user(state, "bob", name="Bob", role="assistant", stores=["s1"], password=PASSWORD)
    assert (await login(client, "bob")).status_code == 200  # another user from this address


async def test_success_clears_the_failures(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        await login(client, "ann", "guess-guess")
    assert (await login(client)).status_code == 200
    for _ in range(2):
        assert (await login(client, "ann", "guess-guess")).status_code == 401
    assert (await login(client)).status_code == 200


async def admin(http: httpx.AsyncClient, state: StateStore) -> dict[str, str]:
    await add_user(state, "root", name="Root", role="hq_admin", password=PASSWORD)
    return bearer((await login(http, "root")).json()["access_token"])


async def test_admin_manages_users_and_changes_end_sessions(
    client: httpx.AsyncClient, state: StateStore
) -> None:
    headers = await admin(client, state)
    created = await client.post("/api/v1/auth/users", headers=headers, json={
        "id": "lee", "name": "Lee", "role": "store_manager", "stores": ["s1"], "password": PASSWORD,
    })  # fmt: skip
    assert created.status_code == 201, created.text
    assert "password_hash" not in created.text
    taken = await client.post("/api/v1/auth/users", headers=headers,
                              json={"id": "lee", "name": "L", "role": "assistant", "stores": ["s1"]})  # fmt: skip
    assert taken.status_code == 409
    bad = await client.post("/api/v1/auth/users", headers=headers,
                            json={"id": "kim", "name": "Kim", "role": "assistant"})  # fmt: skip
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "stores"]
    weak = await client.post("/api/v1/auth/users", headers=headers, json={
        "id": "kim", "name": "Kim", "role": "assistant", "stores": ["s1"], "password": "short"})  # fmt: skip
    assert weak.status_code == 422 and "password" in weak.text
    lee = bearer((await login(client, "lee")).json()["access_token"])
    assert (await client.get("/api/v1/auth/me", headers=lee)).json()["role"] == "store_manager"
    assert (await client.get("/api/v1/auth/users", headers=lee)).status_code == 403
    moved = await client.patch("/api/v1/auth/users/lee", headers=headers, json={"stores": ["s2"]})
    assert moved.status_code == 200 and moved.json()["stores"] == ["s2"]
    assert (await client.get("/api/v1/auth/me", headers=lee)).status_code == 401  # re-login
    listed = (await client.get("/api/v1/auth/users", headers=headers)).json()["users"]
    assert {u["id"] for u in listed} == {"ann", "root", "lee"}
    assert (await client.delete("/api/v1/auth/users/lee", headers=headers)).status_code == 204
    assert (await login(client, "lee")).status_code == 401


@pytest.mark.parametrize("field", ["name", "role", "stores", "regions", "password", "disabled"])
async def test_a_user_change_setting_a_field_to_null_is_422_naming_it(
    client: httpx.AsyncClient, state: StateStore, field: str
) -> None:
    headers = await admin(client, state)
    answer = await client.patch("/api/v1/auth/users/ann", headers=headers, json={field: None})
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", field]
    unlinked = await client.patch("/api/v1/auth/users/ann", headers=headers, json={"staff": None})
    assert unlinked.status_code == 200 and unlinked.json()["staff"] is None


async def test_api_tokens_act_as_their_user_until_revoked(
    client: httpx.AsyncClient, state: StateStore
) -> None:
    headers = await admin(client, state)
    await client.post("/api/v1/auth/users", headers=headers,
                      json={"id": "pos-s1", "name": "POS", "role": "integration", "stores": ["s1"]})  # fmt: skip
    issued = await client.post("/api/v1/auth/tokens", headers=headers,
                               json={"user": "pos-s1", "name": "till 1"})  # fmt: skip
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    me = await client.get("/api/v1/auth/me", headers=bearer(token))
    assert me.json()["role"] == "integration" and me.json()["stores"] == ["s1"]
    listed = (await client.get("/api/v1/auth/tokens", headers=headers)).text
    assert token not in listed and "till 1" in listed
    assert (await login(client, "pos-s1", "")).status_code == 422  # no password to log in with
    revoked = await client.delete(f"/api/v1/auth/tokens/{issued.json()['id']}", headers=headers)
    assert revoked.status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401


async def test_own_password_change_needs_the_current_one(client: httpx.AsyncClient) -> None:
    headers = bearer((await login(client)).json()["access_token"])
    wrong = await client.post("/api/v1/auth/password", headers=headers,
                              json={"current": "nope", "new": "another long one"})  # fmt: skip
    assert wrong.status_code == 422
    ok = await client.post("/api/v1/auth/password", headers=headers,
                           json={"current": PASSWORD, "new": "another long one"})  # fmt: skip
    assert ok.status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401
    assert (await login(client, "ann", "another long one")).status_code == 200


async def test_tokens_in_the_query_only_for_live_streams(client: httpx.AsyncClient) -> None:
    token = (await login(client)).json()["access_token"]
    assert (await client.get(f"/api/v1/auth/me?access_token={token}")).status_code == 401
    assert (
        await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer nonsense"})
    ).status_code == 401
    assert (
        await client.get("/api/v1/auth/me", headers={"Authorization": f"Basic {token}"})
    ).status_code == 401


async def test_first_admin_is_created_once(state: StateStore) -> None:
    password = await ensure_first_admin(state)
    assert password is not None and len(password) >= 10
    assert await ensure_first_admin(state) is None


def test_cli_adds_users_and_issues_tokens_in_redis(tmp_path: Path, redis_server: Redis) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    env = {"STORESENSE_STATE__REDIS_URL": redis_server.url, "STORESENSE_STATE__KEY_PREFIX": prefix,
           "PATH": "/usr/bin:/bin"}  # fmt: skip

    def storesense(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "storesense.cli.main", *args], env=env,
                              input=stdin, capture_output=True, text=True, cwd=tmp_path, check=False)  # fmt: skip

    added = storesense("users", "add", "boss", "--name", "Boss", "--role", "hq_admin")
    assert added.returncode == 0, added.stderr
    password = added.stdout.split("password: ")[1].strip()
    bad = storesense("users", "add", "x", "--name", "X", "--role", "assistant")
    assert bad.returncode == 2 and "stores" in bad.stderr
    piped = storesense("users", "passwd", "boss", "--password-stdin", stdin="a brand new one\n")
    assert piped.returncode == 0 and "a brand new one" not in piped.stdout
    crm = ["--name", "CRM", "--role", "integration", "--stores", "*", "--no-password"]
    assert storesense("users", "add", "crm", *crm).returncode == 0
    token = storesense("users", "token", "crm", "--name", "sync").stdout.strip()
    assert token.startswith("ssk_")
    listed = storesense("users", "list").stdout
    assert "boss\thq_admin" in listed and "crm\tintegration\t*" in listed

    async def check() -> None:
        state = RedisState(redis_server.url, prefix=prefix)
        try:
            async with client_for(tmp_path, state) as http:
                assert (await login(http, "boss", password)).status_code == 401  # changed
                assert (await login(http, "boss", "a brand new one")).status_code == 200
                me = await http.get("/api/v1/auth/me", headers=bearer(token))
                assert me.json()["role"] == "integration" and me.json()["stores"] == ["*"]
        finally:
            await state.close()

    asyncio.run(check())


def test_cli_without_redis_says_how_users_are_added(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "storesense.cli.main", "users", "list"],
        env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and "STORESENSE_STATE__REDIS_URL" in result.stderr
