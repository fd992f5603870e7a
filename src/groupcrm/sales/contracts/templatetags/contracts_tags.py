"""``{% opportunity_money o %}``: the contracts and expenses card of an opportunity page."""

from __future__ import annotations

from typing import Any

from django import template

from groupcrm.sales.contracts import selectors
from groupcrm.sales.contracts.models import Contract
from groupcrm.sales.models import Opportunity

register = template.Library()


@register.inclusion_tag("contracts/_opportunity_panel.html", takes_context=True)
def opportunity_money(context: dict[str, Any], opportunity: Opportunity) -> dict[str, Any]:
    actor = context["request"].actor
    can_contracts = actor.can("contracts", "view")
    can_expenses = actor.can("expenses", "view")
    contracts = (
        list(
            selectors.contract_list(
                actor=actor, filters=selectors.ContractFilters(opportunity_id=opportunity.pk)
            )
        )
        if can_contracts
        else []
    )
    return {
        "o": opportunity,
        "show": can_contracts or can_expenses,
        "contracts": contracts,
        "can_contract": opportunity.status == Opportunity.Status.WON
        and actor.can("contracts", "create")
        and all(c.status == Contract.Status.CANCELLED for c in contracts),
        "expenses": selectors.opportunity_expense_totals(actor=actor, opportunity=opportunity)
        if can_expenses
        else None,
        "can_claim": actor.can("expenses", "create"),
    }
