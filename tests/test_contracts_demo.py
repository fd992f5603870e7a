"""The demo contracts and expenses (contracts.demo): through the services, consistent."""

from __future__ import annotations

import pytest
from django.db.models import F, Sum

from groupcrm.audit.services import audit_verify
from groupcrm.core.events import outbox_drain
from groupcrm.core.models import Notification
from groupcrm.customers.demo import load_customers
from groupcrm.org.demo import build_demo
from groupcrm.sales.contracts.demo import load_contracts
from groupcrm.sales.contracts.models import Contract, Expense, Instalment
from groupcrm.sales.demo import load_pipeline


@pytest.mark.django_db
def test_demo_contracts_have_plans_payments_overdue_and_expenses() -> None:
    build_demo()
    load_customers(count=120)
    load_pipeline(count=80)
    counts = load_contracts()
    contracts = Contract.objects.all()
    assert counts["contracts"] == contracts.count() >= 5
    # Every plan adds up to its contract; nothing is over-collected.
    for contract in contracts:
        assert contract.instalments.aggregate(total=Sum("amount"))["total"] == contract.amount
    assert not Instalment.objects.filter(paid_amount__gt=F("amount")).exists()
    assert contracts.filter(status="active").exists()
    assert counts["payments"] > 0
    overdue = Instalment.objects.filter(status="overdue")
    assert overdue.count() == counts["overdue"] >= 2
    assert counts["reminders"] >= 2
    outbox_drain()
    assert Notification.objects.filter(link__startswith="/sales/contracts/").exists()
    states = set(Expense.objects.values_list("status", flat=True))
    assert states == {"draft", "submitted", "approved", "rejected"}
    assert audit_verify()[1] is None
