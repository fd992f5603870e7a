"""Customer pages: list, 360° view, forms, hierarchy, pool, contacts, follow-ups."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from groupcrm.audit.selectors import object_history
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, ValidationError
from groupcrm.core.selectors import saved_view_list
from groupcrm.core.services import saved_view_delete, saved_view_save
from groupcrm.core.ui import apply_errors, form_page, paginate, submit
from groupcrm.customers import export, merge, selectors, services
from groupcrm.customers.forms import (
    CollaboratorForm,
    ContactForm,
    CustomerForm,
    FollowUpForm,
    MoveForm,
    OwnerForm,
    PoolRuleForm,
    RelationshipForm,
    ReleaseForm,
)
from groupcrm.customers.models import (
    Contact,
    Customer,
    CustomerRelationship,
    FollowUp,
    MergeRecord,
)
from groupcrm.customers.reference import industry_choices, industry_label
from groupcrm.org.models import BusinessUnit, User
from groupcrm.org.selectors import units_for

LIST_PAGE = "customers"


def _lang(request: HttpRequest) -> str:
    return getattr(request, "LANGUAGE_CODE", "zh-hans")


# --- list, saved views, bulk, export -------------------------------------------------------


@login_required
def customer_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    filters = selectors.CustomerFilters.from_query(request.GET)
    page = paginate(request, selectors.customer_list(actor=actor, filters=filters))
    rows = selectors.relationships_by_customer(
        actor=actor, customer_ids=[c.pk for c in page.object_list]
    )
    context: dict[str, Any] = {
        "page": page,
        "rows": [(c, rows.get(c.pk, [])) for c in page.object_list],
        "filters": filters,
        "query": request.GET.urlencode(),
        "lang": _lang(request),
    }
    if request.htmx and request.htmx.target == "customer-rows":
        return render(request, "customers/_rows.html", context)
    context.update(
        grades=Customer.Grade.choices,
        stages=CustomerRelationship.Stage.choices,
        industries=industry_choices(_lang(request)),
        units=units_for(actor=actor, module="customers", action="view"),
        saved_views=saved_view_list(actor=actor, page=LIST_PAGE),
        can_create=actor.can("customers", "create"),
        can_export=actor.can("customers", "export"),
        can_export_contacts=actor.can("contacts", "export"),
        can_bulk=actor.can("customers", "change"),
        people=_people(actor),
    )
    return render(request, "customers/list.html", context)


def _people(actor: Any) -> list[User]:
    """Account managers the actor may hand customers to: members of units they manage."""
    units = units_for(actor=actor, module="customers", action="change")
    return list(
        User.objects.filter(is_active=True, memberships__is_active=True, memberships__bu__in=units)
        .distinct()
        .order_by("username")
    )


@login_required
@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("query", "")
    saved_view_save(
        actor=request.actor, page=LIST_PAGE, name=request.POST.get("name", ""), query=query
    )
    messages.success(request, _("View saved."))
    return redirect(f"{reverse('customers:list')}?{query}")


@login_required
@require_POST
def saved_view_remove(request: HttpRequest, pk: int) -> HttpResponse:
    saved_view_delete(actor=request.actor, pk=pk)
    messages.success(request, _("View deleted."))
    return redirect("customers:list")


@login_required
@require_POST
def customer_bulk(request: HttpRequest) -> HttpResponse:
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    if not ids:
        messages.error(request, _("Select at least one customer."))
        return redirect(request.META.get("HTTP_REFERER") or reverse("customers:list"))
    operation = request.POST.get("operation", "")
    value = request.POST.get("owner_id") if operation == "assign" else request.POST.get("tag")
    result = services.bulk(
        actor=request.actor,
        ids=ids,
        operation=operation,
        value=value,
        reason=request.POST.get("reason", ""),
    )
    if result["done"]:
        messages.success(request, _("%(n)d customers updated.") % {"n": result["done"]})
    for failure in result["failed"][:10]:
        messages.error(request, f"#{failure['id']}: {failure['error']}")
    return redirect(request.META.get("HTTP_REFERER") or reverse("customers:list"))


@login_required
def customer_export(request: HttpRequest) -> HttpResponse:
    return export.list_export(
        actor=request.actor,
        entity="customers",
        fmt=request.GET.get("format", "csv"),
        filters=export.picked_filters("customers", request.GET),
    )


@login_required
def customer_pick(request: HttpRequest) -> HttpResponse:
    """The customer picker's results (htmx): a few best matches for a typed name."""
    request.actor.require("customers", "view")
    q = request.GET.get("q", "").strip()
    ids = selectors.search.search_ids(q, limit=8) if q else []
    found = {c.pk: c for c in Customer.objects.filter(pk__in=ids)}
    return render(
        request,
        "customers/_pick.html",
        {"items": [found[i] for i in ids if i in found], "target": request.GET.get("target", "")},
    )


