"""Template helpers for the engagement notice (included by other modules' pages)."""

from __future__ import annotations

from typing import Any

from django import template

from groupcrm.customers.models import Customer
from groupcrm.sales.conflicts import selectors

register = template.Library()


@register.filter
def by_unit(items: list[selectors.Engagement]) -> list[dict[str, Any]]:
    return selectors.engaged_units(items)


@register.simple_tag
def referral_url(
    customer: Customer, to_bu_id: int, lead: Any = None, opportunity: Any = None
) -> str:
    """The leads module's referral page for this customer and unit, or ""."""
    return selectors.referral_link(
        customer=customer,
        to_bu_id=to_bu_id,
        lead_id=getattr(lead, "pk", None),
        opportunity_id=getattr(opportunity, "pk", None),
    )
