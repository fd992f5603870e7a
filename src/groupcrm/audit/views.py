from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from groupcrm.audit.models import AccessRecord, ChangeRecord
from groupcrm.audit.selectors import access_record_list, change_record_list, object_types
from groupcrm.core.errors import NotFound
from groupcrm.core.ui import paginate
from groupcrm.org.selectors import bu_list


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
def log(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("audit", "view")
    params = request.GET
    records = change_record_list(
        actor=actor,
        actor_id=int(params["actor"]) if params.get("actor", "").isdigit() else None,
        bu_id=int(params["bu"]) if params.get("bu", "").isdigit() else None,
        object_type=params.get("object_type", ""),
        action=params.get("action", ""),
        date_from=_date(params.get("date_from")),
        date_to=_date(params.get("date_to")),
    )
    context = {
        "page": paginate(request, records),
        "object_types": object_types(actor=actor),
        "actions": ChangeRecord.Action.choices,
        "units": bu_list(actor=actor) if actor.can("org", "view") else [],
    }
    return render(request, "audit/_rows.html" if request.htmx else "audit/log.html", context)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = change_record_list(actor=request.actor).filter(pk=pk).first()
    if record is None:
        raise NotFound()
    return render(request, "audit/detail.html", {"record": record})


@login_required
def access_log(request: HttpRequest) -> HttpResponse:
    """Who saw personal data unmasked, and who exported what."""
    actor = request.actor
    actor.require("audit", "view")
    records = access_record_list(actor=actor, kind=request.GET.get("kind", ""))
    return render(
        request,
        "audit/access.html",
        {"page": paginate(request, records), "kinds": AccessRecord.Kind.choices},
    )
