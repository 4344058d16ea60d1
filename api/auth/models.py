"""Request and response bodies of the auth routes."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from api.auth.passwords import MAX_LENGTH
from api.auth.roles import Role
from api.auth.users import STAFF_PATTERN, USER_PATTERN


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class UserInfo(BaseModel):
    id: str
    name: str
    role: Role
    stores: list[str] = Field(description="the stores this user sees; ['*'] = all of them")
    regions: list[str] = []
    staff: str | None = Field(default=None, description="linked staff id (claims, resolves)")


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds the access token stays valid")
    user: UserInfo


class NewUser(BaseModel):
    id: str = Field(pattern=USER_PATTERN, description="the login name (lowercase)")
    name: str = Field(min_length=1, max_length=200)
    role: Role
    stores: list[str] = Field(default_factory=list, description="store ids; '*' = all")
    regions: list[str] = Field(default_factory=list)
    staff: str | None = Field(default=None, pattern=STAFF_PATTERN)
    password: str | None = Field(
        default=None, max_length=MAX_LENGTH, description="unset: cannot log in (API tokens only)"
    )


class UserChange(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    stores: list[str] | None = None
    regions: list[str] | None = None
    staff: str | None = Field(default=None, pattern=STAFF_PATTERN)
    password: str | None = Field(default=None, max_length=MAX_LENGTH)
    disabled: bool | None = None

    @field_validator("name", "role", "stores", "regions", "password", "disabled", mode="before")
    @classmethod
    def _left_out_not_null(cls, value: object) -> object:
        # Left out means unchanged; an explicit null would be stored (only `staff` unlinks).
        if value is None:
            raise ValueError("may be left out to keep it, but not null")
        return value


class PasswordChange(BaseModel):
    current: str = Field(min_length=1, max_length=MAX_LENGTH)
    new: str = Field(min_length=1, max_length=MAX_LENGTH)


class NewApiToken(BaseModel):
    user: str = Field(pattern=USER_PATTERN, description="the account the token acts for")
    name: str = Field(min_length=1, max_length=100, description="what it is for, e.g. 'POS'")
    expires_days: int | None = Field(default=None, ge=1, le=3650)
