"""Reads on ownership conflicts: who else is engaged with a customer group (at entry),
the conflicts a person may see, the arbitration queue and the facts an arbitrator weighs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from groupcrm.core.actor import Actor
from groupcrm.core.errors import NotFound
from groupcrm.core.permissions import DataScope
from groupcrm.customers.models import Customer, CustomerRelationship
from groupcrm.customers.selectors import RuleCache, register_panel
from groupcrm.customers.services import protection_end
from groupcrm.org.models import BusinessUnit, User
from groupcrm.org.selectors import units_for
from groupcrm.sales.conflicts.models import Conflict
from groupcrm.sales.models import Opportunity

OPPORTUNITY = "opportunity"
RELATIONSHIP = "relationship"
KIND_LABELS = {
    OPPORTUNITY: _("Open opportunity"),
    RELATIONSHIP: _("Protected relationship"),
}
GROUP_LIMIT = 2000  # companies of one customer group read for detection


def _name(user: User | None) -> str:
    return (user.display_name or user.username) if user else ""


def group_root_id(customer: Customer) -> int:
    """The top company of the customer's group (the first segment of its tree path)."""
    first = customer.path.split("/", 1)[0]
    return int(first) if first.isdecimal() else customer.pk


def group_customer_ids(customer: Customer) -> list[int]:
    """Every company of the customer's group: the whole tree under its root."""
    root = Customer.objects.filter(pk=group_root_id(customer)).only("path").first()
    prefix = root.path if root else customer.path
    return list(
        Customer.objects.filter(path__startswith=prefix)
        .exclude(status=Customer.Status.MERGED)
        .order_by()
        .values_list("pk", flat=True)[:GROUP_LIMIT]
    )


def same_side(a: BusinessUnit, b: BusinessUnit) -> bool:
    """A unit, its ancestors and its descendants are one side: never in conflict."""
    return a.path.startswith(b.path) or b.path.startswith(a.path)


@dataclass(frozen=True)
class Engagement:
    """Another unit working with a company of the customer's group. Amounts and stages are
    left out: the engaged unit and its owner are what everyone who sees the customer may
    know (as on the 360° page)."""

    bu_id: int
    bu_name: str
    kind: str
    customer_id: int
    customer_name: str
    owner_id: int | None = None
    owner_name: str = ""
    since: dt.datetime | None = None
    protected_until: dt.date | None = None
    # Internal: which opportunity engages the unit (not shown to the other side).
    opportunity_id: int | None = field(default=None, compare=False, repr=False)

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])


def engagements(*, actor: Actor, customer: Customer, unit: BusinessUnit) -> list[Engagement]:
    """Units other than ``unit``'s own side (itself, above or below it) with an open
    opportunity or a protected relationship on ``customer`` or any company of its group.
    Owner names only for viewers who may see the customer."""
    show_owner = actor.can("customers", "view")
    ids = group_customer_ids(customer)
    found: list[Engagement] = []
    opportunities = (
        Opportunity.objects.filter(customer_id__in=ids, status=Opportunity.Status.OPEN)
        .select_related("bu", "owner", "customer")
        .order_by("bu__path", "created_at", "pk")
    )
    for o in opportunities:
        if same_side(o.bu, unit):
            continue
        found.append(
            Engagement(
                bu_id=o.bu_id,
                bu_name=o.bu.name,
                kind=OPPORTUNITY,
                customer_id=o.customer_id,
                customer_name=o.customer.legal_name,
                owner_id=o.owner_id if show_owner else None,
                owner_name=_name(o.owner) if show_owner else "",
                since=o.created_at,
                opportunity_id=o.pk,
            )
        )
    today, rules = timezone.localdate(), RuleCache()
    relationships = (
        CustomerRelationship.objects.filter(customer_id__in=ids, owner__isnull=False)
        .select_related("bu", "owner", "customer")
        .order_by("bu__path", "pk")
    )
    for rel in relationships:
        if same_side(rel.bu, unit):
            continue
        until = protection_end(rel, rules.of(rel))
        if until is None or until < today:
            continue
        found.append(
            Engagement(
                bu_id=rel.bu_id,
                bu_name=rel.bu.name,
                kind=RELATIONSHIP,
                customer_id=rel.customer_id,
                customer_name=rel.customer.legal_name,
                owner_id=rel.owner_id if show_owner else None,
                owner_name=_name(rel.owner) if show_owner else "",
                since=rel.claimed_at,
                protected_until=until,
            )
        )
    return found


def entry_unit(*, actor: Actor, bu_id: int | None) -> BusinessUnit | None:
    """The unit whose side the notice takes: ``bu_id`` (default: the actor's own unit),
    if the actor may enter opportunities or raise conflicts for it; else None."""
    unit_id = bu_id or (actor.bu.pk if actor.bu else None)
    if unit_id is None:
        return None
    units = units_for(actor=actor, module="opportunities", action="create") | units_for(
        actor=actor, module="conflicts", action="create"
    )
    return units.filter(pk=unit_id).first()


def engaged_units(items: list[Engagement]) -> list[dict[str, Any]]:
    """The engagements grouped by unit, in order: what the notice lists."""
    units: dict[int, dict[str, Any]] = {}
    for item in items:
        units.setdefault(item.bu_id, {"bu_id": item.bu_id, "bu_name": item.bu_name, "items": []})
        units[item.bu_id]["items"].append(item)
    return list(units.values())


