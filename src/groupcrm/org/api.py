"""Organisation API: me, business units, users, roles, memberships, tokens."""

from typing import Any, Literal

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from ninja import Router
from ninja.pagination import paginate
from ninja.responses import Status

from groupcrm.core.actor import Actor
from groupcrm.core.api_support import PagePagination, SignInThrottle, actor_of
from groupcrm.core.errors import AuthenticationFailed, PermissionDenied
from groupcrm.org import selectors, services
from groupcrm.org.models import BusinessUnit
from groupcrm.org.schemas import (
    BusinessUnitIn,
    BusinessUnitOut,
    BusinessUnitPatch,
    BusinessUnitTreeOut,
    MembershipIn,
    MembershipOut,
    MeOut,
    MoveIn,
    RoleIn,
    RoleOut,
    TokenCreated,
    TokenOut,
    TokenRequest,
    UserIn,
    UserOut,
    UserPatch,
)

router = Router(tags=["organisation"])
# An unknown ordering is a 422 on the API (the UI falls back to username).
UserOrdering = Literal[
    "username",
    "-username",
    "display_name",
    "-display_name",
    "date_joined",
    "-date_joined",
    "last_login",
    "-last_login",
]
auth_router = Router(tags=["authentication"])


def _merge(current: dict[str, Any], patch: Any) -> dict[str, Any]:
    # null means "leave as is": none of these fields can be emptied to null.
    return {**current, **patch.model_dump(exclude_unset=True, exclude_none=True)}


# --- me ----------------------------------------------------------------------------------


@router.get("/me", response=MeOut, summary="The calling user, memberships and permissions")
def me(request: HttpRequest) -> dict[str, Any]:
    actor = actor_of(request)
    assert actor.user is not None
    perms = sorted({p for m in actor.memberships for p in m.role.permissions})
    return {
        "user": actor.user,
        "memberships": actor.memberships,
        "permissions": perms,
        "two_factor_enabled": TOTPDevice.objects.filter(user=actor.user, confirmed=True).exists(),
        "token_scope": actor.token_scope,
    }


# --- tokens ------------------------------------------------------------------------------


@auth_router.post(
    "/token",
    auth=None,
    response={201: TokenCreated},
    throttle=[SignInThrottle()],
    summary="Exchange username + password (+ TOTP code) for an API token",
)
def token_obtain(request: HttpRequest, payload: TokenRequest) -> Status:
    user = authenticate(request, username=payload.username, password=payload.password)
    # A locked-out account never reaches here: AxesMiddleware answers 429 (locked_out).
    if user is None or not user.is_active:
        raise AuthenticationFailed(_("Wrong username or password."), code="invalid_credentials")
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        if not payload.otp_code:
            raise AuthenticationFailed(
                _("This account uses two-factor authentication: send otp_code."),
                code="otp_required",
            )
        if not device.verify_token(payload.otp_code.strip()):
            raise AuthenticationFailed(_("The two-factor code is not valid."), code="otp_invalid")
    actor = Actor.for_request(request, user)
    if actor.mfa_required and device is None:
        raise PermissionDenied(
            _("Your role requires two-factor authentication: enrol it in the web app first."),
            code="otp_enrolment_required",
        )
    token, secret = services.token_create(
        actor=actor, name=payload.name, scope=payload.scope, expires_in_days=payload.expires_in_days
    )
    return Status(201, {**TokenOut.from_orm(token).model_dump(), "token": secret})


@auth_router.get("/tokens", response=list[TokenOut], summary="Your API tokens")
def token_list(request: HttpRequest) -> Any:
    return selectors.token_list(actor=actor_of(request))


@auth_router.delete("/tokens/{token_id}", response={204: None}, summary="Revoke one of your tokens")
def token_revoke(request: HttpRequest, token_id: int) -> Status:
    services.token_revoke(actor=actor_of(request), pk=token_id)
    return Status(204, None)


# --- business units ----------------------------------------------------------------------


@router.get("/business-units", response=list[BusinessUnitOut], tags=["business units"])
@paginate(PagePagination)
def bu_list(request: HttpRequest, active: bool | None = None) -> Any:
    return selectors.bu_list(actor=actor_of(request), active=active)


@router.get("/business-units/tree", response=list[BusinessUnitTreeOut], tags=["business units"])
def bu_tree(request: HttpRequest) -> list[dict[str, Any]]:
    def node(n: selectors.ChartNode) -> dict[str, Any]:
        return {
            **BusinessUnitOut.from_orm(n.unit).model_dump(),
            "children": [node(c) for c in n.children],
        }

    return [node(root) for root in selectors.org_chart(actor=actor_of(request))]


