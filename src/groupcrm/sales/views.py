"""Sales pages: the opportunity list, detail, forms, and the kanban board."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, ValidationError
from groupcrm.core.permissions import DataScope
from groupcrm.core.ui import apply_errors, paginate
from groupcrm.customers.models import Contact
from groupcrm.customers.selectors import contact_list, customer_get
from groupcrm.org.models import BusinessUnit, User
from groupcrm.org.selectors import units_for
from groupcrm.sales import selectors, services
from groupcrm.sales.conflicts.selectors import engagements
from groupcrm.sales.forms import MoveForm, OpportunityForm
from groupcrm.sales.models import Opportunity, Stage


def _people(actor: Actor, action: str, unit: BusinessUnit | None = None) -> list[User]:
    """Who may own an opportunity the actor writes: themselves with an own-records scope,
    else the members of the units they may sell for (or of ``unit``)."""
    if actor.widest_scope("opportunities", action) == DataScope.OWN and actor.user:
        return [actor.user]
    units = [unit] if unit else units_for(actor=actor, module="opportunities", action=action)
    return list(
        User.objects.filter(is_active=True, memberships__is_active=True, memberships__bu__in=units)
        .distinct()
        .order_by("username")
    )


def _contacts(actor: Actor, customer_id: int) -> list[Contact]:
    """The customer's contacts to name decision makers from, for whoever may see them."""
    if not actor.can("contacts", "view"):
        return []
    return list(contact_list(actor=actor, customer_id=customer_id).order_by("name"))


# --- list and board ----------------------------------------------------------------------


@login_required
def opportunity_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("opportunities", "view")
    filters = selectors.OpportunityFilters.from_query(request.GET)
    page = paginate(request, selectors.opportunity_list(actor=actor, filters=filters))
    pipelines = selectors.pipelines_for(actor=actor)
    return render(
        request,
        "sales/list.html",
        {
            "page": page,
            "filters": filters,
            "statuses": Opportunity.Status.choices,
            "categories": Opportunity.ForecastCategory.choices,
            "stages": [s for p in pipelines for s in p.stages.all()],
            "multiple_pipelines": len(pipelines) > 1,
            "units": units_for(actor=actor, module="opportunities", action="view"),
            "people": _people(actor, "view"),
            "sorts": [
                ("close", _("Expected close")),
                ("-close", _("Expected close, latest first")),
                ("-amount", _("Amount, largest first")),
                ("amount", _("Amount, smallest first")),
                ("stage", _("Stage")),
                ("name", _("Name")),
                ("-updated", _("Recently changed")),
            ],
            "can_create": actor.can("opportunities", "create"),
        },
    )


@login_required
def opportunity_board(request: HttpRequest) -> HttpResponse:
    """The kanban board of one pipeline: open stages, then won and lost."""
    actor = request.actor
    actor.require("opportunities", "view")
    filters = selectors.OpportunityFilters.from_query(request.GET)
    pipeline = selectors.pipeline_get(actor=actor, pk=filters.pipeline_id)
    return render(
        request,
        "sales/board.html",
        {
            "pipeline": pipeline,
            "pipelines": selectors.pipelines_for(actor=actor),
            "columns": selectors.board(actor=actor, pipeline=pipeline, filters=filters),
            "filters": filters,
            "can_move": actor.can("opportunities", "change"),
            "cards_shown": selectors.BOARD_CARDS,
        },
    )


# --- detail, create, edit, move --------------------------------------------------------


@login_required
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    opportunity = selectors.opportunity_get(actor=actor, pk=pk)
    can_change = Opportunity.objects.visible_to(actor, "change").filter(pk=pk).exists()
    return render(
        request,
        "sales/detail.html",
        {
            "o": opportunity,
            "history": selectors.stage_history(opportunity),
            "in_stage": selectors.time_in_stage(opportunity),
            "contacts": opportunity.decision_contacts.all(),
            "stages": opportunity.pipeline.stages.all() if can_change else [],
            "can_change": can_change,
            "lost": Stage.Outcome.LOST,
            # Just created on a customer other units work with: the conflicts notice.
            "engagements": engagements(
                actor=actor, customer=opportunity.customer, unit=opportunity.bu
            )
            if request.GET.get("engaged") and opportunity.status == Opportunity.Status.OPEN
            else [],
        },
    )


@login_required
def opportunity_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("opportunities", "create")
    customer_id = request.POST.get("customer_id") or request.GET.get("customer") or ""
    customer = customer_get(actor=actor, pk=int(customer_id)) if customer_id.isdecimal() else None
    units = list(units_for(actor=actor, module="opportunities", action="create"))
    form = OpportunityForm(
        request.POST or None,
        initial={"customer_id": customer.pk if customer else None, "owner_id": actor.user_id}
        | ({"bu_id": actor.bu.pk} if actor.bu else {}),
        units=units,
        people=_people(actor, "create"),
        contacts=_contacts(actor, customer.pk) if customer else [],
    )
    if request.method == "POST" and form.is_valid():
        try:
            opportunity = services.opportunity_create(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Opportunity created."))
            url = reverse("sales:detail", args=[opportunity.pk])
            # Other units engaged with the customer's group: the new page tells the owner.
            engaged = engagements(actor=actor, customer=opportunity.customer, unit=opportunity.bu)
            return redirect(f"{url}?engaged=1" if engaged else url)
    chosen = request.POST.get("bu_id", "")
    unit = next((u for u in units if str(u.pk) == chosen), None) if chosen else actor.bu
    return render(
        request,
        "sales/form.html",
        {
            "form": form,
            "title": _("New opportunity"),
            "back": reverse("sales:list"),
            "customer": customer,
            "unit": unit,
            "engagements": engagements(actor=actor, customer=customer, unit=unit)
            if customer and unit
            else [],
        },
    )


@login_required
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    opportunity = selectors.opportunity_get(actor=actor, pk=pk, action="change")
    form = OpportunityForm(
        request.POST or None,
        initial=OpportunityForm.initial_from(opportunity),
        units=[],
        people=_people(actor, "change", opportunity.bu),
        contacts=_contacts(actor, opportunity.customer_id),
        editing=True,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.opportunity_update(actor=actor, pk=pk, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Opportunity saved."))
            return redirect("sales:detail", pk)
    return render(
        request,
        "sales/form.html",
        {
            "form": form,
            "title": _("Edit %(name)s") % {"name": opportunity.name},
            "back": reverse("sales:detail", args=[pk]),
            "customer": opportunity.customer,
        },
    )


@login_required
@require_POST
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    """From the detail page (a redirect) or a board card dropped in a column (htmx: the
    card, or the refusal as text with its status so the board puts the card back)."""
    form = MoveForm(request.POST)
    if not form.is_valid():
        raise ValidationError(
            {name: errors for name, errors in form.errors.items()},
            message=_("Choose a stage and send the version you read."),
        )
    try:
        opportunity = services.opportunity_move(actor=request.actor, pk=pk, **form.cleaned_data)
    except (ValidationError, Conflict) as exc:
        if not request.htmx:
            raise
        return HttpResponse(str(exc.message), status=exc.status, content_type="text/plain")
    if request.htmx:
        return render(request, "sales/_card.html", {"o": opportunity, "can_move": True})
    messages.success(request, _("Moved to %(stage)s.") % {"stage": opportunity.stage.name})
    return redirect("sales:detail", pk)
