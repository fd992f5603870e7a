"""Conflict pages: the engagement notice, coordinate, raise, the list, one conflict with
its arbitration form, and the arbitrators' queue."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from groupcrm.audit.selectors import object_history
from groupcrm.core.errors import ValidationError
from groupcrm.core.ui import apply_errors, paginate, submit
from groupcrm.customers.models import Customer
from groupcrm.customers.selectors import customer_get
from groupcrm.org.models import BusinessUnit
from groupcrm.org.selectors import units_for
from groupcrm.sales.conflicts import selectors, services
from groupcrm.sales.conflicts.forms import CoordinateForm, DecideForm, RaiseForm
from groupcrm.sales.conflicts.models import Conflict


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdecimal() else None


def notice_context(
    request: HttpRequest, customer: Customer | None, unit: BusinessUnit | None, **extra: Any
) -> dict[str, Any]:
    """What ``conflicts/_notice.html`` needs, for a page that includes it."""
    if customer is None or unit is None:
        return {"engagements": [], "customer": customer, "unit": unit, **extra}
    found = selectors.engagements(actor=request.actor, customer=customer, unit=unit)
    return {"engagements": found, "customer": customer, "unit": unit, **extra}


@login_required
def notice(request: HttpRequest) -> HttpResponse:
    """The notice as a fragment: the opportunity form loads it once a customer is picked."""
    actor = request.actor
    customer_id, bu_id = _int(request.GET.get("customer_id")), _int(request.GET.get("bu_id"))
    customer = customer_get(actor=actor, pk=customer_id) if customer_id else None
    unit = selectors.entry_unit(actor=actor, bu_id=bu_id)
    # Coordinating goes back to the page that loaded the fragment, not to the fragment.
    back = request.headers.get("HX-Current-URL", "")
    return render(
        request, "conflicts/_notice.html", notice_context(request, customer, unit, next=back)
    )


def _next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return fallback


@login_required
@require_POST
def coordinate(request: HttpRequest) -> HttpResponse:
    form = CoordinateForm(request.POST)
    if not form.is_valid():
        raise ValidationError({k: v for k, v in form.errors.items()})
    data = form.cleaned_data
    notified = services.conflict_coordinate(actor=request.actor, **data)
    messages.success(
        request,
        _("We asked %(n)d colleague(s) in the other unit(s) to coordinate with you.")
        % {"n": len(notified)},
    )
    return redirect(_next(request, reverse("customers:detail", args=[data["customer_id"]])))


@login_required
def conflict_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("conflicts", "view")
    status, q = request.GET.get("status", ""), request.GET.get("q", "").strip()
    page = paginate(request, selectors.conflict_list(actor=actor, status=status, q=q))
    return render(
        request,
        "conflicts/list.html",
        {
            "page": page,
            "status": status,
            "q": q,
            "statuses": Conflict.Status.choices,
            "can_arbitrate": actor.can("conflicts", "approve"),
        },
    )


@login_required
def conflict_queue(request: HttpRequest) -> HttpResponse:
    """Open conflicts the arbitrator may decide, oldest first, with both sides' facts."""
    actor = request.actor
    page = paginate(request, selectors.conflict_queue(actor=actor))
    rows = [
        {"conflict": c, "sides": selectors.side_facts(c), "mine": actor.user_id == c.raised_by_id}
        for c in page.object_list
    ]
    return render(request, "conflicts/queue.html", {"page": page, "rows": rows})


@login_required
def conflict_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    conflict = selectors.conflict_get(actor=actor, pk=pk)
    is_open = conflict.status == Conflict.Status.OPEN
    can_arbitrate = is_open and selectors.can_arbitrate(actor=actor, conflict=conflict)
    form = DecideForm(request.POST or None, conflict=conflict) if can_arbitrate else None
    if form is not None:
        response = submit(
            request,
            form,
            lambda d: services.conflict_decide(actor=actor, pk=pk, **d),
            success_url=request.path,
            message=_("The conflict has been decided."),
        )
        if response:
            return response
    arbitrator_view = selectors.arbitrable(actor=actor).filter(pk=pk).exists()
    return render(
        request,
        "conflicts/detail.html",
        {
            "c": conflict,
            "form": form,
            "can_arbitrate": can_arbitrate,
            "is_party": actor.user_id in (conflict.raised_by_id, conflict.other_owner_id),
            "sides": selectors.side_facts(conflict) if arbitrator_view else None,
            "engagements": selectors.engagements(
                actor=actor, customer=conflict.customer, unit=conflict.raised_bu
            )
            if is_open
            else [],
            "can_withdraw": is_open
            and (conflict.raised_by_id == actor.user_id or actor.can("conflicts", "admin")),
            "history": paginate(request, object_history(obj=conflict)),
        },
    )


@login_required
def conflict_raise(request: HttpRequest) -> HttpResponse:
    """Raise a conflict on the customer given (``?customer=&bu=&other_bu=&opportunity=``)."""
    actor = request.actor
    actor.require("conflicts", "create")
    source = request.POST if request.method == "POST" else request.GET
    customer_id = _int(source.get("customer_id") or source.get("customer"))
    customer = customer_get(actor=actor, pk=customer_id) if customer_id else None
    if customer is None:
        messages.error(request, _("Open the customer first: conflicts are raised on a customer."))
        return redirect("conflicts:list")
    units = list(units_for(actor=actor, module="conflicts", action="create"))
    bu_id = _int(source.get("bu_id") or source.get("bu")) or (actor.bu.pk if actor.bu else None)
    unit = next((u for u in units if u.pk == bu_id), units[0] if units else None)
    found = selectors.engagements(actor=actor, customer=customer, unit=unit) if unit else []
    others = [(u["bu_id"], u["bu_name"]) for u in selectors.engaged_units(found)]
    form = RaiseForm(
        request.POST or None,
        initial={
            "customer_id": customer.pk,
            "bu_id": unit.pk if unit else None,
            "other_bu_id": _int(request.GET.get("other_bu")),
            "opportunity_id": _int(request.GET.get("opportunity")),
        },
        units=units,
        others=others,
    )
    if request.method == "POST" and form.is_valid():
        try:
            conflict = services.conflict_raise(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The conflict has been sent to the group's arbitrators."))
            return redirect("conflicts:detail", conflict.pk)
    return render(
        request,
        "conflicts/raise.html",
        {"form": form, "customer": customer, "unit": unit, "engagements": found},
    )


@login_required
@require_POST
def conflict_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    services.conflict_withdraw(actor=request.actor, pk=pk)
    messages.success(request, _("The conflict has been withdrawn."))
    return redirect("conflicts:detail", pk)
