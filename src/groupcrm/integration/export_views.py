"""Export pages: the 导出 buttons of the customer and contact lists (a download at once,
or a background job for a large set), 我的导出 with progress, and the file download."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from groupcrm.core.errors import ValidationError
from groupcrm.core.ui import paginate
from groupcrm.customers import export
from groupcrm.integration import exports
from groupcrm.integration.models import ExportJob

ACTIVE = (ExportJob.Status.PENDING, ExportJob.Status.RUNNING)


@login_required
@require_POST
def export_begin(request: HttpRequest) -> HttpResponse:
    """A list's 导出 button: the file at once, or, above EXPORT_INLINE_MAX_ROWS rows, a
    background job (the person is taken to its progress)."""
    actor = request.actor
    entity = request.POST.get("entity", "")
    fmt = request.POST.get("format", "")
    try:
        filters = export.picked_filters(entity, QueryDict(request.POST.get("query", "")))
        return export.list_export(actor=actor, entity=entity, fmt=fmt, filters=filters)
    except export.TooManyRows:
        job = exports.export_start(actor=actor, entity=entity, format=fmt, filters=filters)
    except ValidationError as exc:
        # A button has no form to show field errors on: the page message says them all.
        said = [message for messages_ in exc.fields.values() for message in messages_]
        raise ValidationError(message=" ".join(said) or None) from None
    messages.success(
        request,
        format_html(
            '{} <a href="{}">{}</a>',
            _("More than %(n)d rows: the file is being written in the background.")
            % {"n": export.inline_limit()},
            reverse("exports:list"),
            _("My exports"),
        ),
    )
    return redirect("exports:job", job.pk)


@login_required
def export_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, exports.export_job_list(actor=request.actor))
    context = {
        "page": page,
        "active": any(job.status in ACTIVE for job in page.object_list),
        "retention_days": settings.EXPORT_RETENTION_DAYS,
    }
    if request.htmx and request.htmx.target == "export-rows":
        return render(request, "integration/_export_rows.html", context)
    return render(request, "integration/exports.html", context)


@login_required
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    context = {
        "job": exports.export_job_get(actor=request.actor, pk=pk),
        "retention_days": settings.EXPORT_RETENTION_DAYS,
    }
    if request.htmx and request.htmx.target == "export-progress":
        return render(request, "integration/_export_progress.html", context)
    return render(request, "integration/export.html", context)


@login_required
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    return export.file_response(*exports.export_file(actor=request.actor, pk=pk))
