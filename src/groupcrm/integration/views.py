"""Import pages: start an import (or a dry run), follow its progress, read its report."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from groupcrm.core.errors import ValidationError
from groupcrm.core.permissions import DataScope
from groupcrm.core.ui import apply_errors, paginate, submit
from groupcrm.customers import export
from groupcrm.customers.selectors import masked
from groupcrm.integration import matching, quality, selectors, services, survivorship
from groupcrm.integration.forms import ImportForm, SourceForm
from groupcrm.integration.models import PairDecision, SurvivorshipRule


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("integration", "view")
    return render(
        request,
        "integration/jobs.html",
        {
            "page": paginate(request, selectors.import_job_list(actor=actor)),
            "can_create": actor.can("integration", "create"),
            "can_admin": actor.can("integration", "admin"),
        },
    )


@login_required
def job_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("integration", "create")
    form = ImportForm(request.POST or None, request.FILES or None, actor=actor)
    headers: list[str] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        suffix = Path(upload.name).suffix.lower()
        with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
            for chunk in upload.chunks():
                tmp.write(chunk)
            tmp.flush()
            try:
                job = services.import_start(
                    actor=actor,
                    source_id=form.cleaned_data["source"].pk,
                    bu_id=form.cleaned_data["bu"].pk,
                    entity=form.cleaned_data["entity"],
                    path=Path(tmp.name),
                    filename=upload.name,
                    dry_run=form.cleaned_data["dry_run"],
                )
            except ValidationError as exc:
                headers = exc.extra.get("headers", [])
                for name in ("mapping", "source_id", "bu_id"):
                    if name in exc.fields:
                        exc.fields.setdefault("", []).extend(exc.fields.pop(name))
                apply_errors(form, exc)
            else:
                return redirect("integration:job", job.pk)
    return render(request, "integration/new.html", {"form": form, "headers": headers})


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_job_get(actor=request.actor, pk=pk)
    context = {
        "job": job,
        "progress": selectors.import_progress(job),
        "issues": paginate(request, selectors.row_issues(job=job)),
    }
    if request.htmx and request.htmx.target == "job-progress":
        return render(request, "integration/_progress.html", context)
    return render(request, "integration/job.html", context)


@login_required
def job_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The refused rows with their values and an error column, as XLSX (logged)."""
    job = selectors.import_job_get(actor=request.actor, pk=pk)
    services.report_downloaded(actor=request.actor, job=job)
    response = HttpResponse(
        selectors.import_report_xlsx(job=job), content_type=export.CONTENT_TYPES["xlsx"]
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.xlsx"'
    return response


@login_required
@require_POST
def job_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Run a checked dry run for real, or resume an interrupted job."""
    job = selectors.import_job_get(actor=request.actor, pk=pk)
    job = services.import_again(actor=request.actor, job=job)
    return redirect("integration:job", job.pk)


@login_required
def source_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("integration", "admin")
    form = SourceForm(request.POST or None)
    done = submit(
        request,
        form,
        lambda d: services.source_create(actor=actor, **d),
        success_url=reverse("integration:new"),
        message=_("Source saved."),
    )
    return done or render(
        request,
        "form.html",
        {"form": form, "title": _("New import source"), "back": reverse("integration:jobs")},
    )


@login_required
def duplicates(request: HttpRequest, entity: str = matching.CUSTOMERS) -> HttpResponse:
    """The review queue of customers or of contacts: candidate pairs, best first, with
    their reasons (contacts' phones and emails masked)."""
    actor = request.actor
    status = request.GET.get("status", PairDecision.Status.PENDING)
    if status not in PairDecision.Status.values:
        status = PairDecision.Status.PENDING
    page = paginate(request, matching.review_queue(actor=actor, status=status, entity=entity))
    if entity == matching.CONTACTS:
        for pair in page:
            pair.left_masked, pair.right_masked = masked(pair.left), masked(pair.right)
    statuses = PairDecision.Status.choices
    if entity == matching.CONTACTS:
        # A merged contact is removed with its pair: merges are listed on the customer.
        statuses = [c for c in statuses if c[0] != PairDecision.Status.MERGED]
    return render(
        request,
        "integration/duplicates.html",
        {
            "page": page,
            "entity": entity,
            "status": status,
            "statuses": statuses,
            "can_run": actor.widest_scope("customers", "admin") == DataScope.GROUP,
        },
    )


@login_required
@require_POST
def duplicates_run(request: HttpRequest) -> HttpResponse:
    entity = request.POST.get("entity", matching.CUSTOMERS)
    matching.dedup_start(actor=request.actor, entity=entity)
    messages.success(request, _("Looking for duplicates in the background; reload in a moment."))
    return redirect(
        "integration:contact_duplicates"
        if entity == matching.CONTACTS
        else "integration:duplicates"
    )


@login_required
@require_POST
def duplicate_decide(
    request: HttpRequest, pk: int, entity: str = matching.CUSTOMERS
) -> HttpResponse:
    survivor = request.POST.get("survivor_id", "")
    matching.pair_decide(
        actor=request.actor,
        pk=pk,
        decision=request.POST.get("decision", ""),
        survivor_id=int(survivor) if survivor.isdecimal() else None,
        entity=entity,
    )
    messages.success(request, _("Decision saved."))
    back = (
        "integration:contact_duplicates"
        if entity == matching.CONTACTS
        else "integration:duplicates"
    )
    return redirect(request.META.get("HTTP_REFERER") or reverse(back))


@login_required
def data_quality(request: HttpRequest) -> HttpResponse:
    """Data quality per unit and per account manager, its trend, the worst records."""
    return render(
        request, "integration/quality.html", quality.quality_overview(actor=request.actor)
    )


@login_required
def survivorship_rules(request: HttpRequest) -> HttpResponse:
    """Which source's value each field keeps, and how much each source is trusted."""
    actor = request.actor
    actor.require("integration", "admin")
    if request.method == "POST":
        survivorship.survivorship_rule_set(
            actor=actor,
            field=request.POST.get("field", ""),
            strategy=request.POST.get("strategy", ""),
        )
        messages.success(request, _("Rule saved."))
        return redirect("integration:rules")
    return render(
        request,
        "integration/rules.html",
        {
            "rules": survivorship.rule_rows(),
            "strategies": SurvivorshipRule.Strategy.choices,
            "page": paginate(request, selectors.source_list(actor=actor)),
        },
    )


@login_required
@require_POST
def source_trust(request: HttpRequest, pk: int) -> HttpResponse:
    survivorship.source_trust_set(actor=request.actor, pk=pk, trust=request.POST.get("trust", ""))
    messages.success(request, _("Trust saved."))
    return redirect("integration:rules")
