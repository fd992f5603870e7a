"""Reads on contracts, receivables (应收) and expenses, and the receivables card of the
customer's 360° view. Every figure starts from ``visible_to``: a viewer's totals only
count the contracts they may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from groupcrm.core.actor import Actor
from groupcrm.core.scoping import scoped_get
from groupcrm.customers import search
from groupcrm.customers.models import Customer
from groupcrm.customers.selectors import register_panel
from groupcrm.org.selectors import unit_path
from groupcrm.sales.contracts.models import Contract, Expense, Instalment, Payment
from groupcrm.sales.models import Opportunity
from groupcrm.sales.selectors import group_ids, query_int

MONEY = DecimalField(max_digits=18, decimal_places=2)
ZERO = Decimal("0.00")
CUSTOMER_MATCHES = 500
# Contracts that count as receivable: signed and running, or fully collected.
RECEIVABLE = (Contract.Status.ACTIVE, Contract.Status.COMPLETED)
AGING_BUCKETS = (
    ("0-30", _("0–30 days"), 0, 30),
    ("31-60", _("31–60 days"), 31, 60),
    ("61-90", _("61–90 days"), 61, 90),
    ("90+", _("over 90 days"), 91, None),
)


# --- contracts --------------------------------------------------------------------------


@dataclass
class ContractFilters:
    """One filter set for the contract list page and the API."""

    status: str = ""
    bu_id: int | None = None
    owner_id: int | None = None
    customer_id: int | None = None
    opportunity_id: int | None = None
    q: str = ""  # number, title, or the customer's name, 拼音, USCC

    @classmethod
    def from_query(cls, query: QueryDict) -> ContractFilters:
        return cls(
            status=query.get("status", ""),
            bu_id=query_int(query.get("bu_id")),
            owner_id=query_int(query.get("owner_id")),
            customer_id=query_int(query.get("customer_id")),
            opportunity_id=query_int(query.get("opportunity_id")),
            q=query.get("q", "").strip(),
        )


def _received() -> Coalesce:
    return Coalesce(
        Subquery(
            Instalment.objects.filter(contract=OuterRef("pk"))
            .order_by()
            .values("contract")
            .annotate(total=Sum("paid_amount"))
            .values("total"),
            output_field=MONEY,
        ),
        Value(ZERO),
        output_field=MONEY,
    )


def contract_list(*, actor: Actor, filters: ContractFilters | None = None) -> QuerySet[Contract]:
    f = filters or ContractFilters()
    items = (
        Contract.objects.visible_to(actor, "view")
        .select_related("customer", "bu", "owner", "opportunity")
        .annotate(received=_received())
        .annotate(outstanding=ExpressionWrapper(F("amount") - F("received"), output_field=MONEY))
    )
    if f.status in Contract.Status.values:
        items = items.filter(status=f.status)
    if f.bu_id:
        items = items.filter(bu__path__startswith=unit_path(f.bu_id))
    if f.owner_id:
        items = items.filter(owner_id=f.owner_id)
    if f.customer_id:
        items = items.filter(customer_id=f.customer_id)
    if f.opportunity_id:
        items = items.filter(opportunity_id=f.opportunity_id)
    if f.q:
        items = items.filter(
            Q(number__icontains=f.q)
            | Q(title__icontains=f.q)
            | Q(customer_id__in=search.search_ids(f.q, limit=CUSTOMER_MATCHES))
        )
    return items.order_by("-created_at", "-pk")


def contract_get(*, actor: Actor, pk: int, action: str = "view") -> Contract:
    contract = scoped_get(Contract, actor=actor, pk=pk, action=action)
    contract.received = sum((i.paid_amount for i in contract.instalments.all()), ZERO)
    contract.outstanding = contract.amount - contract.received
    return contract


def instalments_of(contract: Contract) -> list[Instalment]:
    return list(contract.instalments.order_by("sequence"))


def payments_of(contract: Contract) -> QuerySet[Payment]:
    return contract.payments.select_related("instalment", "recorded_by").order_by(
        "-received_on", "-pk"
    )


def contractable_opportunities(*, actor: Actor) -> QuerySet[Opportunity]:
    """Won opportunities the actor may see that have no (uncancelled) contract yet."""
    taken = Contract.objects.exclude(status=Contract.Status.CANCELLED).values("opportunity_id")
    return (
        Opportunity.objects.visible_to(actor, "view")
        .filter(status=Opportunity.Status.WON)
        .exclude(pk__in=taken)
        .select_related("customer")
        .order_by("-closed_at", "-pk")
    )


# --- receivables ------------------------------------------------------------------------


@dataclass
class Figures:
    contracted: Decimal = ZERO
    received: Decimal = ZERO
    outstanding: Decimal = ZERO
    overdue: Decimal = ZERO
    contracts: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "contracts": self.contracts,
            "contracted": f"{self.contracted:.2f}",
            "received": f"{self.received:.2f}",
            "outstanding": f"{self.outstanding:.2f}",
            "overdue": f"{self.overdue:.2f}",
        }


def _receivable(actor: Actor) -> QuerySet[Contract]:
    return Contract.objects.visible_to(actor, "view").filter(status__in=RECEIVABLE)


def figures(contracts: QuerySet[Contract]) -> Figures:
    """Contracted, received, outstanding and overdue (the unpaid part of overdue
    instalments) over ``contracts`` (already scoped by the caller)."""
    totals = contracts.order_by().aggregate(
        contracted=Coalesce(Sum("amount"), Value(ZERO), output_field=MONEY)
    )
    instalments = Instalment.objects.filter(contract__in=contracts.values("pk")).order_by()
    paid = instalments.aggregate(
        received=Coalesce(Sum("paid_amount"), Value(ZERO), output_field=MONEY),
        overdue=Coalesce(
            Sum(F("amount") - F("paid_amount"), filter=Q(status=Instalment.Status.OVERDUE)),
            Value(ZERO),
            output_field=MONEY,
        ),
    )
    return Figures(
        contracted=totals["contracted"],
        received=paid["received"],
        outstanding=totals["contracted"] - paid["received"],
        overdue=paid["overdue"],
        contracts=contracts.count(),
    )


@dataclass
class ReceivableFilters:
    overdue: bool = False
    bu_id: int | None = None
    customer_id: int | None = None
    include_group: bool = True  # with customer_id: the companies below it too

    @classmethod
    def from_query(cls, query: QueryDict) -> ReceivableFilters:
        return cls(
            overdue=query.get("overdue") in ("1", "true", "on"),
            bu_id=query_int(query.get("bu_id")),
            customer_id=query_int(query.get("customer_id")),
            include_group=query.get("include_group", "1") in ("1", "true", "on"),
        )


def receivable_scope(
    *, actor: Actor, filters: ReceivableFilters | None = None
) -> QuerySet[Contract]:
    """The receivable contracts (active or completed) the filters select: the base of the
    list's totals and aging."""
    f = filters or ReceivableFilters()
    items = _receivable(actor)
    if f.bu_id:
        items = items.filter(bu__path__startswith=unit_path(f.bu_id))
    if f.customer_id:
        customer = Customer.objects.filter(pk=f.customer_id).first()
        ids = group_ids(customer) if customer and f.include_group else [f.customer_id]
        items = items.filter(customer_id__in=ids)
    if f.overdue:
        items = items.filter(instalments__status=Instalment.Status.OVERDUE).distinct()
    return items


