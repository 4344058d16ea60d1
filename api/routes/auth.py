"""Authentication: login, refresh, logout, who am I; users and API tokens (hq_admin);
the member-profile audit log (hq_admin, store managers). See api/auth/ for the model."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from starlette.responses import Response

from api.auth.guard import CurrentPrincipal, client_ip, get_auth
from api.auth.models import (
    LoginRequest,
    NewApiToken,
    NewUser,
    PasswordChange,
    RefreshRequest,
    TokenResponse,
    UserChange,
    UserInfo,
)
from api.auth.passwords import check_strength, hash_password, verify_password
from api.auth.roles import Principal
from api.auth.service import AuthService, LoginResult
from api.auth.users import ALL_STORES, USER_PATTERN, User, UserError
from api.responses import json_response
from storesense.protocol.identifiers import IDENTIFIER_PATTERN

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

Auth = Annotated[AuthService, Depends(get_auth)]
UserIdPath = Annotated[str, Path(pattern=USER_PATTERN)]


def user_info(principal: Principal) -> UserInfo:
    stores = [ALL_STORES] if principal.stores is None else sorted(principal.stores)
    return UserInfo(
        id=principal.user, name=principal.name, role=principal.role, stores=stores,
        regions=sorted(principal.regions), staff=principal.staff,
    )  # fmt: skip


def _tokens(auth: AuthService, result: LoginResult) -> TokenResponse:
    assert result.pair is not None and result.principal is not None
    return TokenResponse(
        access_token=result.pair.access_token,
        refresh_token=result.pair.refresh_token,
        expires_in=auth.settings.access_ttl_s,
        user=user_info(result.principal),
    )


def _field_error(field: str, message: str) -> HTTPException:
    return HTTPException(422, [{"loc": ["body", field], "msg": message, "type": "value_error"}])


@router.post(
    "/login",
    summary="Log in with username and password: an access token and a refresh token",
    response_model=TokenResponse,
    responses={401: {"description": "wrong username or password"},
               429: {"description": "too many failed logins; see Retry-After"}},
)  # fmt: skip
async def login(body: LoginRequest, request: Request, auth: Auth) -> TokenResponse | Response:
    result = await auth.login(body.username, body.password, client_ip(request))
    if result.outcome == "limited":
        response = json_response(
            {"detail": f"too many failed logins; try again in {result.retry_after_s} s"}, 429
        )
        response.headers["Retry-After"] = str(result.retry_after_s)
        return response
    if result.outcome != "ok":
        return json_response({"detail": "wrong username or password"}, 401)
    return _tokens(auth, result)


@router.post(
    "/refresh",
    summary="Trade a refresh token for a new pair (the old pair stops working)",
    response_model=TokenResponse,
    responses={401: {"description": "refresh token unknown, used or expired"}},
)
async def refresh(body: RefreshRequest, auth: Auth) -> TokenResponse | Response:
    result = await auth.refresh(body.refresh_token)
    if result.outcome != "ok":
        return json_response({"detail": "refresh token is not valid; log in again"}, 401)
    return _tokens(auth, result)


@router.post("/logout", summary="End this login session (its access and refresh tokens)")
async def logout(principal: CurrentPrincipal, auth: Auth) -> dict[str, bool]:
    if principal.session is not None:
        await auth.tokens.end_session(principal.session)
    return {"logged_out": principal.session is not None}


@router.get("/me", summary="The logged-in user, role and stores", response_model=UserInfo)
async def me(principal: CurrentPrincipal) -> UserInfo:
    return user_info(principal)


@router.post("/password", summary="Change one's own password (ends every session)")
async def change_password(
    body: PasswordChange, principal: CurrentPrincipal, auth: Auth
) -> dict[str, bool]:
    user = await auth.users.get(principal.user)
    if user is None or not verify_password(user.password_hash, body.current):
        raise _field_error("current", "the current password is wrong")
    if problem := check_strength(body.new):
        raise _field_error("new", problem)
    new_hash = hash_password(body.new)

    def edit(u: User) -> User:
        u.password_hash, u.generation = new_hash, u.generation + 1
        return u

    await auth.users.change(user.id, edit)
    return {"changed": True}


@router.get("/users", summary="Every user (hq_admin)")
async def list_users(auth: Auth) -> dict[str, Any]:
    return {"users": [user.public() for user in await auth.users.all()]}


@router.post("/users", status_code=201, summary="Create a user (hq_admin)")
async def create_user(body: NewUser, auth: Auth) -> dict[str, Any]:
    password_hash = None
    if body.password is not None:
        if problem := check_strength(body.password):
            raise _field_error("password", problem)
        password_hash = hash_password(body.password)
    user = User(
        id=body.id, name=body.name, role=body.role, stores=tuple(body.stores),
        regions=tuple(body.regions), staff=body.staff, password_hash=password_hash,
    )  # fmt: skip
    try:
        added = await auth.users.add(user)
    except UserError as exc:
        raise _field_error(_field_of(exc), str(exc)) from None
    if not added:
        raise HTTPException(409, f"user {body.id} exists")
    return user.public()


@router.get("/users/{user_id}", summary="One user (hq_admin)")
async def get_user(user_id: UserIdPath, auth: Auth) -> dict[str, Any]:
    user = await auth.users.get(user_id)
    if user is None:
        raise HTTPException(404, f"no user {user_id}")
    return user.public()


@router.patch(
    "/users/{user_id}",
    summary="Change a user (hq_admin); changing password, role, stores or regions, or "
    "disabling, ends the user's sessions and tokens",
)
async def change_user(user_id: UserIdPath, body: UserChange, auth: Auth) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    password = changes.pop("password", None)
    if password is not None and (problem := check_strength(password)):
        raise _field_error("password", problem)
    new_hash = hash_password(password) if password is not None else None

    def edit(user: User) -> User:
        revoke = new_hash is not None or changes.get("disabled") is True
        for field, value in changes.items():
            value = tuple(value) if isinstance(value, list) else value
            revoke = revoke or (field in ("role", "stores", "regions") and
                                getattr(user, field) != value)  # fmt: skip
            setattr(user, field, value)
        if new_hash is not None:
            user.password_hash = new_hash
        if revoke:
            user.generation += 1
        return user

    try:
        user = await auth.users.change(user_id, edit)
    except UserError as exc:
        raise _field_error(_field_of(exc), str(exc)) from None
    if user is None:
        raise HTTPException(404, f"no user {user_id}")
    return user.public()


@router.delete("/users/{user_id}", status_code=204, summary="Delete a user (hq_admin)")
async def delete_user(user_id: UserIdPath, principal: CurrentPrincipal, auth: Auth) -> Response:
    if user_id == principal.user:
        raise HTTPException(409, "you cannot delete your own user")
    if not await auth.users.delete(user_id):
        raise HTTPException(404, f"no user {user_id}")
    for token in await auth.tokens.api_tokens(user_id):
        await auth.tokens.revoke_api_token(token.id)
    return Response(status_code=204)


@router.get("/tokens", summary="API tokens (hq_admin); never the tokens themselves")
async def list_tokens(
    auth: Auth, user: Annotated[str | None, Query(pattern=USER_PATTERN)] = None
) -> dict[str, Any]:
    return {"tokens": [token.public() for token in await auth.tokens.api_tokens(user)]}


@router.post(
    "/tokens",
    status_code=201,
    summary="Issue an API token for a user (hq_admin); it acts with that user's role and "
    "stores and is shown only in this answer",
)
async def create_token(body: NewApiToken, auth: Auth) -> dict[str, Any]:
    user = await auth.users.get(body.user)
    if user is None or user.disabled:
        raise _field_error("user", f"no active user {body.user}")
    token, info = await auth.tokens.create_api_token(
        user.id, user.generation, body.name, body.expires_days
    )
    return {"token": token, **info.public()}


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke an API token (hq_admin)")
async def revoke_token(
    token_id: Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")], auth: Auth
) -> Response:
    if await auth.tokens.revoke_api_token(token_id) is None:
        raise HTTPException(404, f"no API token {token_id}")
    return Response(status_code=204)


@router.get("/audit", summary="Who viewed which member's profile (hq_admin, store managers)")
async def audit_log(
    principal: CurrentPrincipal,
    auth: Auth,
    store: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    member: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Response:
    stores = principal.visible([store] if store else None)
    entries = await auth.audit.entries(stores, member=member, limit=limit)
    return json_response({"entries": entries})


def _field_of(error: UserError) -> str:
    message = str(error)
    return message.split("`")[1] if message.count("`") >= 2 else "body"
