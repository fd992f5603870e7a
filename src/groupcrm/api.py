"""The REST API at /api/v1/: one NinjaAPI that mounts each app's router."""

from __future__ import annotations

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer

from groupcrm.core import problems
from groupcrm.core.api_support import TokenAuth, UserThrottle, VerifiedSessionAuth
from groupcrm.core.errors import DomainError


class ReadableJSON(JSONRenderer):
    """UTF-8 JSON: Chinese stays readable (errors already are)."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=ReadableJSON(),
    title="groupcrm API",
    version="1",
    description=(
        "集团客户管理系统 REST API. Authenticate with `Authorization: Bearer <token>` "
        "(create one on your profile page or with POST /api/v1/auth/token). "
        "Errors are application/problem+json with per-field messages."
    ),
    auth=[TokenAuth(), VerifiedSessionAuth(csrf=True)],
    throttle=[UserThrottle()],
    urls_namespace="api",
)

api.add_exception_handler(DomainError, problems.on_domain_error)
api.add_exception_handler(NinjaValidationError, problems.on_validation_error)
api.add_exception_handler(HttpError, problems.on_http_error)
api.add_exception_handler(Http404, problems.on_not_found)
api.add_exception_handler(Exception, problems.on_unexpected)


def _mount() -> None:
    from groupcrm.announcements.api import router as announcements_router
    from groupcrm.approvals.api import router as approvals_router
    from groupcrm.audit.api import router as audit_router
    from groupcrm.core.api import router as core_router
    from groupcrm.customers import api as customers
    from groupcrm.integration import api as integration
    from groupcrm.org.api import auth_router
    from groupcrm.org.api import router as org_router
    from groupcrm.sales.api import router as sales_router
    from groupcrm.sales.conflicts import api as conflicts
    from groupcrm.sales.contracts import api as contracts
    from groupcrm.sales.forecast import api as forecast
    from groupcrm.sales.leads import api as leads
    from groupcrm.sales.quotes import api as quotes

    api.add_router("/", core_router)
    api.add_router("/auth", auth_router)
    api.add_router("/", org_router)
    api.add_router("/announcements", announcements_router)
    api.add_router("/audit", audit_router)
    api.add_router("/customers", customers.router)
    api.add_router("/relationships", customers.relationships)
    api.add_router("/contacts", customers.contacts)
    api.add_router("/followups", customers.followups)
    api.add_router("/change-requests", customers.change_requests)
    api.add_router("/imports", integration.imports.router)
    api.add_router("/duplicates", integration.dedup.router)
    api.add_router("/exports", integration.exports.router)
    api.add_router("/sales", sales_router)
    api.add_router("/sales", leads.router)
    api.add_router("/sales", conflicts.router)
    api.add_router("/sales", quotes.router)
    api.add_router("/sales", contracts.router)
    api.add_router("/sales", forecast.router)
    api.add_router("/approvals", approvals_router)


_mount()
