"""The demo forecast (forecast.demo): quotas, commission rules and forecast categories
through the services; the demo attainment looks like real sales."""

from __future__ import annotations

import pytest

from groupcrm.audit.services import audit_verify
from groupcrm.core.actor import Actor
from groupcrm.customers.demo import load_customers
from groupcrm.org.demo import build_demo
from groupcrm.org.models import User
from groupcrm.sales.demo import load_pipeline
from groupcrm.sales.forecast.demo import load_forecast
from groupcrm.sales.forecast.models import CommissionRule, Quota
from groupcrm.sales.forecast.selectors import Period, commission_report, forecast
from groupcrm.sales.models import Opportunity


@pytest.mark.django_db
def test_demo_forecast_has_quotas_rules_categories_and_realistic_attainment() -> None:
    build_demo()
    load_customers(count=120)
    load_pipeline(count=80)
    counts = load_forecast()
    assert counts["quotas"] == Quota.objects.count() > 0
    assert set(Quota.objects.values_list("period__year", flat=True)) == {2026}
    assert counts["commission_rules"] == CommissionRule.objects.count() >= 2
    assert counts["forecast_categories"] > 0
    assert Opportunity.objects.filter(status="open", forecast_category="commit").exists()
    analyst = Actor(User.objects.get(username="chenjing"))
    result = forecast(actor=analyst, period=Period.parse("2026-12"), level="rep")
    attained = [r.attainment for r in result.rows if r.attainment is not None and r.won]
    assert attained and all(50 <= a <= 150 for a in attained)
    assert commission_report(actor=analyst, period=Period.parse("2026-12"))
    assert audit_verify()[1] is None
