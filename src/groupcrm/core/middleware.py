"""Request id, session timeouts, the actor, and the UI's one domain-error handler."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from groupcrm.core.actor import Actor
from groupcrm.core.errors import DomainError, NotFound, PermissionDenied
from groupcrm.core.logging import request_id_var

Handler = Callable[[HttpRequest], HttpResponse]
SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Keeps the caller's X-Request-ID when it is a plain token (a proxy's or a client's,
    for tracing only: it is never trusted for anything else), else makes one; echoes it.

    The log context is set, not reset, at the end: Django logs 4xx/5xx responses after
    the whole middleware chain, and those lines must carry the id too. The next request
    on this thread sets its own."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if SAFE_ID.match(incoming) else uuid.uuid4().hex  # type: ignore[attr-defined]
        request_id_var.set(request.request_id)  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response


class SessionTimeoutMiddleware:
    """Idle timeout (no request for SESSION_IDLE_TIMEOUT) and absolute timeout
    (SESSION_ABSOLUTE_TIMEOUT since login), enforced on the server side."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            started = request.session.setdefault("auth_started", now)
            last_seen = request.session.get("last_seen", now)
            if (
                now - started > settings.SESSION_ABSOLUTE_TIMEOUT
                or now - last_seen > settings.SESSION_IDLE_TIMEOUT
            ):
                logout(request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)  # now anonymous: the API answers 401
                messages.info(request, _("Your session has expired. Please sign in again."))
                return redirect_to_login(request.get_full_path())
            request.session["last_seen"] = now
        return self.get_response(request)


class ActorMiddleware:
    """``request.actor`` for signed-in users (None otherwise; the API sets its own)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        def build() -> Actor | None:
            if not request.user.is_authenticated:
                return None
            return Actor.for_request(request, request.user)  # type: ignore[arg-type]

        request.actor = SimpleLazyObject(build)  # type: ignore[attr-defined]
        return self.get_response(request)


class DomainErrorMiddleware:
    """The UI's one handler for domain errors: 404/403 pages, or a message and back."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, DomainError) or request.path.startswith("/api/"):
            return None
        if isinstance(exc, NotFound | PermissionDenied):
            return render(request, "error.html", {"error": exc}, status=exc.status)
        messages.error(request, str(exc.message))
        back = request.headers.get("HX-Current-URL") or request.META.get("HTTP_REFERER", "")
        if back and url_has_allowed_host_and_scheme(back, {request.get_host()}):
            response = redirect(back)
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = back
            return response
        return render(request, "error.html", {"error": exc}, status=exc.status)


class TrustedProxyMiddleware:
    """Behind PROXY_COUNT reverse proxies, REMOTE_ADDR becomes the client's address as
    seen by the outermost proxy we trust. Without proxies the header is ignored: a
    client could write anything into it."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.count = settings.PROXY_COUNT

    def __call__(self, request: HttpRequest) -> HttpResponse:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if self.count and forwarded:
            hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
            if hops:
                request.META["REMOTE_ADDR"] = hops[-min(self.count, len(hops))]
        return self.get_response(request)
