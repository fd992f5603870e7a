"""The sales issue's "done when", end to end in real headless Chromium and through the API.

A new 华夏制造 account manager converts a lead whose company turns out to be a subsidiary
of a customer 华夏金融 is already working. The conversion page says so; the account
manager refers the lead to 华夏金融 from that notice. 华夏金融 accepts, converts and wins
it; the revenue split credits both units, and the forecast shows it against the quotas.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from groupcrm.core.actor import Actor
from groupcrm.core.testing.battery import api_client
from groupcrm.core.testing.personas import PASSWORD, Personas
from groupcrm.customers import services as customer_services
from groupcrm.customers.normalize import make_uscc
from groupcrm.org.services import user_create
from groupcrm.sales import services as sales_services
from groupcrm.sales.forecast import services as forecast_services
from groupcrm.sales.leads import services as lead_services
from groupcrm.sales.leads.models import Lead, Referral
from groupcrm.sales.models import Opportunity, Stage

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("default_pipeline"),
]
SYSTEM = Actor.system("tests")


def test_a_new_account_manager_refers_a_lead_of_an_engaged_group_and_both_units_are_credited(
    page: Page, live_server, personas: Personas
) -> None:
    rng = random.Random(77)
    mfg, fin = personas.units["mfg"], personas.units["fin"]
    # 华夏金融 works the parent company: an open opportunity of its account manager.
    parent = customer_services.customer_create(
        actor=SYSTEM,
        legal_name="远航控股集团有限公司",
        uscc=make_uscc(rng),
        start_relationship=False,
    )
    child_uscc = make_uscc(rng)
    child = customer_services.customer_create(
        actor=SYSTEM,
        legal_name="远航精密制造有限公司",
        uscc=child_uscc,
        parent_id=parent.pk,
        start_relationship=False,
    )
    sales_services.opportunity_create(
        actor=personas.actor("fin_am"),
        customer_id=parent.pk,
        bu_id=fin.pk,
        name="集团现金管理平台",
        amount="3000000",
        expected_close=timezone.localdate() + dt.timedelta(days=60),
    )
    # A new user: an account manager of 华夏制造, with a lead on the subsidiary.
    newcomer = user_create(
        actor=SYSTEM,
        username="xinren",
        password=PASSWORD,
        bu_id=mfg.pk,
        role_id=personas.roles["am"].pk,
        display_name="新人",
        email="xinren@example.com",
    )
    lead = lead_services.lead_create(
        actor=Actor(newcomer),
        company_name="远航精密",
        uscc=child_uscc,
        contact_name="周工",
        phone="13912345678",
    )

    # The newcomer opens the conversion: the customer is found, and 华夏金融 is engaged.
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "xinren")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/sales/leads/{lead.pk}/")
    page.get_by_test_id("convert").click()
    expect(page.get_by_test_id("uscc-match")).to_contain_text(child.legal_name)
    notice = page.get_by_test_id("conflict-notice")
    expect(notice.locator(f'[data-engaged-unit="{fin.pk}"]')).to_contain_text("华夏金融")
    # It is told which unit, and refers the lead to it from the notice.
    notice.locator(f'[data-engaged-unit="{fin.pk}"] [data-action="refer"]').click()
    expect(page.locator("#id_to_bu_id")).to_have_value(str(fin.pk))
    page.fill("#id_referrer_percent", "20")
    page.fill("#id_note", "客户集团已由金融跟进，转介金融统一对接")
    page.click("main button.btn-primary[type=submit]")
    expect(page.get_by_test_id("referral-status")).to_be_visible()
    referral = Referral.objects.get(lead=lead)
    assert (referral.from_bu_id, referral.to_bu_id, referral.status) == (
        mfg.pk,
        fin.pk,
        Referral.Status.PENDING,
    )

    # 华夏金融 accepts, converts and wins it, through the API.
    api, manager = api_client(personas, "fin_manager")
    response = api.post(
        f"/api/v1/sales/referrals/{referral.pk}/accept",
        {"owner_id": personas.fin_am.pk},
        content_type="application/json",
        **manager,
    )
    assert response.status_code == 200, response.content
    api, rep = api_client(personas, "fin_am")
    response = api.post(
        f"/api/v1/sales/leads/{lead.pk}/convert",
        {
            "create_opportunity": True,
            "opportunity_name": "远航精密设备融资租赁",
            "amount": "1000000",
            "expected_close": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
        },
        content_type="application/json",
        **rep,
    )
    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert (lead.status, lead.converted_customer_id) == (Lead.Status.CONVERTED, child.pk)
    won = Opportunity.objects.get(pk=lead.converted_opportunity_id)
    assert (won.bu_id, won.owner_id) == (fin.pk, personas.fin_am.pk)
    won_stage = Stage.objects.get(pipeline=won.pipeline, outcome=Stage.Outcome.WON)
    response = api.post(
        f"/api/v1/sales/opportunities/{won.pk}/move",
        {"stage_id": won_stage.pk, "version": won.version},
        content_type="application/json",
        **rep,
    )
    assert response.status_code == 200, response.content
    splits = {(s.bu_id, s.amount_of(won.amount)) for s in won.splits.all()}
    assert splits == {(mfg.pk, Decimal("200000.00")), (fin.pk, Decimal("800000.00"))}

    # The forecast credits both units, against their quotas, on the page and in the API.
    month = timezone.localdate().replace(day=1)
    admin = personas.actor("admin")
    for unit, amount in ((mfg, "400000"), (fin, "1600000")):
        forecast_services.quota_set(actor=admin, bu_id=unit.pk, period=month, amount=amount)
    forecast_services.forecast_refresh(actor=admin)
    api, group = api_client(personas, "admin")
    period = month.strftime("%Y-%m")
    body = api.get(f"/api/v1/sales/forecast?period={period}&level=bu", **group).json()
    rows = {row["key"]: row for row in body["rows"]}
    assert Decimal(rows[mfg.pk]["won"]) == Decimal("200000")
    assert Decimal(rows[fin.pk]["won"]) == Decimal("800000")
    assert Decimal(rows[mfg.pk]["attainment"]) == Decimal("50")

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/sales/forecast/?period={period}&level=bu")
    table = page.get_by_test_id("forecast-table")
    expect(table).to_contain_text("华夏制造")
    expect(table).to_contain_text("华夏金融")
    expect(table).to_contain_text("50")
    expect(page.get_by_test_id("forecast-chart").locator("canvas")).to_have_count(1)
