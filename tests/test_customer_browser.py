"""The customer master's main flow in real headless Chromium (Debian's /usr/bin/chromium):
an account manager of one unit finds a customer by 拼音 initials, opens its 360° view,
sees its subsidiaries and the other units engaged, logs a visit, claims a customer from
the pool, is refused a duplicate credit code with a helpful message, and never sees
another unit's private notes or unmasked phone numbers."""

from __future__ import annotations

import random

import pytest
from playwright.sync_api import Page, expect

from groupcrm.core.actor import Actor
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import services
from groupcrm.customers.models import CustomerRelationship, FollowUp
from groupcrm.customers.normalize import make_uscc

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SYSTEM = Actor.system("tests")


def test_account_manager_works_a_customer_end_to_end(
    page: Page, live_server, personas: Personas, sign_in
) -> None:
    code = make_uscc(random.Random(3))
    parent = services.customer_create(
        actor=SYSTEM, legal_name="华夏制造有限公司", uscc=code, start_relationship=False
    )
    services.customer_create(
        actor=SYSTEM,
        legal_name="华夏制造（苏州）精工有限公司",
        parent_id=parent.pk,
        start_relationship=False,
        similar_override_reason="子公司",
    )
    mine = services.relationship_start(
        actor=SYSTEM,
        customer_id=parent.pk,
        bu_id=personas.units["mfg"].pk,
        owner_id=personas.mfg_am.pk,
    )
    theirs = services.relationship_start(
        actor=SYSTEM,
        customer_id=parent.pk,
        bu_id=personas.units["fin"].pk,
        owner_id=personas.fin_am.pk,
    )
    services.relationship_update(actor=SYSTEM, pk=theirs.pk, notes="授信额度保密备注")
    services.contact_create(
        actor=SYSTEM, customer_id=parent.pk, name="张伟", role="decision", mobile="13800138000"
    )
    pooled = services.customer_create(
        actor=SYSTEM, legal_name="东方物流有限公司", start_relationship=False
    )
    in_pool = services.relationship_start(
        actor=SYSTEM, customer_id=pooled.pk, bu_id=personas.units["mfg"].pk
    )

    base = live_server.url
    sign_in(page, base, "mfg_am")
    page.goto(f"{base}/customers/")
    page.fill("input[name=q]", "hxzz")  # htmx search as you type
    expect(page.locator("#customer-rows")).to_contain_text("华夏制造有限公司")
    expect(page.locator("#customer-rows")).not_to_contain_text("东方物流")
    page.locator("#customer-rows").get_by_role("link", name="华夏制造有限公司").click()

    expect(page.locator("h1")).to_contain_text("华夏制造有限公司")
    expect(page.get_by_role("link", name="华夏制造（苏州）精工有限公司")).to_be_visible()
    expect(page.locator("#relationships")).to_contain_text("华夏金融")
    expect(page.locator("#relationships")).to_contain_text("fin_am")
    expect(page.locator("#contacts")).to_contain_text("138****8000")
    content = page.content()
    assert "13800138000" not in content and "授信额度保密备注" not in content

    page.get_by_test_id("log-followup").click()
    page.select_option("#followup-entry select[name=kind]", "visit")
    page.fill("#followup-entry textarea[name=content]", "上门拜访采购部，确认二季度需求")
    page.fill("#followup-entry input[name=location]", "苏州工业园区星湖街328号")
    page.get_by_test_id("save-followup").click()
    expect(page.locator("#timeline")).to_contain_text("上门拜访采购部")
    assert FollowUp.objects.filter(customer=parent, owner=personas.mfg_am, kind="visit").exists()
    mine.refresh_from_db()
    assert mine.last_followup_at is not None

    page.goto(f"{base}/customers/pool/")
    page.locator(f"tr[data-relationship='{in_pool.pk}']").get_by_test_id("claim").click()
    expect(page.locator("h1")).to_contain_text("东方物流有限公司")
    assert CustomerRelationship.objects.get(pk=in_pool.pk).owner_id == personas.mfg_am.pk

    page.goto(f"{base}/customers/new/")
    page.fill("#id_legal_name", "华夏精造股份有限公司")
    page.fill("#id_uscc", code)
    page.click("main button.btn-primary[type=submit]")
    alert = page.locator(f"[data-existing='{parent.pk}']")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("华夏制造有限公司")
    expect(alert).to_contain_text("华夏金融")
    alert.get_by_role("link").first.click()
    expect(page.locator("h1")).to_contain_text("华夏制造有限公司")
