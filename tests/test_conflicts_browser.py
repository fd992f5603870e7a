"""撞单 in real headless Chromium: an account manager picks a customer another unit works
with on the new-opportunity page and is told so; a group key-account manager (persona
admin) resolves a conflict from the arbitration queue by joint pursuit."""

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
from groupcrm.sales import services as sales_services
from groupcrm.sales.conflicts import services
from groupcrm.sales.conflicts.models import Conflict
from groupcrm.sales.models import RevenueSplit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("default_pipeline"),
]
SYSTEM = Actor.system("tests")


def test_a_group_kam_resolves_a_conflict_by_joint_pursuit(
    page: Page, live_server, personas: Personas, sign_in
) -> None:
    parent = customer_services.customer_create(
        actor=SYSTEM,
        legal_name="华夏重工集团有限公司",
        uscc=make_uscc(random.Random(11)),
        start_relationship=False,
    )
    child = customer_services.customer_create(
        actor=SYSTEM,
        legal_name="上海申达精工有限公司",
        similar_override_reason="subsidiary",
        uscc=make_uscc(random.Random(12)),
        parent_id=parent.pk,
        start_relationship=False,
    )
    close = timezone.localdate() + dt.timedelta(days=40)
    theirs = sales_services.opportunity_create(
        actor=personas.actor("fin_am"),
        customer_id=child.pk,
        bu_id=personas.units["fin"].pk,
        name="设备融资租赁",
        amount="2000000",
        expected_close=close,
    )

    # The account manager picks the parent company: the notice names the other unit.
    sign_in(page, live_server.url, "mfg_am")
    page.goto(f"{live_server.url}/sales/opportunities/new/")
    page.locator("#pick-id_customer_id").press_sequentially("huaxiazhonggong")
    page.locator(f'[data-pick-id="{parent.pk}"]').click()
    notice = page.get_by_test_id("conflict-notice")
    expect(notice).to_contain_text("华夏金融")
    expect(notice).to_contain_text("fin_am")
    expect(notice.locator('[data-action="raise"]')).to_be_visible()

    mine = sales_services.opportunity_create(
        actor=personas.actor("mfg_am"),
        customer_id=parent.pk,
        bu_id=personas.units["mfg"].pk,
        name="智能产线改造",
        amount="1500000",
        expected_close=close,
    )
    conflict = services.conflict_raise(
        actor=personas.actor("mfg_am"),
        customer_id=parent.pk,
        other_bu_id=personas.units["fin"].pk,
        reason="我们先接触了集团采购部",
    )
    page.context.clear_cookies()
    sign_in(page, live_server.url, "admin")
    page.goto(f"{live_server.url}/sales/conflicts/queue/")
    card = page.locator(f'[data-conflict="{conflict.pk}"]')
    expect(card).to_contain_text("华夏重工集团有限公司")
    expect(card).to_contain_text("设备融资租赁")
    card.locator('[data-action="arbitrate"]').click()

    form = page.get_by_test_id("decide")
    form.locator("#id_decision").select_option("joint")
    form.locator("#id_winner_bu_id").select_option(str(personas.units["mfg"].pk))
    form.locator("#id_raised_percent").fill("60")
    form.locator("#id_other_percent").fill("50")
    form.locator("button[type=submit]").click()
    expect(page.locator('[data-field="other_percent"]')).to_be_visible()

    page.get_by_test_id("decide").locator("#id_other_percent").fill("40")
    page.get_by_test_id("decide").locator("button[type=submit]").click()
    expect(page.get_by_test_id("decision")).to_contain_text("60")
    conflict.refresh_from_db()
    assert conflict.status == Conflict.Status.DECIDED and conflict.decision == "joint"
    splits = {s.bu_id: int(s.percent) for s in RevenueSplit.objects.filter(opportunity=mine)}
    assert splits == {personas.units["mfg"].pk: 60, personas.units["fin"].pk: 40}
    theirs.refresh_from_db()
    assert theirs.status == "open"