@router.post("/business-units", response={201: BusinessUnitOut}, tags=["business units"])
def bu_create(request: HttpRequest, payload: BusinessUnitIn) -> Status:
    return Status(201, services.bu_create(actor=actor_of(request), **payload.model_dump()))


@router.get("/business-units/{bu_id}", response=BusinessUnitOut, tags=["business units"])
def bu_get(request: HttpRequest, bu_id: int) -> BusinessUnit:
    return selectors.bu_get(actor=actor_of(request), pk=bu_id)


@router.patch("/business-units/{bu_id}", response=BusinessUnitOut, tags=["business units"])
def bu_update(request: HttpRequest, bu_id: int, payload: BusinessUnitPatch) -> BusinessUnit:
    actor = actor_of(request)
    unit = selectors.bu_get(actor=actor, pk=bu_id, action="change")
    data = _merge({"name": unit.name, "code": unit.code, "kind": unit.kind}, payload)
    is_active = data.pop("is_active", None)
    unit = services.bu_update(actor=actor, pk=bu_id, **data)
    if is_active is not None:
        unit = services.bu_set_active(actor=actor, pk=bu_id, active=is_active)
    return unit


@router.post("/business-units/{bu_id}/move", response=BusinessUnitOut, tags=["business units"])
def bu_move(request: HttpRequest, bu_id: int, payload: MoveIn) -> BusinessUnit:
    return services.bu_move(actor=actor_of(request), pk=bu_id, parent_id=payload.parent_id)


@router.delete("/business-units/{bu_id}", response={204: None}, tags=["business units"])
def bu_delete(request: HttpRequest, bu_id: int) -> Status:
    services.bu_delete(actor=actor_of(request), pk=bu_id)
    return Status(204, None)


# --- roles -------------------------------------------------------------------------------


@router.get("/roles", response=list[RoleOut], tags=["roles"])
def role_list(request: HttpRequest) -> Any:
    return selectors.role_list(actor=actor_of(request))


@router.post("/roles", response={201: RoleOut}, tags=["roles"])
def role_create(request: HttpRequest, payload: RoleIn) -> Any:
    data = payload.model_dump()
    data.pop("is_active")
    return Status(201, services.role_create(actor=actor_of(request), **data))


@router.put("/roles/{role_id}", response=RoleOut, tags=["roles"])
def role_update(request: HttpRequest, role_id: int, payload: RoleIn) -> Any:
    return services.role_update(actor=actor_of(request), pk=role_id, **payload.model_dump())


# --- users and memberships ---------------------------------------------------------------


@router.get("/users", response=list[UserOut], tags=["users"])
@paginate(PagePagination)
def user_list(
    request: HttpRequest,
    q: str = "",
    bu_id: int | None = None,
    role_id: int | None = None,
    active: bool | None = None,
    ordering: UserOrdering = "username",
) -> Any:
    return selectors.user_list(
        actor=actor_of(request), q=q, bu_id=bu_id, role_id=role_id, active=active, ordering=ordering
    )


@router.post("/users", response={201: UserOut}, tags=["users"])
def user_create(request: HttpRequest, payload: UserIn) -> Any:
    return Status(201, services.user_create(actor=actor_of(request), **payload.model_dump()))


@router.get("/users/{user_id}", response=UserOut, tags=["users"])
def user_get(request: HttpRequest, user_id: int) -> Any:
    return selectors.user_get(actor=actor_of(request), pk=user_id)


@router.patch("/users/{user_id}", response=UserOut, tags=["users"])
def user_update(request: HttpRequest, user_id: int, payload: UserPatch) -> Any:
    actor = actor_of(request)
    user = selectors.user_get(actor=actor, pk=user_id, action="change")
    fields = ("display_name", "email", "phone", "title", "language")
    data = _merge({f: getattr(user, f) for f in fields}, payload)
    is_active = data.pop("is_active", None)
    user = services.user_update(actor=actor, pk=user_id, **data)
    if is_active is not None:
        user = services.user_set_active(actor=actor, pk=user_id, active=is_active)
    return user


@router.get("/users/{user_id}/memberships", response=list[MembershipOut], tags=["users"])
def user_memberships(request: HttpRequest, user_id: int) -> Any:
    actor = actor_of(request)
    return selectors.membership_list(actor=actor, user=selectors.user_get(actor=actor, pk=user_id))


@router.post("/memberships", response={201: MembershipOut}, tags=["users"])
def membership_add(request: HttpRequest, payload: MembershipIn) -> Any:
    return Status(201, services.membership_add(actor=actor_of(request), **payload.model_dump()))


@router.delete("/memberships/{membership_id}", response={204: None}, tags=["users"])
def membership_remove(request: HttpRequest, membership_id: int) -> Status:
    services.membership_remove(actor=actor_of(request), pk=membership_id)
    return Status(204, None)
