"""Contract, receivables and expense pages: each calls a selector or a service."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from groupcrm.core.errors import ValidationError
from groupcrm.core.ui import apply_errors, form_page, paginate, submit
from groupcrm.customers.selectors import customer_get
from groupcrm.org.selectors import units_for
from groupcrm.sales.contracts import expenses, selectors, services
from groupcrm.sales.contracts.export import contract_export, receivables_export
from groupcrm.sales.contracts.forms import ContractForm, ExpenseForm, PaymentForm, PlanForm
from groupcrm.sales.contracts.models import Contract, Expense
from groupcrm.sales.models import Opportunity
from groupcrm.sales.selectors import OpportunityFilters, opportunity_list

EXPENSE_OPPORTUNITIES = 300  # the newest open or won opportunities offered in the picker


def _can(model: Any, actor: Any, pk: int, action: str) -> bool:
    return model.objects.visible_to(actor, action).filter(pk=pk).exists()


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdecimal() else None


# --- contracts --------------------------------------------------------------------------


@login_required
def contract_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("contracts", "view")
    filters = selectors.ContractFilters.from_query(request.GET)
    return render(
        request,
        "contracts/list.html",
        {
            "page": paginate(request, selectors.contract_list(actor=actor, filters=filters)),
            "filters": filters,
            "statuses": Contract.Status.choices,
            "units": units_for(actor=actor, module="contracts", action="view"),
            "can_create": actor.can("contracts", "create"),
            "can_export": actor.can("contracts", "export"),
        },
    )


@login_required
def contract_list_export(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    return contract_export(actor=request.actor, fmt=fmt, query=request.GET)


@login_required
def contract_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("contracts", "create")
    opportunities = list(selectors.contractable_opportunities(actor=actor)[:500])
    chosen = _int(request.GET.get("opportunity"))
    form = ContractForm(
        request.POST or None, opportunities=opportunities, initial={"opportunity_id": chosen}
    )
    done = submit(
        request,
        form,
        lambda data: services.contract_create(actor=actor, **data),
        success_url=lambda c: reverse("contracts:detail", args=[c.pk]),
        message=_("Contract created: set its payment plan."),
    )
    if done:
        return done
    if not opportunities and request.method == "GET":
        messages.info(request, _("No won opportunity without a contract: win one first."))
    return form_page(request, form, title=_("New contract"), back=reverse("contracts:list"))


@login_required
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    contract = selectors.contract_get(actor=actor, pk=pk)
    instalments = selectors.instalments_of(contract)
    can_change = _can(Contract, actor, pk, "change")
    active = contract.status == Contract.Status.ACTIVE
    return render(
        request,
        "contracts/detail.html",
        {
            "c": contract,
            "instalments": instalments,
            "payments": selectors.payments_of(contract),
            "can_change": can_change and contract.status in ("draft", "active"),
            "can_delete": contract.status == "draft" and _can(Contract, actor, pk, "delete"),
            "payment_form": PaymentForm(
                instalments=instalments, initial={"received_on": timezone.localdate()}
            )
            if can_change and active
            else None,
        },
    )


@login_required
def contract_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    contract = selectors.contract_get(actor=actor, pk=pk, action="change")
    form = ContractForm(request.POST or None, initial=ContractForm.initial_from(contract))
    done = submit(
        request,
        form,
        lambda data: services.contract_update(actor=actor, pk=pk, **data),
        success_url=reverse("contracts:detail", args=[pk]),
        message=_("Contract saved."),
    )
    return done or form_page(
        request,
        form,
        title=_("Edit %(number)s") % {"number": contract.number},
        back=reverse("contracts:detail", args=[pk]),
    )


@login_required
def contract_plan(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    contract = selectors.contract_get(actor=actor, pk=pk, action="change")
    form = PlanForm(request.POST or None, instalments=selectors.instalments_of(contract))
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_set(actor=actor, pk=pk, instalments=form.instalments())
        except ValidationError as exc:
            apply_errors(form, exc)
            if exc.fields and not form.non_field_errors():
                form.add_error(None, str(exc.message))
        else:
            messages.success(request, _("Payment plan saved."))
            return redirect("contracts:detail", pk)
    return render(request, "contracts/plan.html", {"c": contract, "form": form})


@login_required
@require_POST
def payment_record(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    contract = selectors.contract_get(actor=actor, pk=pk, action="change")
    form = PaymentForm(request.POST, instalments=selectors.instalments_of(contract))
    if form.is_valid():
        try:
            services.payment_record(actor=actor, pk=pk, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Payment recorded."))
            return redirect("contracts:detail", pk)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect("contracts:detail", pk)


@login_required
@require_POST
def contract_activate(request: HttpRequest, pk: int) -> HttpResponse:
    services.contract_activate(actor=request.actor, pk=pk)
    messages.success(request, _("Contract activated: payments can now be recorded."))
    return redirect("contracts:detail", pk)


@login_required
@require_POST
def contract_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    services.contract_cancel(actor=request.actor, pk=pk)
    messages.success(request, _("Contract cancelled."))
    return redirect("contracts:detail", pk)


@login_required
@require_POST
def contract_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.contract_delete(actor=request.actor, pk=pk)
    messages.success(request, _("Contract deleted."))
    return redirect("contracts:list")


# --- receivables ------------------------------------------------------------------------


@login_required
def receivables(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("contracts", "view")
    filters = selectors.ReceivableFilters.from_query(request.GET)
    scoped = selectors.receivable_scope(actor=actor, filters=filters)
    customer = customer_get(actor=actor, pk=filters.customer_id) if filters.customer_id else None
    return render(
        request,
        "contracts/receivables.html",
        {
            "page": paginate(request, selectors.receivable_contracts(actor=actor, filters=filters)),
            "filters": filters,
            "totals": selectors.figures(scoped),
            "aging": selectors.aging(scoped),
            "units": units_for(actor=actor, module="contracts", action="view"),
            "customer": customer,
            "can_export": actor.can("contracts", "export"),
        },
    )


@login_required
def receivables_list_export(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    return receivables_export(actor=request.actor, fmt=fmt, query=request.GET)


# --- expenses ---------------------------------------------------------------------------


@login_required
def expense_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("expenses", "view")
    filters = selectors.ExpenseFilters.from_query(request.GET)
    items = selectors.expense_list(actor=actor, filters=filters)
    return render(
        request,
        "contracts/expense_list.html",
        {
            "page": paginate(request, items),
            "filters": filters,
            "totals": selectors.expense_totals(items),
            "statuses": Expense.Status.choices,
            "kinds": Expense.Kind.choices,
            "units": units_for(actor=actor, module="expenses", action="view"),
            "opportunity": Opportunity.objects.visible_to(actor, "view")
            .filter(pk=filters.opportunity_id)
            .first()
            if filters.opportunity_id
            else None,
            "can_create": actor.can("expenses", "create"),
        },
    )


def _expense_opportunities(actor: Any, chosen: int | None) -> list[Opportunity]:
    items = opportunity_list(actor=actor, filters=OpportunityFilters(sort="-updated")).exclude(
        status=Opportunity.Status.LOST
    )
    found = list(items[:EXPENSE_OPPORTUNITIES])
    if chosen and all(o.pk != chosen for o in found):
        found = list(items.filter(pk=chosen)) + found
    return found


@login_required
def expense_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("expenses", "create")
    chosen = _int(request.GET.get("opportunity"))
    form = ExpenseForm(
        request.POST or None,
        opportunities=_expense_opportunities(actor, chosen),
        initial={"opportunity_id": chosen, "spent_on": timezone.localdate()},
    )
    done = submit(
        request,
        form,
        lambda data: expenses.expense_create(actor=actor, **data),
        success_url=lambda e: reverse("contracts:expense_detail", args=[e.pk]),
        message=_("Expense saved as a draft: submit it for approval when complete."),
    )
    return done or form_page(
        request, form, title=_("New expense"), back=reverse("contracts:expenses")
    )


@login_required
def expense_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    expense = selectors.expense_get(actor=actor, pk=pk)
    editable = expense.status in expenses.EDITABLE
    return render(
        request,
        "contracts/expense_detail.html",
        {
            "e": expense,
            "can_change": editable and _can(Expense, actor, pk, "change"),
            "can_delete": editable and _can(Expense, actor, pk, "delete"),
        },
    )


@login_required
def expense_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    expense = selectors.expense_get(actor=actor, pk=pk, action="change")
    form = ExpenseForm(request.POST or None, initial=ExpenseForm.initial_from(expense))
    done = submit(
        request,
        form,
        lambda data: expenses.expense_update(actor=actor, pk=pk, **data),
        success_url=reverse("contracts:expense_detail", args=[pk]),
        message=_("Expense saved."),
    )
    return done or form_page(
        request,
        form,
        title=_("Edit expense"),
        back=reverse("contracts:expense_detail", args=[pk]),
    )


@login_required
@require_POST
def expense_submit(request: HttpRequest, pk: int) -> HttpResponse:
    expenses.expense_submit(actor=request.actor, pk=pk, reason=request.POST.get("reason", ""))
    messages.success(request, _("Expense submitted for approval."))
    return redirect("contracts:expense_detail", pk)


@login_required
@require_POST
def expense_delete(request: HttpRequest, pk: int) -> HttpResponse:
    expenses.expense_delete(actor=request.actor, pk=pk)
    messages.success(request, _("Expense deleted."))
    return redirect("contracts:expenses")
