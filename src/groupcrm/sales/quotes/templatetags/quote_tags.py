"""``{% opportunity_quotes o %}``: the quotes card of an opportunity's page (sales
templates include it without their views knowing about quotes)."""

from __future__ import annotations

from typing import Any

from django import template

from groupcrm.sales.models import Opportunity
from groupcrm.sales.quotes.selectors import opportunity_quotes as quotes_of

register = template.Library()


@register.inclusion_tag("quotes/_opportunity_quotes.html", takes_context=True)
def opportunity_quotes(context: dict[str, Any], opportunity: Opportunity) -> dict[str, Any]:
    actor = context["request"].actor
    return {
        "show": actor.can("quotes", "view"),
        "quotes": quotes_of(actor=actor, opportunity=opportunity),
        "opportunity": opportunity,
        "can_create": actor.can("quotes", "create")
        and opportunity.status == Opportunity.Status.OPEN,
        "request": context["request"],
    }
