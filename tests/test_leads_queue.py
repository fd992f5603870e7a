"""The lead queue (待分配线索): the unowned open leads of one's own units, and claiming one
with a conditional update so that of two claimers exactly one wins."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from playwright.sync_api import Page, expect

from groupcrm.audit.models import ChangeRecord
from groupcrm.core.errors import Conflict, NotFound, PermissionDenied
from groupcrm.core.models import OutboxEvent
from groupcrm.core.testing.battery import api_client, ui_client
from groupcrm.core.testing.personas import Personas
from groupcrm.sales.leads import selectors, services
from groupcrm.sales.leads.models import Lead

pytestmark = pytest.mark.usefixtures("default_pipeline")
BASE = "/api/v1/sales/leads"


def unowned(personas: Personas, unit: str = "mfg", name: str = "苏州远景智造科技有限公司") -> Lead:
    """A lead in ``unit``'s queue: captured by a manager, no assignment rule."""
    who = "fin_manager" if unit == "fin" else "mfg_manager"
    row = services.lead_create(
        actor=personas.actor(who),
        bu_id=personas.units[unit].pk,
        company_name=name,
        phone="13812345678",
        email="zhang.san@example.com",
    )
    assert row.owner_id is None
    return row


def ids(response: Any) -> set[int]:
    return {item["id"] for item in response.json()["items"]}


@pytest.mark.django_db
def test_the_queue_holds_the_open_unowned_leads_of_ones_own_units(personas: Personas) -> None:
    waiting = unowned(personas)
    unowned(personas, "fin", "福州闽江物流有限公司")
    unowned(personas, "mfg-sh", "上海浦江精密机械有限公司")
    closed = unowned(personas, name="无锡太湖电子有限公司")
    services.lead_set_status(
        actor=personas.actor("mfg_manager"), pk=closed.pk, status="disqualified", reason="重复"
    )
    services.lead_create(
        actor=personas.actor("mfg_am2"), bu_id=personas.units["mfg"].pk, company_name="已有负责人"
    )
    am = personas.actor("mfg_am")
    # Own-records scope: the lead list does not show the queue, the queue does.
    assert not selectors.lead_list(actor=am).filter(pk=waiting.pk).exists()
    assert list(selectors.lead_queue(actor=am)) == [waiting]
    assert [r.company_name for r in selectors.lead_queue(actor=personas.actor("fin_am"))] == [
        "福州闽江物流有限公司"
    ]
    # Only one's own units: sh_am's queue is mfg-sh's, not mfg's above it.
    assert [r.company_name for r in selectors.lead_queue(actor=personas.actor("sh_am"))] == [
        "上海浦江精密机械有限公司"
    ]
    with pytest.raises(PermissionDenied):
        selectors.lead_queue(actor=personas.actor("nobody"))

    api, auth = api_client(personas, "mfg_am")
    response = api.get(f"{BASE}/queue", **auth)
    assert response.status_code == 200 and ids(response) == {waiting.pk}
    [item] = response.json()["items"]
    assert item["phone"] == "138****5678" and "zhang.san" not in item["email"]
    assert ids(api.get(f"{BASE}/queue?q=不存在", **auth)) == set()

    page = ui_client(personas, "mfg_am").get(reverse("leads:queue")).content.decode()
    assert "苏州远景智造科技有限公司" in page and "138****5678" in page
    assert "13812345678" not in page and "福州闽江物流" not in page
    assert 'data-testid="claim"' in page
    lead_list = ui_client(personas, "mfg_am").get(reverse("leads:list")).content.decode()
    assert 'data-testid="lead-queue-link"' in lead_list
    assert ui_client(personas, "nobody").get(reverse("leads:queue")).status_code == 403


@pytest.mark.django_db
def test_claiming_makes_the_lead_ones_own_audits_and_publishes(personas: Personas) -> None:
    row = unowned(personas)
    api, auth = api_client(personas, "mfg_am")
    response = api.post(f"{BASE}/{row.pk}/claim", **auth)
    assert response.status_code == 200
    assert response.json()["owner_id"] == personas.mfg_am.pk
    row.refresh_from_db()
    assert row.owner_id == personas.mfg_am.pk
    record = ChangeRecord.objects.get(
        object_type="leads.lead", object_id=str(row.pk), verb="claimed"
    )
    assert "owner" in record.changes
    [event] = OutboxEvent.objects.filter(name="sales.lead_assigned")
    assert event.payload["owner_id"] == personas.mfg_am.pk and event.payload["claimed"] is True
    # Now the lead is in mfg_am's own list and out of the queue.
    assert selectors.lead_list(actor=personas.actor("mfg_am")).filter(pk=row.pk).exists()
    assert not selectors.lead_queue(actor=personas.actor("mfg_am2")).exists()
    # The colleague comes second: 409, nothing changes.
    other, other_auth = api_client(personas, "mfg_am2")
    response = other.post(f"{BASE}/{row.pk}/claim", **other_auth)
    assert response.status_code == 409 and response.json()["code"] == "already_claimed"
    row.refresh_from_db()
    assert row.owner_id == personas.mfg_am.pk
    assert OutboxEvent.objects.filter(name="sales.lead_assigned").count() == 1