def receivable_contracts(
    *, actor: Actor, filters: ReceivableFilters | None = None
) -> QuerySet[Contract]:
    """Active contracts with money still to collect (the receivables list), the most
    overdue first."""
    f = filters or ReceivableFilters()
    items = receivable_scope(actor=actor, filters=f)
    overdue = Coalesce(
        Subquery(
            Instalment.objects.filter(contract=OuterRef("pk"), status=Instalment.Status.OVERDUE)
            .order_by()
            .values("contract")
            .annotate(total=Sum(F("amount") - F("paid_amount")))
            .values("total"),
            output_field=MONEY,
        ),
        Value(ZERO),
        output_field=MONEY,
    )
    oldest = Subquery(
        Instalment.objects.filter(contract=OuterRef("pk"), status=Instalment.Status.OVERDUE)
        .order_by("due_on")
        .values("due_on")[:1]
    )
    items = (
        items.filter(status=Contract.Status.ACTIVE)
        .select_related("customer", "bu", "owner")
        .annotate(received=_received(), overdue=overdue, oldest_overdue=oldest)
        .annotate(outstanding=ExpressionWrapper(F("amount") - F("received"), output_field=MONEY))
        .filter(outstanding__gt=0)
    )
    if f.overdue:
        items = items.filter(overdue__gt=0)
    return items.order_by(F("oldest_overdue").asc(nulls_last=True), "-outstanding", "pk")


