"""Leads and referrals in real headless Chromium: a 华夏制造 account manager converts a lead
whose USCC belongs to an existing customer (it links, no copy), refers the resulting
opportunity to 华夏金融, and fin's manager accepts it for one of fin's account managers."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from groupcrm.core.actor import Actor
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import services as customer_services
from groupcrm.customers.models import Customer
from groupcrm.customers.normalize import make_uscc
from groupcrm.sales.leads import services
from groupcrm.sales.leads.models import Lead, Referral
from groupcrm.sales.models import Opportunity

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("default_pipeline"),
]
SYSTEM = Actor.system("tests")


def test_convert_a_lead_to_the_existing_customer_refer_it_and_fin_accepts(
    page: Page, live_server, personas: Personas, sign_in
) -> None:
    code = make_uscc(random.Random(42))
    existing = customer_services.customer_create(
        actor=SYSTEM, legal_name="常州恒立液压股份有限公司", uscc=code, start_relationship=False
    )
    lead = services.lead_create(
        actor=personas.actor("mfg_am"),
        company_name="恒立液压",
        uscc=code,
        contact_name="钱经理",
        phone="13861234567",
    )
    customers = Customer.objects.count()

    sign_in(page, live_server.url, "mfg_am")
    page.goto(f"{live_server.url}/sales/leads/{lead.pk}/")
    page.get_by_test_id("convert").click()
    expect(page.get_by_test_id("uscc-match")).to_contain_text(existing.legal_name)
    page.check("#id_create_opportunity")
    page.fill("#id_opportunity_name", "液压产线融资")
    page.fill("#id_amount", "2000000")
    page.fill("#id_expected_close", (timezone.localdate() + dt.timedelta(days=40)).isoformat())
    page.get_by_test_id("convert-submit").click()
    page.wait_for_url("**/sales/opportunities/*/")
    lead.refresh_from_db()
    assert (lead.status, lead.converted_customer_id) == (Lead.Status.CONVERTED, existing.pk)
    assert Customer.objects.count() == customers
    opportunity = Opportunity.objects.get(pk=lead.converted_opportunity_id)

    fin = personas.units["fin"].pk
    page.goto(
        f"{live_server.url}/sales/leads/referrals/new/?opportunity={opportunity.pk}&to_bu={fin}"
    )
    expect(page.locator("#id_to_bu_id")).to_have_value(str(fin))
    page.fill("#id_referrer_percent", "20")
    page.fill("#id_note", "客户需要设备融资租赁")
    page.click("main button.btn-primary[type=submit]")
    expect(page.get_by_test_id("referral-status")).to_be_visible()
    referral = Referral.objects.get(opportunity=opportunity)
    assert referral.status == Referral.Status.PENDING

    page.context.clear_cookies()
    sign_in(page, live_server.url, "fin_manager")
    page.goto(f"{live_server.url}/sales/leads/referrals/?tab=incoming")
    page.locator(f'[data-referral="{referral.pk}"] a').first.click()
    page.select_option("#id_owner_id", str(personas.fin_am.pk))
    page.get_by_test_id("accept").click()
    expect(page.get_by_test_id("accept")).to_have_count(0)
    referral.refresh_from_db()
    opportunity.refresh_from_db()
    assert referral.status == Referral.Status.ACCEPTED
    assert (opportunity.bu_id, opportunity.owner_id) == (fin, personas.fin_am.pk)
    assert {s.percent for s in opportunity.splits.all()} == {20, 80}
