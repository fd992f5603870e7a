"""Lead pages (list, capture, import, detail, qualification, conversion), the assignment
rules' admin pages, and the referral pages (inbox, create, detail with the decision)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, ValidationError
from groupcrm.core.permissions import DataScope
from groupcrm.core.ui import apply_errors, form_page, paginate, submit
from groupcrm.customers.models import Customer
from groupcrm.customers.reference import industry_label
from groupcrm.org.models import BusinessUnit, User
from groupcrm.org.selectors import units_for
from groupcrm.sales.conflicts.selectors import engagements
from groupcrm.sales.leads import assignment, referrals, selectors, services
from groupcrm.sales.leads.export import lead_export
from groupcrm.sales.leads.forms import (
    AcceptForm,
    ConvertForm,
    DeclineForm,
    ImportForm,
    LeadForm,
    ReferralForm,
    RuleForm,
    StatusForm,
    TerritoryForm,
)
from groupcrm.sales.leads.models import Lead, Referral
from groupcrm.sales.models import Opportunity
from groupcrm.sales.selectors import query_int


def _members(units: list[BusinessUnit]) -> list[User]:
    """Active people of the units or of units below them."""
    if not units:
        return []
    condition = Q(pk__in=[])
    for unit in units:
        condition |= Q(memberships__bu__path__startswith=unit.path)
    return list(
        User.objects.filter(condition, is_active=True, memberships__is_active=True)
        .distinct()
        .order_by("username")
    )


def _owners(actor: Actor, action: str, unit: BusinessUnit | None = None) -> list[User]:
    if actor.widest_scope("leads", action) == DataScope.OWN and actor.user:
        return [actor.user]
    return _members([unit] if unit else list(units_for(actor=actor, module="leads", action=action)))


# --- leads ----------------------------------------------------------------------------


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("leads", "view")
    filters = selectors.LeadFilters.from_query(request.GET)
    return render(
        request,
        "leads/list.html",
        {
            "page": paginate(request, selectors.lead_list(actor=actor, filters=filters)),
            "filters": filters,
            "statuses": Lead.Status.choices,
            "sources": Lead.Source.choices,
            "units": units_for(actor=actor, module="leads", action="view"),
            "people": _owners(actor, "view"),
            "can_create": actor.can("leads", "create"),
            "can_admin": actor.can("leads", "admin"),
            "can_export": actor.can("leads", "export"),
            "has_queue": bool(services.queue_units(actor)),
        },
    )


@login_required
def lead_list_export(request: HttpRequest) -> HttpResponse:
    return lead_export(actor=request.actor, fmt=request.GET.get("format", "csv"), query=request.GET)


@login_required
def lead_queue(request: HttpRequest) -> HttpResponse:
    """待分配线索: the unassigned open leads of the viewer's units, to claim."""
    actor = request.actor
    bu_id = request.GET.get("bu_id", "")
    q = request.GET.get("q", "").strip()
    items = selectors.lead_queue(actor=actor, bu_id=query_int(bu_id), q=q)
    page = paginate(request, items)
    return render(
        request,
        "leads/queue.html",
        {
            "page": page,
            "rows": [(lead, selectors.masked(lead)) for lead in page.object_list],
            "units": BusinessUnit.objects.filter(pk__in=services.queue_units(actor)),
            "bu_id": bu_id,
            "q": q,
        },
    )


