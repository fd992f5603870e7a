"""Domain errors raised by services; the UI and the API each turn them into a response
in one place (core.middleware.DomainErrorMiddleware and groupcrm.api)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    status = 400
    code = "error"
    default_message = _("The request could not be completed.")

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        # Machine-readable details the API adds to the problem body (e.g. the existing
        # record a duplicate points to); only what the caller may see.
        self.extra = extra or {}
        super().__init__(str(self.message))


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = _("Not found, or you do not have access to it.")


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"
    default_message = _("You do not have permission to do this.")


class AuthenticationFailed(DomainError):
    status = 401
    code = "authentication_failed"
    default_message = _("Authentication failed.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _("This conflicts with the current state of the data.")


class ValidationError(DomainError):
    """Invalid input; ``fields`` maps a field name to its messages ("" for the whole)."""

    status = 422
    code = "validation_error"
    default_message = _("Some values are not valid.")

    def __init__(
        self,
        fields: dict[str, list[str] | str] | None = None,
        message: str | None = None,
        *,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.fields: dict[str, list[str]] = {
            name: [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])]
            for name, msgs in (fields or {}).items()
        }
        if message is None and len(self.fields) == 1 and "" in self.fields:
            message = self.fields[""][0]
        super().__init__(message, code=code, extra=extra)
