from datetime import datetime
from typing import Literal

from ninja import Field, Schema
from pydantic import ConfigDict


class Strict(Schema):
    """Input schemas refuse unknown fields (422), so typos never pass silently."""

    model_config = ConfigDict(extra="forbid")


class BusinessUnitOut(Schema):
    id: int
    name: str
    code: str
    kind: str
    parent_id: int | None
    depth: int
    path: str
    is_active: bool


class BusinessUnitTreeOut(BusinessUnitOut):
    children: list["BusinessUnitTreeOut"] = []


class BusinessUnitIn(Strict):
    name: str = Field(..., min_length=1, max_length=120)
    code: str = Field(..., min_length=1, max_length=40)
    kind: Literal["group", "subsidiary", "division", "department", "team"]
    parent_id: int | None = None


class BusinessUnitPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=120)
    code: str | None = Field(None, min_length=1, max_length=40)
    kind: Literal["group", "subsidiary", "division", "department", "team"] | None = None
    is_active: bool | None = None


class MoveIn(Strict):
    parent_id: int


class RoleOut(Schema):
    id: int
    name: str
    code: str
    description: str
    permissions: list[str]
    data_scope: str
    mfa_required: bool
    is_active: bool


class RoleIn(Strict):
    name: str = Field(..., min_length=1, max_length=60)
    code: str = Field(..., min_length=1, max_length=40)
    description: str = ""
    permissions: list[str] = []
    data_scope: Literal["own", "team", "subtree", "group"]
    mfa_required: bool = False
    is_active: bool = True


class MembershipOut(Schema):
    id: int
    user_id: int
    bu_id: int
    bu_name: str = Field(..., alias="bu.name")
    role_id: int
    role_name: str = Field(..., alias="role.name")
    data_scope: str = Field(..., alias="role.data_scope")
    is_primary: bool
    is_active: bool


class MembershipIn(Strict):
    user_id: int
    bu_id: int
    role_id: int
    is_primary: bool = False


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    email: str
    phone: str
    title: str
    language: str
    is_active: bool
    last_login: datetime | None
    date_joined: datetime


class UserIn(Strict):
    username: str = Field(..., min_length=1, max_length=150)
    password: str
    bu_id: int
    role_id: int
    display_name: str = ""
    email: str = ""
    phone: str = ""
    title: str = ""
    language: Literal["zh-hans", "en"] = "zh-hans"


class UserPatch(Strict):
    display_name: str | None = None
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    language: Literal["zh-hans", "en"] | None = None
    is_active: bool | None = None


class MeOut(Schema):
    user: UserOut
    memberships: list[MembershipOut]
    permissions: list[str]
    two_factor_enabled: bool
    token_scope: str | None


class TokenRequest(Strict):
    username: str
    password: str
    otp_code: str | None = None
    name: str = "API"
    scope: Literal["read", "write"] = "read"
    expires_in_days: int = 30  # checked by the service against API_TOKEN_MAX_DAYS


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scope: str
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


class TokenCreated(TokenOut):
    token: str