@login_required
@require_POST
def lead_claim(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        lead = services.lead_claim(actor=request.actor, pk=pk)
    except Conflict as exc:
        messages.error(request, str(exc.message))
        return redirect("leads:queue")
    messages.success(request, _("The lead is yours now."))
    return redirect("leads:detail", lead.pk)


@login_required
def lead_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("leads", "create")
    form = LeadForm(
        request.POST or None,
        initial={"bu_id": actor.bu.pk} if actor.bu else {},
        units=list(units_for(actor=actor, module="leads", action="create")),
        people=_owners(actor, "create"),
        own_only=actor.widest_scope("leads", "create") == DataScope.OWN,
    )
    response = submit(
        request,
        form,
        lambda data: services.lead_create(actor=actor, source=Lead.Source.FORM, **data),
        success_url=lambda lead: reverse("leads:detail", args=[lead.pk]),
        message=_("Lead created."),
    )
    return response or form_page(request, form, title=_("New lead"), back=reverse("leads:list"))


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    lead = selectors.lead_get(actor=actor, pk=pk)
    can_change = Lead.objects.visible_to(actor, "change").filter(pk=pk).exists()
    return render(
        request,
        "leads/detail.html",
        {
            "lead": lead,
            "masked": selectors.masked(lead),
            "industry": industry_label(lead.industry, get_language() or ""),
            "can_change": can_change and lead.status != Lead.Status.CONVERTED,
            "can_delete": Lead.objects.visible_to(actor, "delete").filter(pk=pk).exists()
            and lead.status != Lead.Status.CONVERTED,
            "can_refer": lead.is_open and can_change and actor.can("referrals", "create"),
            "moves": [
                (status, label)
                for status, label in Lead.Status.choices
                if status in services.TRANSITIONS[lead.status]
            ],
            "referrals": selectors.referral_list(actor=actor).filter(lead=lead),
        },
    )


@login_required
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    lead = selectors.lead_get(actor=actor, pk=pk, action="change")
    form = LeadForm(
        request.POST or None,
        initial=LeadForm.initial_from(lead),
        units=[],
        people=_owners(actor, "change", lead.bu),
        own_only=actor.widest_scope("leads", "change") == DataScope.OWN,
        masked=selectors.masked(lead),
    )

    def save(data: dict[str, Any]) -> Lead:
        for name in Lead.PII_FIELDS:  # empty: keep the stored value
            if not data.get(name):
                data.pop(name, None)
        return services.lead_update(actor=actor, pk=pk, **data)

    response = submit(
        request,
        form,
        save,
        success_url=reverse("leads:detail", args=[pk]),
        message=_("Lead saved."),
    )
    return response or form_page(
        request,
        form,
        title=_("Edit %(name)s") % {"name": lead.company_name},
        back=reverse("leads:detail", args=[pk]),
    )


@login_required
@require_POST
def lead_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.lead_delete(actor=request.actor, pk=pk)
    messages.success(request, _("Lead deleted."))
    return redirect("leads:list")


@login_required
@require_POST
def lead_status(request: HttpRequest, pk: int) -> HttpResponse:
    form = StatusForm(request.POST)
    if not form.is_valid():
        raise ValidationError({"status": _("Choose one of the offered values.")})
    lead = services.lead_set_status(actor=request.actor, pk=pk, **form.cleaned_data)
    messages.success(
        request, _("The lead is now %(status)s.") % {"status": lead.get_status_display()}
    )
    return redirect("leads:detail", pk)


@login_required
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    """Pick the customer (the one with the lead's USCC, a similar one, or a new one),
    see who else works with it, then convert."""
    actor = request.actor
    lead = selectors.lead_get(actor=actor, pk=pk, action="change")
    if not lead.is_open:
        messages.error(request, _("Only open leads can be converted."))
        return redirect("leads:detail", pk)
    candidates = selectors.conversion_candidates(lead)
    choices: list[tuple[Any, str]] = []
    if candidates.exact:
        choices.append((candidates.exact.pk, candidates.exact.legal_name))
    else:
        choices += [(c.pk, c.legal_name) for c, _score in candidates.similar]
        choices.append(("", _("Create a new customer: %(name)s") % {"name": lead.company_name}))
    chosen_id = request.POST.get("customer_id") or request.GET.get("customer_id") or ""
    initial_customer = candidates.exact.pk if candidates.exact else None
    form = ConvertForm(
        request.POST or None,
        initial={
            "customer_id": int(chosen_id) if chosen_id.isdecimal() else initial_customer,
            "opportunity_name": lead.company_name,
        },
        choices=choices,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.lead_convert(actor=actor, pk=pk, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Lead converted."))
            lead.refresh_from_db()
            if lead.converted_opportunity_id:
                return redirect("sales:detail", lead.converted_opportunity_id)
            return redirect("customers:detail", lead.converted_customer_id)
    # The notice is about a customer the form offers, not any id sent in the request.
    offered = {value for value, _label in choices if value}
    customer_pk = str(form["customer_id"].value() or initial_customer or "")
    customer = (
        Customer.objects.filter(pk=int(customer_pk)).first()
        if customer_pk.isdecimal() and int(customer_pk) in offered
        else None
    )
    return render(
        request,
        "leads/convert.html",
        {
            "lead": lead,
            "form": form,
            "candidates": candidates,
            "customer": customer,
            "unit": lead.bu,
            # Who else works with the chosen customer (the ownership-conflict notice).
            "engagements": engagements(actor=actor, customer=customer, unit=lead.bu)
            if customer
            else [],
            "referral": referrals.accepted_referral_of(lead),
        },
    )


@login_required
def lead_import(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("leads", "create")
    form = ImportForm(
        request.POST or None,
        request.FILES or None,
        initial={"bu_id": actor.bu.pk} if actor.bu else {},
        units=list(units_for(actor=actor, module="leads", action="create")),
    )
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        suffix = Path(upload.name).suffix.lower()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"leads{suffix}"
            with path.open("wb") as f:
                for chunk in upload.chunks():
                    f.write(chunk)
            try:
                report = services.lead_import(
                    actor=actor, path=path, bu_id=form.cleaned_data["bu_id"]
                )
            except ValidationError as exc:
                apply_errors(form, exc)
    return render(
        request,
        "leads/import.html",
        {"form": form, "report": report, "columns": services.IMPORT_COLUMNS},
    )


# --- territories and assignment rules ----------------------------------------------------


@login_required
def assignment_rules(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("leads", "admin")
    units = assignment.admin_units(actor)
    return render(
        request,
        "leads/assignment.html",
        {
            "territories": selectors.territories(units=units),
            "rules": selectors.rules(units=units),
        },
    )


@login_required
def territory_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("leads", "admin")
    form = TerritoryForm(
        request.POST or None,
        initial={"bu_id": actor.bu.pk} if actor.bu else {},
        units=assignment.admin_units(actor),
    )
    response = submit(
        request,
        form,
        lambda data: assignment.territory_create(actor=actor, **data),
        success_url=reverse("leads:assignment"),
        message=_("Territory saved."),
    )
    return response or form_page(
        request, form, title=_("New territory"), back=reverse("leads:assignment")
    )


@login_required
def territory_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    territory = assignment.territory_get(actor=actor, pk=pk)
    form = TerritoryForm(
        request.POST or None,
        initial=TerritoryForm.initial_from(territory),
        units=[],
        editing=True,
    )
    response = submit(
        request,
        form,
        lambda data: assignment.territory_update(actor=actor, pk=pk, **data),
        success_url=reverse("leads:assignment"),
        message=_("Territory saved."),
    )
    return response or form_page(
        request,
        form,
        title=_("Edit %(name)s") % {"name": territory.name},
        back=reverse("leads:assignment"),
    )


@login_required
@require_POST
def territory_delete(request: HttpRequest, pk: int) -> HttpResponse:
    assignment.territory_delete(actor=request.actor, pk=pk)
    messages.success(request, _("Territory deleted."))
    return redirect("leads:assignment")


def _rule_form(request: HttpRequest, actor: Actor, **kwargs: Any) -> RuleForm:
    units = assignment.admin_units(actor)
    return RuleForm(
        request.POST or None,
        units=units,
        territories=list(selectors.territories(units=units)),
        people=_members(units),
        **kwargs,
    )


@login_required
def rule_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("leads", "admin")
    form = _rule_form(
        request, actor, initial={"bu_id": actor.bu.pk if actor.bu else None, "is_active": True}
    )
    response = submit(
        request,
        form,
        lambda data: assignment.rule_create(actor=actor, **data),
        success_url=reverse("leads:assignment"),
        message=_("Rule saved."),
    )
    return response or form_page(
        request, form, title=_("New assignment rule"), back=reverse("leads:assignment")
    )


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    rule = assignment.rule_get(actor=actor, pk=pk)
    form = _rule_form(request, actor, initial=RuleForm.initial_from(rule), editing=True)
    response = submit(
        request,
        form,
        lambda data: assignment.rule_update(
            actor=actor, pk=pk, **{k: v for k, v in data.items() if v is not None or k != "order"}
        ),
        success_url=reverse("leads:assignment"),
        message=_("Rule saved."),
    )
    return response or form_page(
        request,
        form,
        title=_("Edit %(name)s") % {"name": rule.name},
        back=reverse("leads:assignment"),
    )


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    assignment.rule_delete(actor=request.actor, pk=pk)
    messages.success(request, _("Rule deleted."))
    return redirect("leads:assignment")


# --- referrals ----------------------------------------------------------------------------


@login_required
def referral_inbox(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("referrals", "view")
    tab = request.GET.get("tab", "incoming")
    tab = tab if tab in ("incoming", "outgoing") else "incoming"
    filters = selectors.ReferralFilters(direction=tab, status=request.GET.get("status", ""))
    return render(
        request,
        "leads/referrals.html",
        {
            "tab": tab,
            "filters": filters,
            "statuses": Referral.Status.choices,
            "page": paginate(request, selectors.referral_list(actor=actor, filters=filters)),
            "pending_incoming": selectors.referral_list(
                actor=actor,
                filters=selectors.ReferralFilters(direction="incoming", status="pending"),
            ).count(),
            "can_create": actor.can("referrals", "create"),
        },
    )


def _referable_items(actor: Actor, request: HttpRequest) -> list[tuple[str, str]]:
    """The open leads and opportunities the actor may refer, narrowed by the GET
    parameters other pages link with (``lead``, ``opportunity``, ``customer``)."""
    source = request.POST if request.method == "POST" else request.GET
    leads = Lead.objects.visible_to(actor, "change").filter(status__in=Lead.OPEN_STATUSES)
    opportunities = Opportunity.objects.visible_to(actor, "change").filter(
        status=Opportunity.Status.OPEN
    )
    lead_id, opportunity_id = source.get("lead", ""), source.get("opportunity", "")
    customer_id = source.get("customer", "")
    if lead_id.isdecimal():
        leads, opportunities = leads.filter(pk=lead_id), opportunities.none()
    elif opportunity_id.isdecimal():
        leads, opportunities = leads.none(), opportunities.filter(pk=opportunity_id)
    elif customer_id.isdecimal():
        leads = leads.filter(converted_customer_id=customer_id)
        opportunities = opportunities.filter(customer_id=customer_id)
    items = [
        (
            f"opportunity:{o.pk}",
            _("Opportunity: %(name)s · %(customer)s")
            % {"name": o.name, "customer": o.customer.legal_name},
        )
        for o in opportunities.select_related("customer").order_by("-created_at")[:200]
    ]
    items += [
        (f"lead:{lead.pk}", _("Lead: %(name)s") % {"name": lead.company_name})
        for lead in leads.order_by("-created_at")[:200]
    ]
    return items


@login_required
def referral_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("referrals", "create")
    items = _referable_items(actor, request)
    to_bu = request.GET.get("to_bu", "")
    units = list(BusinessUnit.objects.filter(is_active=True).order_by("path"))
    target = next((u for u in units if str(u.pk) == to_bu), None)
    form = ReferralForm(
        request.POST or None,
        initial={
            "item": items[0][0] if len(items) == 1 else None,
            "to_bu_id": target.pk if target else None,
            "referrer_percent": "20",
        },
        items=items,
        units=units,
        people=_members([target]) if target else [],
    )
    if request.method == "POST" and "to_user_id" in form.fields:
        chosen = next((u for u in units if str(u.pk) == request.POST.get("to_bu_id")), None)
        form.fields["to_user_id"].choices = [
            ("", "—"),
            *[(p.pk, p.display_name or p.username) for p in _members([chosen] if chosen else [])],
        ]
    response = submit(
        request,
        form,
        lambda _data: referrals.referral_create(actor=actor, **form.service_data()),
        success_url=lambda r: reverse("leads:referral_detail", args=[r.pk]),
        message=_("Referral sent."),
    )
    return response or render(
        request,
        "leads/referral_form.html",
        {"form": form, "items": items, "back": reverse("leads:referrals")},
    )


@login_required
def referral_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    referral = selectors.referral_get(actor=actor, pk=pk)
    can_decide = selectors.can_decide(actor, referral)
    owners = _members([referral.to_bu]) if can_decide else []
    if can_decide and actor.widest_scope("referrals", "change") == DataScope.OWN:
        owners = [u for u in owners if u.pk == actor.user_id]
    opportunity = selectors.referred_opportunity(referral)
    return render(
        request,
        "leads/referral_detail.html",
        {
            "r": referral,
            "opportunity": opportunity,
            "can_decide": can_decide,
            "can_withdraw": selectors.can_withdraw(actor, referral),
            "accept_form": AcceptForm(
                initial={
                    "owner_id": referral.to_user_id or actor.user_id,
                    "version": referral.opportunity.version if referral.opportunity else None,
                },
                people=owners,
            ),
            "decline_form": DeclineForm(),
            "credits": selectors.credits(referral),
        },
    )


@login_required
@require_POST
def referral_accept(request: HttpRequest, pk: int) -> HttpResponse:
    owner = request.POST.get("owner_id", "")
    version = request.POST.get("version", "")
    referrals.referral_accept(
        actor=request.actor,
        pk=pk,
        owner_id=int(owner) if owner.isdecimal() else None,
        version=int(version) if version.isdecimal() else None,
    )
    messages.success(request, _("Referral accepted."))
    return redirect("leads:referral_detail", pk)


@login_required
@require_POST
def referral_decline(request: HttpRequest, pk: int) -> HttpResponse:
    referrals.referral_decline(actor=request.actor, pk=pk, reason=request.POST.get("reason", ""))
    messages.success(request, _("Referral declined."))
    return redirect("leads:referral_detail", pk)


@login_required
@require_POST
def referral_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    referrals.referral_withdraw(actor=request.actor, pk=pk)
    messages.success(request, _("Referral withdrawn."))
    return redirect("leads:referral_detail", pk)
