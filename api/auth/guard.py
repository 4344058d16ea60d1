"""The request guard: one dependency of the whole app that authenticates every route
(bearer token; `access_token` query parameter on live streams, which browsers cannot give
headers) and enforces its roles and store scope (`policy.py`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, WebSocketException
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection
from starlette.status import WS_1008_POLICY_VIOLATION

from api.auth import policy
from api.auth.members import open_profile
from api.auth.roles import Principal
from api.auth.service import AuthService

QUERY_TOKEN = "access_token"


class BearerToken(SecurityBase):
    """The bearer token of a request or WebSocket (OpenAPI: an HTTP bearer scheme)."""

    def __init__(self) -> None:
        self.model = HTTPBearerModel(
            description="`Authorization: Bearer <token>` (a login's access token or an API "
            "token); live streams also take `?access_token=`"
        )
        self.scheme_name = "bearer"

    async def __call__(self, connection: HTTPConnection) -> str | None:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        if _is_stream(connection):
            return connection.query_params.get(QUERY_TOKEN) or None
        return None


bearer = BearerToken()


def _is_stream(connection: HTTPConnection) -> bool:
    if connection.scope["type"] == "websocket":
        return True
    accept = connection.headers.get("accept", "")
    return "text/event-stream" in accept or connection.url.path.endswith("/stream")


def get_auth(connection: HTTPConnection) -> AuthService:
    auth: AuthService = connection.app.state.auth
    return auth


def client_ip(connection: HTTPConnection) -> str | None:
    return connection.client.host if connection.client else None


def _deny(connection: HTTPConnection, status: int, detail: str) -> Exception:
    if connection.scope["type"] == "websocket":
        return WebSocketException(WS_1008_POLICY_VIOLATION, reason=f"{status}: {detail}")
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return HTTPException(status, detail, headers=headers)


def _route_key(connection: HTTPConnection) -> tuple[str, str] | None:
    route = connection.scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return None
    if connection.scope["type"] == "websocket":
        return "WEBSOCKET", path
    method = connection.scope.get("method", "GET")
    return ("GET" if method == "HEAD" else method), path


async def guard(connection: HTTPConnection, token: Annotated[str | None, Depends(bearer)]) -> None:
    """Authenticate and authorise the request; the principal goes to `connection.state`."""
    # Fail closed: a request whose route is unknown here is checked by its URL path.
    key = _route_key(connection) or (connection.scope.get("method", "GET"), connection.url.path)
    if key[1] in policy.EXEMPT:
        connection.state.principal = None
        return
    if token is None:
        raise _deny(connection, 401, "not authenticated: send `Authorization: Bearer <token>`")
    principal = await get_auth(connection).authenticate(token)
    if principal is None:
        raise _deny(connection, 401, "invalid or expired token; log in again or refresh")
    connection.state.principal = principal
    method, path = key
    if principal.role not in policy.allowed_roles(method, path):
        raise _deny(connection, 403, f"role {principal.role} may not use {method} {path}")
    if key in policy.ORG_WIDE and not principal.everywhere:
        raise _deny(connection, 403, f"{method} {path} concerns every store's data; "
                    "only users that see every store may use it")  # fmt: skip
    _check_scope(connection, principal, key)
    auth = get_auth(connection)
    if key in policy.MEMBER_PROFILES:
        await open_profile(
            auth.state, auth.audit, principal, str(connection.path_params.get("member_id")),
            store=connection.query_params.get("store"), route=path, ip=client_ip(connection),
        )  # fmt: skip
    if (action := policy.AUDITED_BULK.get(key)) is not None:
        await auth.audit.record(principal, "*", store=None, action=action, route=path,
                                ip=client_ip(connection), personal_data=True)  # fmt: skip


def _check_scope(connection: HTTPConnection, principal: Principal, key: tuple[str, str]) -> None:
    params: dict[str, Any] = connection.path_params
    query = connection.query_params
    for store in (params.get("store"), *query.getlist("store")):
        if store is not None and not principal.may_see(str(store)):
            raise _deny(connection, 403, f"no access to store {store}")
    for region in (params.get("region"), query.get("region")):
        if region is not None and not principal.may_see_region(str(region)):
            raise _deny(connection, 403, f"no access to region {region}")
    if principal.everywhere or "store" in query or key in policy.SCOPE_FILTERED:
        return
    dependant = getattr(connection.scope.get("route"), "dependant", None)
    if dependant is not None and "store" in _query_names(dependant):
        raise _deny(connection, 403, "name one of your stores: ?store=" + "|".join(
            sorted(principal.stores or ())))  # fmt: skip


def _query_names(dependant: Any) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def current_principal(connection: HTTPConnection) -> Principal:
    """The principal the guard authenticated (routes that are not exempt always have one)."""
    principal: Principal | None = getattr(connection.state, "principal", None)
    if principal is None:
        raise _deny(connection, 401, "not authenticated")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_store(principal: Principal, store: str) -> None:
    """403 unless `principal` may see `store` (for routes whose store comes from data)."""
    if not principal.may_see(store):
        raise HTTPException(403, f"no access to store {store}")
