"""Contracts in real headless Chromium: an account manager makes a contract from a won
opportunity, sets a two-instalment plan, activates it, records a payment, and the
customer's 360 page shows what is still outstanding."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from groupcrm.core.actor import Actor
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import services as customer_services
from groupcrm.customers.normalize import make_uscc
from groupcrm.sales import services
from groupcrm.sales.contracts.models import Contract
from groupcrm.sales.models import Stage

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("default_pipeline"),
]
SYSTEM = Actor.system("tests")


def test_account_manager_contracts_plans_collects_and_sees_the_outstanding(
    page: Page, live_server, personas: Personas, sign_in
) -> None:
    customer = customer_services.customer_create(
        actor=SYSTEM,
        legal_name="华夏精密机械有限公司",
        uscc=make_uscc(random.Random(7)),
        start_relationship=False,
    )
    am = personas.actor("mfg_am")
    row = services.opportunity_create(
        actor=am,
        customer_id=customer.pk,
        bu_id=personas.units["mfg"].pk,
        name="五轴加工中心",
        amount="300000",
        expected_close=timezone.localdate() + dt.timedelta(days=20),
    )
    won = Stage.objects.get(pipeline=row.pipeline, outcome="won")
    services.opportunity_move(actor=am, pk=row.pk, stage_id=won.pk, version=row.version)
    today = timezone.localdate()

    sign_in(page, live_server.url, "mfg_am")
    page.goto(f"{live_server.url}/sales/contracts/new/?opportunity={row.pk}")
    page.fill("#id_signed_on", today.isoformat())
    page.click("main button.btn-primary[type=submit]")
    expect(page.get_by_test_id("outstanding")).to_contain_text("¥300,000.00")
    contract = Contract.objects.get(opportunity=row)

    page.get_by_test_id("edit-plan").click()
    page.fill("#id_due_on_0", today.isoformat())
    page.fill("#id_amount_0", "100000")
    page.fill("#id_due_on_1", (today + dt.timedelta(days=60)).isoformat())
    page.fill("#id_amount_1", "150000")
    page.click("[data-testid=plan-form] button[type=submit]")
    expect(page.get_by_test_id("plan-error")).to_contain_text("300,000.00")  # 250,000 ≠ 300,000
    page.fill("#id_amount_1", "200000")
    page.click("[data-testid=plan-form] button[type=submit]")
    expect(page.get_by_test_id("instalments").locator("tbody tr")).to_have_count(2)

    page.get_by_test_id("activate").click()
    form = page.get_by_test_id("payment-form")
    expect(form).to_be_visible()
    form.locator("#id_amount").fill("100000")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("outstanding")).to_contain_text("¥200,000.00")
    expect(page.get_by_test_id("payments").locator("tbody tr")).to_have_count(1)

    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    expect(page.get_by_test_id("receivables-outstanding")).to_have_text("¥200,000.00")
    contract.refresh_from_db()
    assert contract.status == "active"
