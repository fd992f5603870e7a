"""The forecast dashboard in real headless Chromium: a unit manager opens 预测与业绩 and
sees the quota attainment and the ECharts chart drawn (no inline script: CSP)."""

from __future__ import annotations

import random

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from groupcrm.core.actor import Actor
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import services as customer_services
from groupcrm.customers.normalize import make_uscc
from groupcrm.sales import services as sales_services
from groupcrm.sales.forecast import services
from groupcrm.sales.models import Opportunity, Stage

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("default_pipeline"),
]
SYSTEM = Actor.system("tests")


def test_manager_sees_attainment_and_the_chart(
    page: Page, live_server, personas: Personas, sign_in
) -> None:
    customer = customer_services.customer_create(
        actor=SYSTEM,
        legal_name="华夏预测浏览器测试有限公司",
        uscc=make_uscc(random.Random(7)),
        start_relationship=False,
    )
    today = timezone.localdate()
    row = sales_services.opportunity_create(
        actor=personas.actor("mfg_am"),
        customer_id=customer.pk,
        bu_id=personas.units["mfg"].pk,
        name="智能产线",
        amount="300000",
        expected_close=today,
    )
    won = Stage.objects.get(pipeline=row.pipeline, outcome=Stage.Outcome.WON)
    Opportunity.objects.filter(pk=row.pk).update(
        stage=won, status="won", closed_at=timezone.now(), probability=100
    )
    services.quota_set(
        actor=personas.actor("mfg_manager"),
        bu_id=personas.units["mfg"].pk,
        period=today.strftime("%Y-%m"),
        amount="400000",
    )
    services.forecast_refresh(actor=SYSTEM)
    sign_in(page, live_server.url, "mfg_manager")
    page.goto(f"{live_server.url}/sales/forecast/?period={today:%Y-%m}&level=team")
    expect(page.get_by_test_id("total-attainment")).to_have_text("75.0%")
    expect(
        page.locator(f'tr[data-row="{personas.units["mfg"].pk}"] [data-testid=attainment]')
    ).to_contain_text("75.0%")
    chart = page.get_by_test_id("forecast-chart")
    expect(chart).to_have_attribute("data-rendered", "1")
    expect(chart.locator("canvas, svg").first).to_be_attached()
