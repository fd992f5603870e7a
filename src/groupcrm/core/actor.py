"""Who is acting: a user (with their memberships) or the system, plus request context.

Every service takes ``actor`` as a keyword argument; views get it from
``request.actor`` (ActorMiddleware), the API from the token or session, jobs from
``Actor.system(...)``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from groupcrm.core.errors import PermissionDenied
from groupcrm.core.permissions import DataScope

if TYPE_CHECKING:
    from django.http import HttpRequest

    from groupcrm.org.models import BusinessUnit, User


@dataclass(frozen=True)
class Grant:
    """One membership's reach for a permission: a BU (by id and tree path) and a scope."""

    bu_id: int
    bu_path: str
    scope: str


class Actor:
    def __init__(
        self,
        user: User | None,
        *,
        request_id: str | None = None,
        ip: str | None = None,
        system_reason: str = "",
        token_scope: str | None = None,
    ) -> None:
        self.user = user
        self.request_id = request_id or uuid.uuid4().hex
        self.ip = ip
        self.system_reason = system_reason
        # API tokens may be read-only: they never grant more than "view".
        self.token_scope = token_scope

    @classmethod
    def for_request(
        cls, request: HttpRequest, user: User, *, token_scope: str | None = None
    ) -> Actor:
        """The actor of a web or API request: its request id and client address.

        REMOTE_ADDR is the client's address: TrustedProxyMiddleware has already replaced
        it with the forwarded one when the app runs behind PROXY_COUNT proxies."""
        return cls(
            user,
            request_id=getattr(request, "request_id", None),
            ip=request.META.get("REMOTE_ADDR"),
            token_scope=token_scope,
        )

    @classmethod
    def system(cls, reason: str, *, request_id: str | None = None) -> Actor:
        return cls(None, system_reason=reason, request_id=request_id)

    @property
    def is_system(self) -> bool:
        return self.user is None

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user else None

    @property
    def label(self) -> str:
        if self.user is None:
            return f"system:{self.system_reason}"
        return self.user.get_username()

    @cached_property
    def memberships(self) -> list:
        if self.user is None or not self.user.is_active:
            return []
        return list(
            self.user.memberships.filter(is_active=True, bu__is_active=True, role__is_active=True)
            .select_related("bu", "role")
            .order_by("-is_primary", "pk")
        )

    @property
    def bu(self) -> BusinessUnit | None:
        """The unit the actor acts for by default: the primary membership's."""
        return self.memberships[0].bu if self.memberships else None

    @property
    def is_superuser(self) -> bool:
        return bool(self.user and self.user.is_active and self.user.is_superuser)

    def grants(self, module: str, action: str) -> list[Grant]:
        if self.token_scope == "read" and action != "view":
            return []
        perm = f"{module}.{action}"
        return [
            Grant(m.bu_id, m.bu.path, m.role.data_scope)
            for m in self.memberships
            if perm in m.role.permissions
        ]

    def can(self, module: str, action: str) -> bool:
        if self.token_scope == "read" and action != "view":
            return False
        return self.is_system or self.is_superuser or bool(self.grants(module, action))

    def require(self, module: str, action: str) -> None:
        if not self.can(module, action):
            raise PermissionDenied()

    def widest_scope(self, module: str, action: str) -> str | None:
        order = [s.value for s in DataScope]
        scopes = [g.scope for g in self.grants(module, action)]
        if self.is_system or self.is_superuser:
            return DataScope.GROUP
        return max(scopes, key=order.index) if scopes else None

    @cached_property
    def mfa_required(self) -> bool:
        return any(m.role.mfa_required for m in self.memberships)