def aging(contracts: QuerySet[Contract], today: dt.date | None = None) -> list[dict[str, Any]]:
    """The overdue outstanding by how long past due: 0–30, 31–60, 61–90, over 90 days."""
    today = today or timezone.localdate()
    unpaid = Instalment.objects.filter(
        contract__in=contracts.values("pk"), status=Instalment.Status.OVERDUE
    ).order_by()
    sums = {}
    for code, _label, low, high in AGING_BUCKETS:
        window = Q(due_on__lte=today - dt.timedelta(days=low))
        if high is not None:
            window &= Q(due_on__gte=today - dt.timedelta(days=high))
        sums[code] = Coalesce(
            Sum(F("amount") - F("paid_amount"), filter=window), Value(ZERO), output_field=MONEY
        )
    totals = unpaid.aggregate(**sums)
    return [
        {"code": code, "label": str(label), "amount": totals[code]}
        for code, label, _low, _high in AGING_BUCKETS
    ]


def customer_receivables(*, actor: Actor, customer: Customer) -> dict[str, Figures]:
    """The customer's own figures and its group's (the customer and the companies below
    it), counting only what the viewer may see."""
    visible = _receivable(actor)
    return {
        "customer": figures(visible.filter(customer_id=customer.pk)),
        "group": figures(visible.filter(customer_id__in=group_ids(customer))),
    }


def receivables_panel(actor: Actor, customer: Customer) -> dict[str, Any] | None:
    """The 360° card: nothing for viewers without contracts, or with no contract here."""
    if not actor.can("contracts", "view"):
        return None
    found = customer_receivables(actor=actor, customer=customer)
    if not found["group"].contracts:
        return None
    return {
        **found,
        "has_group": found["group"].contracts != found["customer"].contracts
        or found["group"].contracted != found["customer"].contracted,
        "customer_id": customer.pk,
    }


register_panel("receivables", "contracts/_receivables_panel.html", receivables_panel)


# --- expenses ---------------------------------------------------------------------------


@dataclass
class ExpenseFilters:
    status: str = ""
    kind: str = ""
    bu_id: int | None = None
    owner_id: int | None = None
    opportunity_id: int | None = None

    @classmethod
    def from_query(cls, query: QueryDict) -> ExpenseFilters:
        return cls(
            status=query.get("status", ""),
            kind=query.get("kind", ""),
            bu_id=query_int(query.get("bu_id")),
            owner_id=query_int(query.get("owner_id")),
            opportunity_id=query_int(query.get("opportunity_id")),
        )


def expense_list(*, actor: Actor, filters: ExpenseFilters | None = None) -> QuerySet[Expense]:
    f = filters or ExpenseFilters()
    items = Expense.objects.visible_to(actor, "view").select_related(
        "opportunity", "opportunity__customer", "bu", "owner"
    )
    if f.status in Expense.Status.values:
        items = items.filter(status=f.status)
    if f.kind in Expense.Kind.values:
        items = items.filter(kind=f.kind)
    if f.bu_id:
        items = items.filter(bu__path__startswith=unit_path(f.bu_id))
    if f.owner_id:
        items = items.filter(owner_id=f.owner_id)
    if f.opportunity_id:
        items = items.filter(opportunity_id=f.opportunity_id)
    return items.order_by("-spent_on", "-pk")


def expense_get(*, actor: Actor, pk: int, action: str = "view") -> Expense:
    return scoped_get(Expense, actor=actor, pk=pk, action=action)


def expense_totals(expenses: QuerySet[Expense]) -> dict[str, Decimal]:
    """Sums by status (and all but rejected) of the given, already scoped, expenses."""
    sums = {
        status: Coalesce(Sum("amount", filter=Q(status=status)), Value(ZERO), output_field=MONEY)
        for status in Expense.Status.values
    }
    totals = expenses.order_by().aggregate(**sums)
    totals["total"] = sum((v for k, v in totals.items() if k != Expense.Status.REJECTED), ZERO)
    return totals


def opportunity_expense_totals(*, actor: Actor, opportunity: Opportunity) -> dict[str, Decimal]:
    return expense_totals(
        expense_list(actor=actor, filters=ExpenseFilters(opportunity_id=opportunity.pk))
    )