@pytest.mark.django_db
def test_a_lead_outside_ones_units_or_closed_cannot_be_claimed(personas: Personas) -> None:
    mfg = unowned(personas)
    fin = unowned(personas, "fin", "福州闽江物流有限公司")
    # A fin person never claims an mfg lead (404: its existence does not leak)…
    with pytest.raises(NotFound):
        services.lead_claim(actor=personas.actor("fin_am"), pk=mfg.pk)
    api, auth = api_client(personas, "fin_am")
    assert api.post(f"{BASE}/{mfg.pk}/claim", **auth).status_code == 404
    # …nor does someone of a unit below it.
    with pytest.raises(NotFound):
        services.lead_claim(actor=personas.actor("sh_am"), pk=mfg.pk)
    with pytest.raises(PermissionDenied):
        services.lead_claim(actor=personas.actor("nobody"), pk=mfg.pk)
    services.lead_set_status(
        actor=personas.actor("fin_manager"), pk=fin.pk, status="disqualified", reason="无预算"
    )
    with pytest.raises(Conflict) as exc:
        services.lead_claim(actor=personas.actor("fin_am"), pk=fin.pk)
    assert exc.value.code == "not_open"
    mfg.refresh_from_db()
    fin.refresh_from_db()
    assert (mfg.owner_id, fin.owner_id) == (None, None)
    assert not OutboxEvent.objects.filter(name="sales.lead_assigned").exists()


@pytest.mark.django_db
def test_the_claim_button_takes_the_lead_or_says_who_was_faster(personas: Personas) -> None:
    row = unowned(personas)
    client = ui_client(personas, "mfg_am")
    response = client.post(reverse("leads:claim", args=[row.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:detail", args=[row.pk])
    late = ui_client(personas, "mfg_am2")
    response = late.post(reverse("leads:claim", args=[row.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("leads:queue")
    assert any(m.level_tag == "error" for m in response.context["messages"])
    assert late.get(reverse("leads:claim", args=[row.pk])).status_code == 405
    row.refresh_from_db()
    assert row.owner_id == personas.mfg_am.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_of_two_simultaneous_claims_exactly_one_wins(personas: Personas) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass")
    row = unowned(personas)
    barrier = threading.Barrier(2)
    won: list[str] = []
    lost: list[str] = []

    def claim(who: str) -> None:
        barrier.wait()
        try:
            services.lead_claim(actor=personas.actor(who), pk=row.pk)
            won.append(who)
        except Conflict as exc:
            assert exc.code == "already_claimed"
            lost.append(who)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(who,)) for who in ("mfg_am", "mfg_am2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(lost) == 1
    row.refresh_from_db()
    assert row.owner_id == personas.users[won[0]].pk
    assert OutboxEvent.objects.filter(name="sales.lead_assigned").count() == 1
    assert ChangeRecord.objects.filter(object_id=str(row.pk), verb="claimed").count() == 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_account_manager_claims_from_the_queue_in_chromium(
    page: Page, live_server: Any, personas: Personas, sign_in: Any
) -> None:
    row = unowned(personas)
    sign_in(page, live_server.url, "mfg_am")
    page.goto(f"{live_server.url}/sales/leads/")
    expect(page.locator(f'tr[data-lead="{row.pk}"]')).to_have_count(0)
    page.get_by_test_id("lead-queue-link").click()
    queued = page.locator(f'tr[data-lead="{row.pk}"]')
    expect(queued).to_contain_text("138****5678")
    queued.get_by_test_id("claim").click()
    page.wait_for_url(f"**/sales/leads/{row.pk}/")
    row.refresh_from_db()
    assert row.owner_id == personas.mfg_am.pk
    page.goto(f"{live_server.url}/sales/leads/queue/")
    expect(page.get_by_test_id("empty")).to_be_visible()
