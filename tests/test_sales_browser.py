"""The sales board in real headless Chromium: an account manager drags a card to the
next stage (the move is saved), then to a stage whose required field is empty (the
translated refusal shows and the card goes back to its column)."""

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
from groupcrm.sales.models import Opportunity, Stage

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("default_pipeline"),
]
SYSTEM = Actor.system("tests")


def test_account_manager_drags_a_card_and_a_refused_move_goes_back(
    page: Page, live_server, personas: Personas, sign_in
) -> None:
    customer = customer_services.customer_create(
        actor=SYSTEM,
        legal_name="华夏精密机械有限公司",
        uscc=make_uscc(random.Random(5)),
        start_relationship=False,
    )
    row = services.opportunity_create(
        actor=personas.actor("mfg_am"),
        customer_id=customer.pk,
        bu_id=personas.units["mfg"].pk,
        name="五轴加工中心",
        amount="880000",
        expected_close=timezone.localdate() + dt.timedelta(days=20),
    )
    stages = {s.name: s.pk for s in Stage.objects.filter(pipeline=row.pipeline)}
    sign_in(page, live_server.url, "mfg_am")
    page.goto(f"{live_server.url}/sales/board/")
    card = page.locator(f"#opportunity-{row.pk}")
    expect(
        page.locator(f'[data-stage="{stages["售前勘察"]}"] #opportunity-{row.pk}')
    ).to_be_visible()

    card.drag_to(page.locator(f'[data-stage="{stages["取得资格"]}"] .sales-column'))
    moved = page.locator(f'[data-stage="{stages["取得资格"]}"] #opportunity-{row.pk}')
    expect(moved).to_have_attribute("data-version", "2")
    row.refresh_from_db()
    assert (row.stage_id, row.version) == (stages["取得资格"], 2)

    moved.drag_to(page.locator(f'[data-stage="{stages["需求分析"]}"] .sales-column'))
    error = page.get_by_test_id("board-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("下一步")
    expect(moved).to_be_visible()
    assert Opportunity.objects.get(pk=row.pk).stage_id == stages["取得资格"]
