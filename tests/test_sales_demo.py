"""The demo's year of sales (issue 5), loaded once in the demo command's order: leads and
referrals, conflicts, quotes, contracts with payments and expenses, then the forecast —
all through the services, consistent with each other, and the audit chain intact."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db.models import F, Sum
from django.utils import timezone

from groupcrm.approvals.models import ApprovalRequest
from groupcrm.audit.services import audit_verify
from groupcrm.core.actor import Actor
from groupcrm.core.events import outbox_drain
from groupcrm.core.models import Notification
from groupcrm.customers.demo import load_customers
from groupcrm.org.demo import build_demo
from groupcrm.org.models import User
from groupcrm.sales.conflicts.demo import load_conflicts
from groupcrm.sales.conflicts.models import Conflict
from groupcrm.sales.contracts.demo import load_contracts
from groupcrm.sales.contracts.models import Contract, Expense, Instalment
from groupcrm.sales.demo import load_pipeline
from groupcrm.sales.forecast.demo import load_forecast
from groupcrm.sales.forecast.models import CommissionRule, Quota
from groupcrm.sales.forecast.selectors import Period, commission_report, forecast
from groupcrm.sales.leads import selectors as lead_selectors
from groupcrm.sales.leads.demo import load_leads
from groupcrm.sales.leads.models import AssignmentRule, Lead, Referral, Territory
from groupcrm.sales.models import Opportunity, RevenueSplit
from groupcrm.sales.quotes.demo import load_quotes
from groupcrm.sales.quotes.models import PriceList, Product, Quote


@pytest.mark.django_db
def test_the_demo_has_a_year_of_sales_across_units(default_pipeline: None) -> None:
    build_demo()
    load_customers(count=120)
    load_pipeline(count=100)

    leads = load_leads()
    assert leads["leads"] == Lead.objects.count() > 20
    assert set(Lead.objects.values_list("status", flat=True)) == set(Lead.Status.values)
    assert Territory.objects.count() == 3 and AssignmentRule.objects.count() == 4
    statuses = set(Referral.objects.values_list("status", flat=True))
    assert {"accepted", "pending", "declined"} <= statuses
    won = [r for r in Referral.objects.filter(status="accepted") if lead_selectors.credits(r)]
    assert won, "one accepted referral's opportunity is won and credited"
    assert Lead.objects.filter(source="web", owner__isnull=False).exists()

    assert load_conflicts() == {"open": 1, "decided": 1}
    decided = Conflict.objects.get(status="decided")
    assert decided.decision == "joint" and decided.approval.status == "approved"
    assert RevenueSplit.objects.filter(source="conflict").count() == 2

    quotes = load_quotes()
    assert quotes["products"] == Product.objects.count() >= 15
    assert quotes["price_lists"] == PriceList.objects.count() >= 4
    assert quotes["quotes"] >= 20
    # Every quote adds up, follows its opportunity and takes a product its unit may quote.
    for quote in Quote.objects.select_related("opportunity", "bu"):
        assert quote.gross_total == quote.net_total + quote.tax_total
        assert (quote.bu_id, quote.owner_id) == (
            quote.opportunity.bu_id,
            quote.opportunity.owner_id,
        )
        ancestors = set(quote.bu.ancestor_ids())
        assert all(line.product.bu_id in ancestors for line in quote.lines.all())
    assert {"draft", "pending", "approved"} <= set(Quote.objects.values_list("status", flat=True))
    assert ApprovalRequest.objects.filter(kind="quotes.discount", status="approved").exists()
    assert ApprovalRequest.objects.filter(kind="quotes.discount", status="pending").exists()
    assert load_quotes()["quotes"] == 0  # a second run adds nothing

    contracts = load_contracts()
    assert contracts["contracts"] == Contract.objects.count() >= 5
    # Every plan adds up to its contract; nothing is over-collected.
    for contract in Contract.objects.all():
        assert contract.instalments.aggregate(total=Sum("amount"))["total"] == contract.amount
    assert not Instalment.objects.filter(paid_amount__gt=F("amount")).exists()
    assert Contract.objects.filter(status="active").exists() and contracts["payments"] > 0
    assert Instalment.objects.filter(status="overdue").count() == contracts["overdue"] >= 2
    assert contracts["reminders"] >= 2
    outbox_drain()
    assert Notification.objects.filter(link__startswith="/sales/contracts/").exists()
    states = set(Expense.objects.values_list("status", flat=True))
    assert states == {"draft", "submitted", "approved", "rejected"}

    figures = load_forecast()
    this_month = timezone.localdate().replace(day=1)
    assert figures["quotas"] == Quota.objects.count() > 0
    assert Quota.objects.filter(period=this_month).exists()
    assert figures["commission_rules"] == CommissionRule.objects.count() >= 2
    assert figures["forecast_categories"] > 0
    assert Opportunity.objects.filter(status="open", forecast_category="commit").exists()
    analyst = Actor(User.objects.get(username="chenjing"))
    # Over the past year each rep's credited wins are 70–125 % of their quotas.
    won: dict[int, Decimal] = defaultdict(Decimal)
    quota: dict[int, Decimal] = defaultdict(Decimal)
    month = this_month
    for _ in range(12):
        period = Period.parse(month.strftime("%Y-%m"))
        for row in forecast(actor=analyst, period=period, level="rep").rows:
            won[row.key] += row.won
            quota[row.key] += row.quota
        month = (month - dt.timedelta(days=1)).replace(day=1)
    attained = [won[rep] / quota[rep] for rep in won if won[rep] and quota[rep]]
    assert len(attained) >= 5 and all(0.6 <= a <= 1.35 for a in attained)
    assert commission_report(actor=analyst, period=Period.parse(this_month.strftime("%Y-%m")))
    assert audit_verify()[1] is None
