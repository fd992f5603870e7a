"""Dashboard, notifications, the event (outbox) admin page and the health check."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from huey.contrib.djhuey import HUEY

from groupcrm.announcements.selectors import announcement_feed
from groupcrm.audit.selectors import activity_by_day, change_record_list
from groupcrm.core import problems, selectors, services
from groupcrm.core.errors import NotFound
from groupcrm.core.models import OutboxEvent
from groupcrm.core.ui import paginate
from groupcrm.customers.selectors import workbench
from groupcrm.org.selectors import org_summary


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Real figures from what exists, each within the viewer's scope."""
    actor = request.actor
    context: dict = {"announcements": announcement_feed(actor=actor)}
    if actor.can("org", "view"):
        context.update(org_summary(actor=actor))
    if actor.can("customers", "view"):
        context.update(workbench(actor=actor))
    if actor.can("audit", "view"):
        context["recent"] = change_record_list(actor=actor)[:8]
        context["activity"] = [
            {"day": day.isoformat(), "count": n} for day, n in activity_by_day(actor=actor)
        ]
    if actor.can("system", "admin"):
        context["event_status"] = selectors.outbox_status_counts(actor=actor)
    return render(request, "dashboard.html", context)


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.notification_list(actor=request.actor))
    return render(request, "notifications.html", {"page": page})


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    pk = request.POST.get("id")
    services.notification_mark_read(
        actor=request.actor, pk=int(pk) if pk and pk.isdigit() else None
    )
    return redirect("notifications")


@login_required
def events(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    items = selectors.outbox_list(actor=request.actor, status=status)
    return render(
        request,
        "system/events.html",
        {
            "page": paginate(request, items),
            "status": status,
            "statuses": OutboxEvent.Status.choices,
        },
    )


@login_required
@require_POST
def event_retry(request: HttpRequest, pk: str) -> HttpResponse:
    services.outbox_retry(actor=request.actor, event_id=pk)
    messages.success(request, _("The event will be delivered again."))
    return redirect("system:events")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 handler: problem+json under /api/, the error page elsewhere."""
    if request.path.startswith("/api/"):
        return problems.on_not_found(request, exception)  # type: ignore[arg-type]
    return render(request, "error.html", {"error": NotFound()}, status=404)


def healthz(request: HttpRequest) -> JsonResponse:
    """Database and queue status for load balancers and monitors (200 or 503)."""
    checks: dict[str, dict] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True, "vendor": connection.vendor}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": exc.__class__.__name__}
    try:
        checks["queue"] = {
            "ok": True,
            "backend": type(HUEY).__name__,
            "pending": HUEY.pending_count(),
        }
    except Exception as exc:
        checks["queue"] = {
            "ok": False,
            "backend": type(HUEY).__name__,
            "error": exc.__class__.__name__,
        }
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )
