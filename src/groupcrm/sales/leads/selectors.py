"""Reads on leads and referrals, and the referrals card of the customer's 360° page."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.http import QueryDict

from groupcrm.core import pii
from groupcrm.core.actor import Actor
from groupcrm.core.scoping import scoped_get
from groupcrm.customers.models import Customer
from groupcrm.customers.selectors import register_panel
from groupcrm.customers.services import engaged_units, similar_customers
from groupcrm.org.selectors import unit_path
from groupcrm.sales.leads.models import AssignmentRule, Lead, Referral, Territory
from groupcrm.sales.leads.services import matching_customer, queue_units
from groupcrm.sales.models import Opportunity, RevenueSplit
from groupcrm.sales.selectors import query_int

SORTS = {
    "-created": ("-created_at", "-pk"),
    "created": ("created_at", "pk"),
    "company": ("company_name", "pk"),
    "-updated": ("-updated_at", "-pk"),
}
PANEL_ROWS = 10


@dataclass
class LeadFilters:
    """One filter set for the list page and the API."""

    status: str = ""
    source: str = ""
    bu_id: int | None = None
    owner_id: int | None = None
    unassigned: bool = False
    q: str = ""  # company name or USCC
    sort: str = ""

    @classmethod
    def from_query(cls, query: QueryDict) -> LeadFilters:
        return cls(
            status=query.get("status", ""),
            source=query.get("source", ""),
            bu_id=query_int(query.get("bu_id")),
            owner_id=query_int(query.get("owner_id")),
            unassigned=query.get("unassigned", "") in ("1", "true", "on"),
            q=query.get("q", "").strip(),
            sort=query.get("sort", ""),
        )


def lead_list(*, actor: Actor, filters: LeadFilters | None = None) -> QuerySet[Lead]:
    f = filters or LeadFilters()
    items = Lead.objects.visible_to(actor, "view").select_related("bu", "owner")
    if f.status in Lead.Status.values:
        items = items.filter(status=f.status)
    if f.source in Lead.Source.values:
        items = items.filter(source=f.source)
    if f.bu_id:
        items = items.filter(bu__path__startswith=unit_path(f.bu_id))
    if f.owner_id:
        items = items.filter(owner_id=f.owner_id)
    if f.unassigned:
        items = items.filter(owner__isnull=True)
    if f.q:
        items = items.filter(Q(company_name__icontains=f.q) | Q(uscc=f.q.upper()))
    return items.order_by(*SORTS.get(f.sort, SORTS["-created"]))


def lead_queue(*, actor: Actor, bu_id: int | None = None, q: str = "") -> QuerySet[Lead]:
    """The open, unassigned leads of the actor's units (``queue_units``), oldest first:
    what they may claim. Personal data is shown masked (``masked``)."""
    actor.require("leads", "change")
    items = Lead.objects.filter(
        bu_id__in=queue_units(actor), owner__isnull=True, status__in=Lead.OPEN_STATUSES
    ).select_related("bu")
    if bu_id:
        items = items.filter(bu_id=bu_id)
    if q:
        items = items.filter(Q(company_name__icontains=q) | Q(uscc=q.upper()))
    return items.order_by("created_at", "pk")


def lead_get(*, actor: Actor, pk: int, action: str = "view") -> Lead:
    return scoped_get(Lead, actor=actor, pk=pk, action=action)


def masked(lead: Lead) -> dict[str, str]:
    """The lead's personal fields as shown on screen and in the API: always masked."""
    return {"phone": pii.mask_phone(lead.phone), "email": pii.mask_email(lead.email)}


@dataclass
class Candidates:
    """What a conversion would link the lead to: the customer with its USCC, else the
    customers with similar names (the customer master's duplicate check)."""

    exact: Customer | None
    similar: list[tuple[Customer, float]]
    engaged: list[dict[str, Any]]


def conversion_candidates(lead: Lead) -> Candidates:
    exact = matching_customer(lead)
    similar = [] if exact else similar_customers(lead.company_name)
    return Candidates(exact, similar, engaged_units(exact) if exact else [])


