"""Two-factor enforcement for browser sessions."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

EXEMPT_PREFIXES = ("/static/", "/healthz", "/api/", "/i18n/", "/accounts/")


def has_device(request: HttpRequest) -> bool:
    if not hasattr(request, "_has_totp"):
        request._has_totp = TOTPDevice.objects.filter(  # type: ignore[attr-defined]
            user=request.user, confirmed=True
        ).exists()
    return request._has_totp  # type: ignore[attr-defined]


def needs_second_factor(request: HttpRequest) -> bool:
    """Signed in with a password but not yet through the second factor it requires."""
    user = request.user
    if not user.is_authenticated:
        return False
    if has_device(request):
        return not user.is_verified()  # type: ignore[union-attr]
    return bool(request.actor and request.actor.mfa_required)  # type: ignore[attr-defined]


class TwoFactorMiddleware:
    """Users with an authenticator must pass it; roles that require one must enrol."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(EXEMPT_PREFIXES) or not needs_second_factor(request):
            return self.get_response(request)
        target = (
            reverse("two_factor_verify") if has_device(request) else reverse("two_factor_enrol")
        )
        if request.path == target:
            return self.get_response(request)
        return redirect(f"{target}?next={request.get_full_path()}")
