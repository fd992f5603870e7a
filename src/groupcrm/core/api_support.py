"""Shared API plumbing: authentication classes and pagination."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema
from ninja.pagination import PaginationBase
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth
from ninja.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from groupcrm.core.actor import Actor
from groupcrm.core.errors import AuthenticationFailed, PermissionDenied

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class TokenAuth(HttpBearer):
    """``Authorization: Bearer gcrm_…``: looks the token up by hash, sets request.actor."""

    openapi_description = "Personal API token from the profile page or POST /api/v1/auth/token"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from groupcrm.org.models import ApiToken
        from groupcrm.org.services import hash_token

        found = ApiToken.objects.select_related("user").filter(key_hash=hash_token(token)).first()
        if found is None or not found.user.is_active:
            raise AuthenticationFailed(_("The token is not valid."), code="invalid_token")
        if found.revoked_at is not None:
            raise AuthenticationFailed(_("The token has been revoked."), code="token_revoked")
        now = timezone.now()
        if found.expires_at <= now:
            raise AuthenticationFailed(_("The token has expired."), code="token_expired")
        if found.last_used_at is None or now - found.last_used_at > timedelta(minutes=1):
            type(found).objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user
        if found.scope == ApiToken.Scope.READ and request.method not in SAFE_METHODS:
            raise PermissionDenied(_("This token is read-only."), code="read_only_token")
        request.actor = Actor.for_request(request, found.user, token_scope=found.scope)
        return found.user


class VerifiedSessionAuth(SessionAuth):
    """The browser session, for the interactive docs and htmx: only once 2FA is passed."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        from groupcrm.org.middleware import needs_second_factor

        user = super().authenticate(request, key)
        if user is None or needs_second_factor(request):
            return None
        return user


class PagePagination(PaginationBase):
    class Input(Schema):
        page: int = Field(1, ge=1, description="Page number, from 1")
        page_size: int = Field(50, ge=1, le=200, description="Items per page (at most 200)")

    class Output(Schema):
        count: int
        page: int
        page_size: int
        items: list[Any]

    def paginate_queryset(
        self, queryset: Any, pagination: Input, request: HttpRequest, **params: Any
    ) -> dict[str, Any]:
        start = (pagination.page - 1) * pagination.page_size
        return {
            "count": self._items_count(queryset),
            "page": pagination.page,
            "page_size": pagination.page_size,
            "items": list(queryset[start : start + pagination.page_size]),
        }


def actor_of(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


class _ConfiguredRate(SimpleRateThrottle):
    """Reads its rate from a setting at each request, so operators (and tests) can
    change it without re-importing the API."""

    setting = "API_RATE_LIMIT"

    def __init__(self) -> None:
        super().__init__(getattr(settings, self.setting))

    def allow_request(self, request: HttpRequest) -> bool:
        self.rate = getattr(settings, self.setting)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)


class UserThrottle(_ConfiguredRate, UserRateThrottle):
    """Per signed-in user (per client IP for anonymous calls)."""


class SignInThrottle(_ConfiguredRate, AnonRateThrottle):
    """Per client IP on the token endpoint, against password guessing."""

    setting = "API_AUTH_RATE_LIMIT"
