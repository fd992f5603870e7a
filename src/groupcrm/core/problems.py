"""RFC 9457 problem details for the API: the one place API errors are shaped."""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

from groupcrm.core.errors import DomainError

log = logging.getLogger(__name__)

# Pydantic error types in words people can act on (and translate).
PYDANTIC_MESSAGES = {
    "missing": lambda: _("This field is required."),
    "extra_forbidden": lambda: _("Unknown field."),
    "int_parsing": lambda: _("Enter a whole number."),
    "int_type": lambda: _("Enter a whole number."),
    "bool_parsing": lambda: _("Enter true or false."),
    "bool_type": lambda: _("Enter true or false."),
    "string_type": lambda: _("Enter text."),
    "string_too_long": lambda: _("This value is too long."),
    "string_too_short": lambda: _("This value is too short."),
    "datetime_parsing": lambda: _("Enter a date and time in ISO 8601 format."),
    "datetime_from_date_parsing": lambda: _("Enter a date and time in ISO 8601 format."),
    "date_parsing": lambda: _("Enter a date in ISO 8601 format (YYYY-MM-DD)."),
    "literal_error": lambda: _("This value is not one of the allowed choices."),
    "enum": lambda: _("This value is not one of the allowed choices."),
    "greater_than_equal": lambda: _("This value is too small."),
    "less_than_equal": lambda: _("This value is too large."),
    "list_type": lambda: _("Enter a list."),
    "model_attributes_type": lambda: _("Enter an object."),
    "dict_type": lambda: _("Enter an object."),
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    errors: dict[str, list[str]] | None = None,
    request: HttpRequest | None = None,
    extra: dict[str, Any] | None = None,
) -> JsonResponse:
    body: dict[str, Any] = {
        "type": f"urn:groupcrm:problem:{code}",
        "title": title or detail,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    if request is not None and getattr(request, "request_id", None):
        body["request_id"] = request.request_id
    return JsonResponse(
        body,
        status=status,
        content_type="application/problem+json",
        json_dumps_params={"ensure_ascii": False},
    )


def _field_name(loc: list[Any]) -> str:
    # ninja locations look like ["body", "payload", "name"] or ["query", "page"].
    parts = [str(p) for p in loc[1:] if p != "payload"] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts) or "body"


def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    errors = getattr(exc, "fields", None)
    return problem(
        exc.status, exc.code, str(exc.message), errors=errors, request=request, extra=exc.extra
    )


def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for err in exc.errors:
        message = PYDANTIC_MESSAGES.get(err.get("type", ""))
        text = str(message()) if message else str(err.get("msg", ""))
        errors.setdefault(_field_name(list(err.get("loc", []))), []).append(text)
    return problem(
        422, "validation_error", _("Some values are not valid."), errors=errors, request=request
    )


def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, Throttled):
        return problem(
            429, "rate_limited", _("Too many requests. Please wait and try again."), request=request
        )
    if isinstance(exc, AuthenticationError):
        return problem(
            401,
            "authentication_required",
            _("Authentication required: send a valid token as 'Authorization: Bearer <token>'."),
            request=request,
        )
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        return problem(
            400, "malformed_body", _("The request body is not valid JSON."), request=request
        )
    return problem(exc.status_code, "http_error", str(exc), request=request)


def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(
        404, "not_found", _("Not found, or you do not have access to it."), request=request
    )


def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("unhandled API error")
    return problem(
        500,
        "server_error",
        _("An unexpected error occurred. It has been logged with the request id."),
        request=request,
    )


def axes_lockout(request: HttpRequest, original_response: Any, credentials: Any) -> HttpResponse:
    """Locked out after repeated failures: problem+json for the API, a page for people."""
    from django.conf import settings
    from django.shortcuts import render

    retry = int(settings.AXES_COOLOFF_TIME.total_seconds())
    if request.path.startswith("/api/"):
        response = problem(
            429,
            "locked_out",
            _("Too many failed attempts: this account is locked for a while."),
            request=request,
        )
    else:
        response = render(request, "registration/locked_out.html", status=429)
    response["Retry-After"] = str(retry)
    return response