# --- create, edit, move ------------------------------------------------------------------


@login_required
def customer_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("customers", "create")
    initial = {"parent_id": request.GET.get("parent")} if request.GET.get("parent") else {}
    form = CustomerForm(request.POST or None, initial=initial)
    existing = None
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_create(actor=actor, **form.cleaned_for_service())
        except ValidationError as exc:
            apply_errors(form, exc)
            if exc.code == "similar_customers":
                form.reveal_override()
        except Conflict as exc:
            if exc.code != "duplicate_customer":
                raise
            existing = exc.extra["existing"]
            form.add_error("uscc", exc.message)
        else:
            messages.success(request, _("Customer created."))
            return redirect("customers:detail", customer.pk)
    return render(
        request,
        "customers/form.html",
        {
            "form": form,
            "title": _("New customer"),
            "back": reverse("customers:list"),
            "existing": existing,
        },
    )


@login_required
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    customer = selectors.customer_get(actor=actor, pk=pk)
    services.ensure_reach(actor, customer, "customers", "change")
    fields = [f for f in CustomerForm(editing=True).fields if f != "similar_override_reason"]
    initial = {f: getattr(customer, f, "") for f in fields if f not in ("tags", "change_reason")}
    initial["uscc"] = customer.uscc or ""
    initial["tags"] = ", ".join(customer.tags.values_list("name", flat=True))
    form = CustomerForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_for_service()
        data.pop("similar_override_reason", None)
        try:
            _customer, change = services.customer_update(
                actor=actor,
                pk=pk,
                similar_override_reason=form.cleaned_data.get("similar_override_reason", ""),
                **data,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
            if exc.code == "similar_customers":
                form.reveal_override()
        else:
            messages.success(request, _("Customer saved."))
            if change:
                messages.info(
                    request, _("The change of legal name, credit code or grade awaits approval.")
                )
            return redirect("customers:detail", pk)
    return render(
        request,
        "customers/form.html",
        {"form": form, "title": _("Edit customer"), "back": reverse("customers:detail", args=[pk])},
    )


@login_required
def customer_move(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    customer = selectors.customer_get(actor=actor, pk=pk)
    form = MoveForm(request.POST or None, initial={"parent_id": customer.parent_id})
    done = submit(
        request,
        form,
        lambda d: services.customer_move(actor=actor, pk=pk, parent_id=d["parent_id"]),
        success_url=reverse("customers:hierarchy", args=[pk]),
        message=_("Company moved."),
    )
    return done or form_page(
        request,
        form,
        title=_("Move %(name)s in its group") % {"name": customer.display_name},
        back=reverse("customers:detail", args=[pk]),
        template="customers/form.html",
        current_parent=customer.parent,
    )


# --- 360 and hierarchy ---------------------------------------------------------------------


def _timeline_query(request: HttpRequest) -> selectors.TimelineQuery:
    def number(name: str) -> int | None:
        value = request.GET.get(name, "")
        return int(value) if value.isdigit() else None

    return selectors.TimelineQuery(
        bu_id=number("bu"), kind=request.GET.get("kind", ""), person_id=number("person")
    )


@login_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    query = _timeline_query(request)
    data = selectors.view360(actor=actor, pk=pk, timeline_query=query)
    if request.htmx and request.htmx.target == "timeline":
        return render(request, "customers/_timeline.html", data)
    customer = data["customer"]
    data.update(
        industry=industry_label(customer.industry, _lang(request)) if customer.industry else "",
        followup_form=FollowUpForm(customer=customer),
        timeline_units=units_for(actor=actor, module="followups", action="view"),
        timeline_people=selectors.timeline_people(actor=actor, customer=customer),
        query=query,
        can_merge=services.is_steward(actor, customer),
        can_export_contacts=services.has_reach(actor, customer, "contacts", "export"),
        merges=selectors.merge_list(actor=actor, customer_id=pk)[:5],
    )
    return render(request, "customers/detail.html", data)


@login_required
@require_POST
def customer_merge(request: HttpRequest, pk: int) -> HttpResponse:
    loser = request.POST.get("loser_id", "")
    if not loser.isdigit():
        messages.error(request, _("Choose the duplicate to merge into this record."))
        return redirect(reverse("customers:detail", args=[pk]) + "#merges")
    merge.customer_merge(
        actor=request.actor,
        survivor_id=pk,
        loser_ids=[int(loser)],
        reason=request.POST.get("reason", ""),
    )
    messages.success(request, _("Merged. You can undo it from this page."))
    return redirect("customers:detail", pk)


@login_required
@require_POST
def customer_unmerge(request: HttpRequest, pk: int) -> HttpResponse:
    request.actor.require("customers", "admin")
    record = get_object_or_404(MergeRecord, pk=pk)
    kept = merge.customer_unmerge(actor=request.actor, merge_id=pk)
    messages.success(request, _("The merge was undone."))
    if kept:
        messages.info(
            request,
            _("Changed since the merge and kept as they are: %(fields)s")
            % {"fields": ", ".join(kept)},
        )
    return redirect("customers:detail", record.survivor_id)


@login_required
def customer_hierarchy(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    tree = selectors.hierarchy(actor=actor, pk=pk)
    customer = selectors.customer_get(actor=actor, pk=pk)
    return render(
        request,
        "customers/hierarchy.html",
        {
            **tree,
            "customer": customer,
            "rollups": selectors.rollups(actor=actor, customer=customer),
            "can_move": services.has_reach(actor, customer, "customers", "change"),
        },
    )


@login_required
def customer_history(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get(actor=request.actor, pk=pk)
    return render(
        request,
        "customers/history.html",
        {"customer": customer, "history": paginate(request, object_history(obj=customer))},
    )


@login_required
@require_POST
def customer_follow(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    follow = request.POST.get("follow") == "1"
    for_unit = request.POST.get("unit") == "1" and actor.bu is not None
    services.follow_set(
        actor=actor,
        customer_id=pk,
        follow=follow,
        digest=request.POST.get("digest") == "1",
        bu_id=actor.bu.pk if for_unit else None,
    )
    if for_unit:
        message = (
            _("%(unit)s follows this customer.") if follow else _("%(unit)s no longer follows it.")
        )
        messages.success(request, message % {"unit": actor.bu.name})
    else:
        messages.success(
            request, _("You follow this customer.") if follow else _("You no longer follow it.")
        )
    return redirect("customers:detail", pk)


# --- change requests -----------------------------------------------------------------------


@login_required
def change_requests(request: HttpRequest) -> HttpResponse:
    items = selectors.change_requests_pending(actor=request.actor)
    return render(request, "customers/changes.html", {"page": paginate(request, items)})


@login_required
@require_POST
def change_request_decide(request: HttpRequest, pk: int) -> HttpResponse:
    note = request.POST.get("note", "")
    if request.POST.get("decision") == "approve":
        result = services.change_request_approve(actor=request.actor, pk=pk, note=note)
        messages.success(request, _("Change approved and applied."))
    else:
        result = services.change_request_reject(actor=request.actor, pk=pk, note=note)
        messages.success(request, _("Change request closed."))
    return redirect("customers:detail", result.customer_id)


# --- relationships and the pool ------------------------------------------------------------


@login_required
@require_POST
def relationship_start(request: HttpRequest, pk: int) -> HttpResponse:
    claim = request.POST.get("owner") == "me"
    services.relationship_start(
        actor=request.actor, customer_id=pk, owner_id=request.actor.user_id if claim else None
    )
    messages.success(request, _("Your unit now works with this customer."))
    return redirect("customers:detail", pk)


@login_required
def relationship_list(request: HttpRequest) -> HttpResponse:
    """My customers (and, for leads and managers, those of their units), with the day each
    would return to the pool."""
    actor = request.actor
    actor.require("customers", "view")
    items = selectors.relationship_list(
        actor=actor, mine=request.GET.get("mine") == "1", stage=request.GET.get("stage", "")
    )
    page = paginate(request, items)
    wanted = {
        "engaged": "1",
        "stage": request.GET.get("stage", ""),
        "mine": request.GET.get("mine"),
    }
    return render(
        request,
        "customers/relationships.html",
        {
            "page": page,
            "rows": selectors.reclaim_dates(page.object_list),
            "stages": CustomerRelationship.Stage.choices,
            "today": timezone.localdate(),
            **_export_menu(actor, wanted),
            # The relationships themselves (stage, last follow-up, return to the pool).
            "relationship_query": urlencode(
                {k: v for k, v in wanted.items() if v and k != "engaged"}
            ),
        },
    )


@login_required
def relationship_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    rel = selectors.relationship_get(actor=actor, pk=pk)
    rule = services.pool_rule(rel.bu_id)
    return render(
        request,
        "customers/relationship.html",
        {
            "rel": rel,
            "rule": rule,
            "reclaim": services.reclaim_plan(rel, rule),
            "collaborators": rel.collaborators.select_related("user"),
            "history": paginate(request, object_history(obj=rel)),
            "can_change": CustomerRelationship.objects.visible_to(actor, "change")
            .filter(pk=pk)
            .exists(),
            "collaborator_form": CollaboratorForm(people=_unit_people(rel.bu)),
        },
    )


def _unit_people(unit: BusinessUnit) -> list[User]:
    """Active members of the unit or of a unit below it (possible owners, collaborators)."""
    return list(
        User.objects.filter(
            is_active=True,
            memberships__is_active=True,
            memberships__bu__path__startswith=unit.path,
        )
        .distinct()
        .order_by("username")
    )


@login_required
def relationship_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    rel = selectors.relationship_get(actor=actor, pk=pk, action="change")
    form = RelationshipForm(
        request.POST or None,
        grades=services.pool_rule(rel.bu_id).grade_choices,
        initial={
            "stage": rel.stage,
            "grade": rel.grade,
            "notes": rel.notes,
            "protected_until": rel.protected_until,
        },
    )
    done = submit(
        request,
        form,
        lambda d: services.relationship_update(
            actor=actor, pk=pk, clear_protection=d["protected_until"] is None, **d
        ),
        success_url=reverse("customers:detail", args=[rel.customer_id]),
        message=_("Relationship saved."),
    )
    return done or form_page(
        request,
        form,
        title=f"{rel.customer.display_name} · {rel.bu.name}",
        back=reverse("customers:detail", args=[rel.customer_id]),
    )


@login_required
def relationship_assign(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    rel = services.relationship_for_assignment(actor, pk)
    form = OwnerForm(
        request.POST or None,
        people=_unit_people(rel.bu),
        initial={"owner_id": rel.owner_id},
    )
    done = submit(
        request,
        form,
        lambda d: services.relationship_assign(actor=actor, pk=pk, owner_id=d["owner_id"]),
        success_url=reverse("customers:detail", args=[rel.customer_id]),
        message=_("Account manager assigned."),
    )
    return done or render(
        request,
        "form.html",
        {
            "form": form,
            "title": _("Assign %(customer)s in %(unit)s")
            % {"customer": rel.customer.display_name, "unit": rel.bu.name},
            "back": reverse("customers:detail", args=[rel.customer_id]),
        },
    )


@login_required
@require_POST
def relationship_claim(request: HttpRequest, pk: int) -> HttpResponse:
    rel = services.relationship_claim(actor=request.actor, pk=pk)
    messages.success(request, _("The customer is yours now."))
    return redirect("customers:detail", rel.customer_id)


@login_required
def relationship_release(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    rel = selectors.relationship_get(actor=actor, pk=pk, action="change")
    form = ReleaseForm(request.POST or None)
    done = submit(
        request,
        form,
        lambda d: services.relationship_release(actor=actor, pk=pk, reason=d["reason"]),
        success_url=reverse("customers:detail", args=[rel.customer_id]),
        message=_("The customer went back to the public pool."),
    )
    return done or form_page(
        request,
        form,
        title=_("Return %(customer)s to the pool") % {"customer": rel.customer.display_name},
        back=reverse("customers:detail", args=[rel.customer_id]),
    )


@login_required
@require_POST
def collaborator_set(request: HttpRequest, pk: int) -> HttpResponse:
    access = request.POST.get("access") or None
    user_id = request.POST.get("user_id", "")
    if not user_id.isdigit():
        messages.error(request, _("Choose an active user."))
        return redirect("customers:relationship", pk)
    services.collaborator_set(
        actor=request.actor, relationship_id=pk, user_id=int(user_id), access=access
    )
    messages.success(request, _("Collaborators saved."))
    return redirect("customers:relationship", pk)


@login_required
def pool(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    items = selectors.pool_list(
        actor=actor,
        q=request.GET.get("q", "").strip(),
        bu_id=int(request.GET["bu"]) if request.GET.get("bu", "").isdigit() else None,
    )
    wanted = {"pool": "1", "q": request.GET.get("q", "").strip(), "bu_id": request.GET.get("bu")}
    return render(
        request,
        "customers/pool.html",
        {
            "page": paginate(request, items),
            "units": units_for(actor=actor, module="customers", action="view"),
            "can_claim": actor.can("customers", "change"),
            "can_admin": actor.can("customers", "admin"),
            **_export_menu(actor, wanted),
        },
    )


def _export_menu(actor: Actor, filters: dict[str, str | None]) -> dict[str, Any]:
    """The 导出 menu of a list shown from relationships (我的客户, 公海): the customer
    list's export with the filters that find the same customers."""
    return {
        "query": urlencode({k: v for k, v in filters.items() if v}),
        "can_export": actor.can("customers", "export"),
        "can_export_contacts": actor.can("contacts", "export"),
    }


@login_required
def pool_rule_edit(request: HttpRequest, bu_id: int) -> HttpResponse:
    actor = request.actor
    unit = services.administered_unit(actor, bu_id)
    rule = services.pool_rule(bu_id, unit=unit)
    form = PoolRuleForm(
        request.POST or None,
        instance=rule if rule.bu_id == bu_id else None,
        initial={
            "grades": ", ".join(rule.grade_choices),
            "max_owned": rule.max_owned,
            "daily_claim_limit": rule.daily_claim_limit,
            "reclaim_after_days": rule.reclaim_after_days,
            "exempt_won": rule.exempt_won,
            "exempt_open_opportunity": rule.exempt_open_opportunity,
            "reclaim_without_opportunity_days": rule.reclaim_without_opportunity_days,
            "protection_days": rule.protection_days,
        },
    )
    done = submit(
        request,
        form,
        lambda d: services.pool_rule_update(actor=actor, bu_id=bu_id, **d),
        success_url=reverse("customers:pool"),
        message=_("Pool rules saved."),
    )
    return done or form_page(
        request,
        form,
        title=_("Public pool rules of %(unit)s") % {"unit": unit.name},
        back=reverse("customers:pool"),
    )


# --- contacts -----------------------------------------------------------------------------


@login_required
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    customer = selectors.customer_get(actor=actor, pk=pk)
    form = ContactForm(request.POST or None)
    done = submit(
        request,
        form,
        lambda d: services.contact_create(actor=actor, customer_id=pk, **d),
        success_url=reverse("customers:detail", args=[pk]) + "#contacts",
        message=_("Contact added."),
    )
    return done or form_page(
        request,
        form,
        title=_("New contact at %(customer)s") % {"customer": customer.display_name},
        back=reverse("customers:detail", args=[pk]),
    )


@login_required
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    contact = selectors.contact_get(actor=actor, pk=pk)
    services.ensure_reach(actor, contact.customer, "contacts", "change")
    fields = list(ContactForm.base_fields)
    initial = {f: getattr(contact, f) for f in fields}
    # Personal fields are not sent to the browser: blank means "keep as is".
    for name in Contact.PII_FIELDS:
        initial[name] = ""
    form = ContactForm(request.POST or None, initial=initial)
    for name in Contact.PII_FIELDS:
        form.fields[name].help_text = _("Now %(masked)s; leave empty to keep it.") % {
            "masked": selectors.masked(contact)[name] or "—"
        }

    def save(data: dict[str, Any]) -> Contact:
        data = {k: v for k, v in data.items() if k not in Contact.PII_FIELDS or v}
        return services.contact_update(actor=actor, pk=pk, **data)

    done = submit(
        request,
        form,
        save,
        success_url=reverse("customers:detail", args=[contact.customer_id]) + "#contacts",
        message=_("Contact saved."),
    )
    return done or form_page(
        request,
        form,
        title=_("Edit contact %(name)s") % {"name": contact.name},
        back=reverse("customers:detail", args=[contact.customer_id]),
    )


@login_required
@require_POST
def contact_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: swap a masked value for the clear one (logged as an access record)."""
    field = request.POST.get("field", "")
    value = services.contact_reveal(actor=request.actor, pk=pk, field=field)
    return render(request, "customers/_revealed.html", {"value": value})


@login_required
def contact_move(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    contact = selectors.contact_get(actor=actor, pk=pk)
    form = MoveForm(request.POST or None)
    form.fields["parent_id"].label = _("new company")
    form.fields["parent_id"].required = True
    form.fields["parent_id"].help_text = ""
    done = submit(
        request,
        form,
        lambda d: services.contact_move(actor=actor, pk=pk, customer_id=d["parent_id"]),
        success_url=reverse("customers:detail", args=[contact.customer_id]),
        message=_("Contact moved."),
    )
    return done or form_page(
        request,
        form,
        title=_("Move %(name)s to another company") % {"name": contact.name},
        back=reverse("customers:detail", args=[contact.customer_id]),
        template="customers/form.html",
    )


@login_required
@require_POST
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get(actor=request.actor, pk=pk)
    services.contact_delete(actor=request.actor, pk=pk)
    messages.success(request, _("Contact deleted."))
    return redirect("customers:detail", contact.customer_id)


# --- follow-ups -------------------------------------------------------------------------------


@login_required
def followup_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("followups", "view")
    mine = request.GET.get("mine") == "1"
    items = selectors.followup_list(actor=actor, owner_id=actor.user_id if mine else None)
    return render(request, "customers/followups.html", {"page": paginate(request, items)})


@login_required
def followup_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    item = selectors.followup_get(actor=actor, pk=pk)
    return render(
        request,
        "customers/followup.html",
        {
            "item": item,
            "history": paginate(request, object_history(obj=item)),
            "can_change": FollowUp.objects.visible_to(actor, "change").filter(pk=pk).exists(),
            "can_delete": FollowUp.objects.visible_to(actor, "delete").filter(pk=pk).exists(),
        },
    )


@login_required
@require_POST
def followup_create(request: HttpRequest, pk: int) -> HttpResponse:
    """From the 360 page: log a follow-up in place."""
    actor = request.actor
    customer = selectors.customer_get(actor=actor, pk=pk)
    form = FollowUpForm(request.POST, customer=customer)
    if form.is_valid():
        try:
            services.followup_create(actor=actor, customer_id=pk, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Follow-up logged."))
            return redirect(reverse("customers:detail", args=[pk]) + "#timeline")
    data = selectors.view360(actor=actor, pk=pk)
    data.update(
        followup_form=form,
        show_followup=True,
        timeline_units=units_for(actor=actor, module="followups", action="view"),
        timeline_people=selectors.timeline_people(actor=actor, customer=customer),
        query=selectors.TimelineQuery(),
    )
    return render(request, "customers/detail.html", data, status=422)


@login_required
def followup_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    item = selectors.followup_get(actor=actor, pk=pk, action="change")
    initial = {f: getattr(item, f) for f in FollowUpForm.base_fields if f != "contact_ids"}
    initial["contact_ids"] = list(item.contacts.values_list("pk", flat=True))
    form = FollowUpForm(request.POST or None, customer=item.customer, initial=initial)
    done = submit(
        request,
        form,
        lambda d: services.followup_update(actor=actor, pk=pk, **d),
        success_url=reverse("customers:followup", args=[pk]),
        message=_("Follow-up saved."),
    )
    return done or form_page(
        request, form, title=_("Edit follow-up"), back=reverse("customers:followup", args=[pk])
    )


@login_required
@require_POST
def followup_delete(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.followup_get(actor=request.actor, pk=pk, action="delete")
    services.followup_delete(actor=request.actor, pk=pk)
    messages.success(request, _("Follow-up deleted."))
    return redirect("customers:detail", item.customer_id)