def territories(*, units: list[Any]) -> QuerySet[Territory]:
    return Territory.objects.filter(bu__in=units).select_related("bu")


def rules(*, units: list[Any]) -> QuerySet[AssignmentRule]:
    return (
        AssignmentRule.objects.filter(bu__in=units)
        .select_related("bu", "territory")
        .prefetch_related("members")
    )


# --- referrals --------------------------------------------------------------------------


@dataclass
class ReferralFilters:
    direction: str = ""  # incoming, outgoing, or both
    status: str = ""
    customer_id: int | None = None

    @classmethod
    def from_query(cls, query: QueryDict) -> ReferralFilters:
        return cls(
            direction=query.get("direction", ""),
            status=query.get("status", ""),
            customer_id=query_int(query.get("customer_id")),
        )


def referral_list(*, actor: Actor, filters: ReferralFilters | None = None) -> QuerySet[Referral]:
    """Referrals the actor sees from either side (the referring and the receiving unit:
    ``visible_to`` unions both); ``direction`` narrows to one side."""
    f = filters or ReferralFilters()
    items = Referral.objects.visible_to(actor, "view").select_related(
        "customer", "lead", "opportunity", "from_bu", "from_user", "to_bu", "to_user"
    )
    if f.direction == "incoming":
        items = items.filter(Referral.receiving_q(actor, "view"))
    elif f.direction == "outgoing":
        items = items.filter(Referral.sending_q(actor, "view"))
    if f.status in Referral.Status.values:
        items = items.filter(status=f.status)
    if f.customer_id:
        items = items.filter(customer_id=f.customer_id)
    return items.order_by("-created_at", "-pk")


def referral_get(*, actor: Actor, pk: int) -> Referral:
    return scoped_get(Referral, actor=actor, pk=pk, action="view")


def can_decide(actor: Actor, referral: Referral) -> bool:
    return referral.status == Referral.Status.PENDING and (
        actor.is_superuser
        or Referral.objects.filter(Referral.receiving_q(actor, "change"), pk=referral.pk).exists()
    )


def can_withdraw(actor: Actor, referral: Referral) -> bool:
    return referral.status == Referral.Status.PENDING and (
        actor.is_superuser
        or Referral.objects.filter(Referral.sending_q(actor, "change"), pk=referral.pk).exists()
    )


def referred_opportunity(referral: Referral) -> Opportunity | None:
    """The opportunity the referral concerns: the referred one, or the one the referred
    lead was converted into."""
    opportunity_id = referral.opportunity_id or (
        referral.lead.converted_opportunity_id if referral.lead else None
    )
    return Opportunity.objects.filter(pk=opportunity_id).first() if opportunity_id else None


@dataclass
class Credit:
    bu_name: str
    user_name: str
    percent: Decimal
    amount: Decimal


def credits(referral: Referral) -> list[Credit]:
    """Once the referred opportunity is won: the amounts its revenue split credits."""
    if referral.status != Referral.Status.ACCEPTED:
        return []
    opportunity = referred_opportunity(referral)
    if opportunity is None or opportunity.status != Opportunity.Status.WON:
        return []
    splits = RevenueSplit.objects.filter(opportunity=opportunity).select_related("bu", "user")
    return [
        Credit(
            bu_name=s.bu.name,
            user_name=(s.user.display_name or s.user.username) if s.user else "",
            percent=s.percent,
            amount=s.amount_of(opportunity.amount),
        )
        for s in splits
    ]


def referrals_panel(actor: Actor, customer: Customer) -> dict[str, Any] | None:
    """The 360° card: the customer's referrals the viewer sees, both directions."""
    if not actor.can("referrals", "view"):
        return None
    items = referral_list(actor=actor, filters=ReferralFilters(customer_id=customer.pk))
    incoming = set(items.filter(Referral.receiving_q(actor, "view")).values_list("pk", flat=True))
    rows = list(items[:PANEL_ROWS])
    return {
        "rows": [(r, r.pk in incoming) for r in rows],
        "count": items.count(),
        "customer": customer,
        "can_create": actor.can("referrals", "create"),
    }


register_panel("referrals", "leads/_referrals_panel.html", referrals_panel)
