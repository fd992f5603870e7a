"""A quote in real headless Chromium: an account manager builds a quote whose discount is
above the unit's threshold and submits it; a manager approves it in the approvals inbox;
the account manager sends it and downloads the PDF."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from groupcrm.core.actor import Actor
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import services as customer_services
from groupcrm.customers.normalize import make_uscc
from groupcrm.sales import services as sales_services
from groupcrm.sales.quotes import services
from groupcrm.sales.quotes.models import Quote

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("default_pipeline"),
]
SYSTEM = Actor.system("tests")


def test_a_discounted_quote_is_approved_sent_and_downloaded(
    page: Page, live_server, personas: Personas, sign_in
) -> None:
    customer = customer_services.customer_create(
        actor=SYSTEM,
        legal_name="华夏精密机械有限公司",
        uscc=make_uscc(random.Random(7)),
        start_relationship=False,
    )
    opportunity = sales_services.opportunity_create(
        actor=personas.actor("mfg_am"),
        customer_id=customer.pk,
        bu_id=personas.units["mfg"].pk,
        name="五轴加工中心采购",
        amount="880000",
        expected_close=timezone.localdate() + dt.timedelta(days=20),
    )
    product = services.product_create(
        actor=personas.actor("admin"),
        bu_id=personas.units["mfg"].pk,
        code="MX-500",
        name="五轴加工中心",
        unit_of_measure="台",
        list_price="420000",
        tax_rate="13",
    )
    base = live_server.url

    sign_in(page, base, "mfg_am")
    page.goto(f"{base}/sales/quotes/new/?opportunity={opportunity.pk}")
    row = page.locator('[data-line="0"]')
    row.get_by_test_id("line-product").select_option(str(product.pk))
    row.get_by_test_id("line-quantity").fill("2")
    row.get_by_test_id("line-discount").fill("20")
    page.get_by_test_id("quote-form").locator("button[type=submit]").click()
    expect(page.get_by_test_id("quote-status")).to_be_visible()
    quote = Quote.objects.get()
    assert quote.max_discount == 20 and quote.status == Quote.Status.DRAFT
    expect(page.get_by_test_id("gross-total")).to_contain_text("759,360.00")
    page.locator("#submit-reason").fill("战略客户首单")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("pending")).to_be_visible()
    expect(page.get_by_test_id("send")).to_have_count(0)

    page.context.clear_cookies()
    sign_in(page, base, "mfg_manager")
    page.goto(f"{base}/approvals/")
    page.get_by_role("link", name=quote.number).first.click()
    decide = page.get_by_test_id("decide")
    decide.locator("textarea[name=comment]").fill("同意，下不为例")
    decide.locator("button[value=approve]").click()
    quote.refresh_from_db()
    assert quote.status == Quote.Status.APPROVED

    page.context.clear_cookies()
    sign_in(page, base, "mfg_am")
    page.goto(f"{base}/sales/quotes/{quote.pk}/")
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("accept")).to_be_visible()
    quote.refresh_from_db()
    assert quote.status == Quote.Status.SENT
    with page.expect_download() as download:
        page.get_by_test_id("download-pdf").click()
    assert download.value.suggested_filename == f"{quote.number}-v1.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
