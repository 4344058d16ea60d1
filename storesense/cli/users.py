"""`storesense users add|passwd|token|list`: API users in the shared (Redis) state.

With the embedded in-memory state the users live inside the server process: `serve`
prints the first admin's password when it starts, and further users are added over the
API (`POST /api/v1/auth/users`)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from api.auth.bootstrap import add_user, issue_api_token, set_password
from api.auth.passwords import generate_password
from api.auth.roles import ROLES
from api.auth.users import UserError, UserStore
from storesense.backends.state.base import StateStore
from storesense.backends.state.redis import RedisState
from storesense.errors import ConfigError
from storesense.settings import Settings


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "users",
        help="manage API users and API tokens (in Redis)",
        description="Users of the API and the web app, kept in the state backend; needs "
        "STORESENSE_STATE__REDIS_URL (the in-memory state lives in the server: `serve` prints "
        "the first admin's password, add more users over the API).",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create a user (the password is printed)")
    add.add_argument("user", help="login name (lowercase)")
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--stores", default="", help="comma-separated store ids; '*' = all")
    add.add_argument("--regions", default="", help="comma-separated region ids")
    add.add_argument("--staff", default=None, help="linked staff id (claims and resolves)")
    add.add_argument("--no-password", action="store_true", help="cannot log in (API tokens only)")
    add.add_argument("--password-stdin", action="store_true", help="read the password")
    passwd = actions.add_parser("passwd", help="set a new password (ends every session)")
    passwd.add_argument("user")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password")
    token = actions.add_parser("token", help="issue an API token (printed once)")
    token.add_argument("user", help="the account the token acts for")
    token.add_argument("--name", required=True, help="what the token is for, e.g. POS")
    token.add_argument("--expires-days", type=int, default=None)
    actions.add_parser("list", help="list users")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.state.redis_url:
        raise ConfigError(
            "`storesense users` needs STORESENSE_STATE__REDIS_URL: the in-memory state lives "
            "in the server process (`storesense serve` prints the first admin's password; "
            "add users over the API, POST /api/v1/auth/users)"
        )
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    assert settings.state.redis_url is not None
    state = RedisState(settings.state.redis_url, prefix=settings.state.key_prefix)
    try:
        return await _action(args, settings, state)
    except UserError as exc:
        raise ConfigError(str(exc)) from None
    finally:
        await state.close()


async def _action(args: argparse.Namespace, settings: Settings, state: StateStore) -> int:
    if args.action == "list":
        for user in await UserStore(state).all():
            stores = ",".join(user.stores + tuple(f"region:{r}" for r in user.regions))
            print(f"{user.id}\t{user.role}\t{stores or '-'}\t{user.name}")
        return 0
    if args.action == "token":
        token = await issue_api_token(
            state, settings.api.auth, args.user, args.name, args.expires_days
        )
        print(token)
        return 0
    password = None
    if not getattr(args, "no_password", False):
        password = _password(args.password_stdin)
    if args.action == "add":
        await add_user(
            state, args.user, name=args.name, role=args.role, stores=_list(args.stores),
            regions=_list(args.regions), staff=args.staff, password=password,
        )  # fmt: skip
        print(f"user {args.user} ({args.role}) added")
    else:
        assert password is not None
        await set_password(state, args.user, password)
        print(f"password of {args.user} changed; their sessions and tokens ended")
    if password is not None and not args.password_stdin:
        print(f"password: {password}")
    return 0


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return generate_password()


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