def referral_link(
    *,
    customer: Customer,
    to_bu_id: int,
    lead_id: int | None = None,
    opportunity_id: int | None = None,
) -> str:
    """The page to refer the customer to an engaged unit (the leads module's), or "" when
    that module is not installed."""
    try:
        url = reverse("leads:referral_create")
    except NoReverseMatch:
        return ""
    params: dict[str, Any] = {"customer": customer.pk, "to_bu": to_bu_id}
    if lead_id:
        params["lead"] = lead_id
    if opportunity_id:
        params["opportunity"] = opportunity_id
    return f"{url}?{urlencode(params)}"


# --- conflicts ------------------------------------------------------------------------------


def _reach_q(actor: Actor) -> Q | None:
    """Conflicts whose two units the actor's ``conflicts.approve`` reaches (None: all)."""
    if actor.is_system or actor.is_superuser:
        return None
    condition = Q(pk__in=[])
    for grant in actor.grants("conflicts", "approve"):
        if grant.scope == DataScope.GROUP:
            return None
        if grant.scope == DataScope.SUBTREE:
            condition |= Q(
                raised_bu__path__startswith=grant.bu_path,
                other_bu__path__startswith=grant.bu_path,
            )
    return condition


def arbitrable(*, actor: Actor) -> QuerySet[Conflict]:
    """Conflicts the actor may arbitrate: ``conflicts.approve`` reaching both units."""
    if not actor.can("conflicts", "approve"):
        return Conflict.objects.none()
    reach = _reach_q(actor)
    return Conflict.objects.all() if reach is None else Conflict.objects.filter(reach)


def can_arbitrate(*, actor: Actor, conflict: Conflict) -> bool:
    """May arbitrate it, and is neither of its parties (four eyes)."""
    if actor.user_id is not None and actor.user_id in (
        conflict.raised_by_id,
        conflict.other_owner_id,
    ):
        return False
    return arbitrable(actor=actor).filter(pk=conflict.pk).exists()


def _base(qs: QuerySet[Conflict]) -> QuerySet[Conflict]:
    return qs.select_related(
        "customer", "group_root", "raised_by", "raised_bu", "other_bu", "other_owner", "winner_bu"
    )


def conflicts_visible(*, actor: Actor) -> QuerySet[Conflict]:
    """Conflicts involving the actor's units (within their scope), and those they may
    arbitrate."""
    scoped = Conflict.objects.visible_to(actor, "view")
    if not actor.can("conflicts", "approve"):
        return _base(scoped)
    judged = arbitrable(actor=actor)
    return _base(Conflict.objects.filter(Q(pk__in=scoped.values("pk")) | Q(pk__in=judged)))


def conflict_list(*, actor: Actor, status: str = "", q: str = "") -> QuerySet[Conflict]:
    actor.require("conflicts", "view")
    items = conflicts_visible(actor=actor)
    if status in Conflict.Status.values:
        items = items.filter(status=status)
    if q:
        items = items.filter(
            Q(customer__legal_name__icontains=q) | Q(group_root__legal_name__icontains=q)
        )
    return items.order_by("-created_at", "-pk")


def conflict_queue(*, actor: Actor) -> QuerySet[Conflict]:
    """Open conflicts the actor may arbitrate, oldest first."""
    actor.require("conflicts", "approve")
    return (
        _base(arbitrable(actor=actor))
        .filter(status=Conflict.Status.OPEN)
        .order_by("created_at", "pk")
    )


def conflict_get(*, actor: Actor, pk: Any) -> Conflict:
    actor.require("conflicts", "view")
    try:
        return conflicts_visible(actor=actor).get(pk=pk)
    except (Conflict.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


@dataclass
class SideFacts:
    """What one side does with the customer group, for the arbitrator."""

    unit: BusinessUnit
    opportunities: list[Opportunity]
    relationships: list[dict[str, Any]]


def side_facts(conflict: Conflict) -> list[SideFacts]:
    """Both sides' open opportunities (with stage and amount) and owned relationships on
    the customer group: arbitrators see across units by role."""
    ids = group_customer_ids(conflict.customer)
    rules, facts = RuleCache(), []
    for unit in (conflict.raised_bu, conflict.other_bu):
        opportunities = list(
            Opportunity.objects.filter(
                customer_id__in=ids, bu__path__startswith=unit.path, status=Opportunity.Status.OPEN
            )
            .select_related("customer", "owner", "stage", "bu")
            .order_by("created_at")
        )
        relationships = [
            {"rel": rel, "protected_until": protection_end(rel, rules.of(rel))}
            for rel in CustomerRelationship.objects.filter(
                customer_id__in=ids, bu__path__startswith=unit.path, owner__isnull=False
            )
            .select_related("customer", "owner", "bu")
            .order_by("claimed_at", "pk")
        ]
        facts.append(SideFacts(unit, opportunities, relationships))
    return facts


def _panel(actor: Actor, customer: Customer) -> dict[str, Any] | None:
    """The 360° page's card: the customer group's open conflicts the viewer may see."""
    if not actor.can("conflicts", "view"):
        return None
    items = list(
        conflicts_visible(actor=actor)
        .filter(group_root_id=group_root_id(customer), status=Conflict.Status.OPEN)
        .order_by("created_at")[:10]
    )
    if not items:
        return None
    return {"conflicts": items}


register_panel("conflicts", "conflicts/_panel.html", _panel)
