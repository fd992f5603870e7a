"""Referrals between units (issue "Sales across the group", point 6): both sides see them,
the receiving unit accepts (the item moves, the revenue is split) or declines with a
reason, exactly one of two concurrent decisions wins, and bad input is refused."""

from __future__ import annotations

import datetime as dt
import random
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from groupcrm.core.events import outbox_drain
from groupcrm.core.models import Notification, OutboxEvent
from groupcrm.core.testing.battery import api_client, ui_client
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import services as customer_services
from groupcrm.customers.models import Customer
from groupcrm.customers.normalize import make_uscc
from groupcrm.customers.selectors import view360
from groupcrm.sales import services as sales_services
from groupcrm.sales.leads import referrals, selectors, services
from groupcrm.sales.leads.models import Lead, Referral
from groupcrm.sales.models import Opportunity, Stage

pytestmark = pytest.mark.usefixtures("default_pipeline")
SYSTEM = Actor.system("tests")
BASE = "/api/v1/sales/referrals"
NAMES = iter(f"华夏转介客户{n:04d}有限公司" for n in range(10_000))


def golden() -> Customer:
    return customer_services.customer_create(
        actor=SYSTEM,
        legal_name=next(NAMES),
        uscc=make_uscc(random.Random()),
        start_relationship=False,
        similar_override_reason="test data",
    )


def opportunity(personas: Personas, owner: str = "mfg_am", unit: str = "mfg") -> Opportunity:
    return sales_services.opportunity_create(
        actor=personas.actor(owner),
        customer_id=golden().pk,
        bu_id=personas.units[unit].pk,
        name="融资租赁需求",
        amount="1000000",
        expected_close=timezone.localdate() + dt.timedelta(days=30),
    )


def refer(personas: Personas, item: Any, who: str = "mfg_am", **fields: Any) -> Referral:
    key = "opportunity_id" if isinstance(item, Opportunity) else "lead_id"
    return referrals.referral_create(
        actor=personas.actor(who),
        **{key: item.pk},
        to_bu_id=fields.pop("to_bu_id", personas.units["fin"].pk),
        referrer_percent=fields.pop("referrer_percent", "20"),
        **fields,
    )


def won_stage(row: Opportunity) -> Stage:
    return Stage.objects.get(pipeline=row.pipeline, outcome=Stage.Outcome.WON)


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_referral_to_own_unit_is_refused(personas: Personas) -> None:
    row = opportunity(personas)
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        refer(personas, row, to_bu_id=personas.units["mfg"].pk)
    assert exc.value.code == "own_unit" and "own unit" in exc.value.fields["to_bu_id"][0]
    with pytest.raises(ValidationError) as exc:  # a unit in the same line
        refer(personas, row, to_bu_id=personas.units["mfg-sh"].pk)
    assert exc.value.code == "own_unit"
    assert not Referral.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "percent", ["0", "100", "-5", "120", "abc", "NaN", "Infinity", "20.123", "", None, True]
)
def test_referrer_percent_out_of_range_or_not_a_number_is_refused(
    personas: Personas, percent: Any
) -> None:
    row = opportunity(personas)
    with pytest.raises(ValidationError) as exc:
        refer(personas, row, referrer_percent=percent)
    assert "referrer_percent" in exc.value.fields
    assert not Referral.objects.exists()


@pytest.mark.django_db
def test_percent_not_a_number_through_the_api_is_a_problem_not_a_500(personas: Personas) -> None:
    row = opportunity(personas)
    api, auth = api_client(personas, "mfg_am")
    response = api.post(
        BASE,
        {"opportunity_id": row.pk, "to_bu_id": personas.units["fin"].pk, "referrer_percent": "abc"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
def test_exactly_one_item_and_only_open_ones_and_one_pending_at_a_time(personas: Personas) -> None:
    row = opportunity(personas)
    with pytest.raises(ValidationError):
        referrals.referral_create(
            actor=personas.actor("mfg_am"), to_bu_id=personas.units["fin"].pk, referrer_percent=20
        )
    refer(personas, row)
    with pytest.raises(Conflict) as exc:
        refer(personas, row)
    assert exc.value.code == "referral_pending"
    closed = opportunity(personas)
    sales_services.opportunity_move(
        actor=personas.actor("mfg_am"), pk=closed.pk, stage_id=won_stage(closed).pk, version=1
    )
    with pytest.raises(Conflict) as exc:
        refer(personas, Opportunity.objects.get(pk=closed.pk))
    assert exc.value.code == "not_referable"
    lost = services.lead_create(actor=personas.actor("mfg_am"), company_name="兰州某某有限公司")
    services.lead_set_status(
        actor=personas.actor("mfg_am"), pk=lost.pk, status="disqualified", reason="无需求"
    )
    with pytest.raises(Conflict):
        refer(personas, lost)
    # Someone else's opportunity is out of reach.
    with pytest.raises(NotFound):
        refer(personas, row, who="mfg_am2")


@pytest.mark.django_db
def test_decline_without_reason_is_refused_and_with_one_leaves_the_item_untouched(
    personas: Personas,
) -> None:
    row = opportunity(personas)
    referral = refer(personas, row)
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        referrals.referral_decline(actor=personas.actor("fin_manager"), pk=referral.pk, reason="  ")
    assert "reason" in exc.value.fields
    referral.refresh_from_db()
    assert referral.status == "pending"
    referrals.referral_decline(
        actor=personas.actor("fin_manager"), pk=referral.pk, reason="不做租赁"
    )
    referral.refresh_from_db()
    fresh = Opportunity.objects.get(pk=row.pk)
    assert (referral.status, referral.decline_reason) == ("declined", "不做租赁")
    assert (fresh.bu_id, fresh.owner_id, fresh.version) == (row.bu_id, row.owner_id, row.version)
    assert not fresh.splits.exists()
    outbox_drain()
    assert Notification.objects.filter(user=personas.mfg_am, body="不做租赁").exists()


@pytest.mark.django_db
def test_the_sender_cannot_accept_and_the_receiver_cannot_withdraw(personas: Personas) -> None:
    referral = refer(personas, opportunity(personas))
    with pytest.raises(PermissionDenied):
        referrals.referral_accept(actor=personas.actor("mfg_am"), pk=referral.pk)
    with pytest.raises(PermissionDenied):
        referrals.referral_withdraw(actor=personas.actor("fin_manager"), pk=referral.pk)
    assert (
        referrals.referral_withdraw(actor=personas.actor("mfg_am"), pk=referral.pk).status
        == "withdrawn"
    )
    with pytest.raises(Conflict):
        referrals.referral_accept(actor=personas.actor("fin_manager"), pk=referral.pk)


# --- accept -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_accepting_an_opportunity_moves_it_and_splits_the_revenue(personas: Personas) -> None:
    row = opportunity(personas)
    referral = refer(personas, row, note="客户有融资租赁需求")
    outbox_drain()
    assert Notification.objects.filter(user=personas.fin_manager).exists()
    accepted = referrals.referral_accept(
        actor=personas.actor("fin_manager"), pk=referral.pk, owner_id=personas.fin_am.pk, version=1
    )
    assert (accepted.status, accepted.to_user_id) == ("accepted", personas.fin_am.pk)
    fresh = Opportunity.objects.get(pk=row.pk)
    assert (fresh.bu_id, fresh.owner_id, fresh.version) == (
        personas.units["fin"].pk,
        personas.fin_am.pk,
        2,
    )
    splits = {(s.bu_id, s.user_id, s.percent, s.source) for s in fresh.splits.all()}
    assert splits == {
        (personas.units["mfg"].pk, personas.mfg_am.pk, Decimal("20.00"), "referral"),
        (personas.units["fin"].pk, personas.fin_am.pk, Decimal("80.00"), "referral"),
    }
    assert OutboxEvent.objects.filter(name="sales.referral_accepted").count() == 1
    outbox_drain()
    assert (
        Notification.objects.filter(user=personas.mfg_am, link__contains=str(referral.pk)).count()
        == 1
    )
    # Won: the referral page shows what each side is credited.
    sales_services.opportunity_move(
        actor=personas.actor("fin_am"), pk=row.pk, stage_id=won_stage(row).pk, version=2
    )
    credited = {c.bu_name: c.amount for c in selectors.credits(accepted)}
    assert credited == {"华夏制造": Decimal("200000.00"), "华夏金融": Decimal("800000.00")}
    page = ui_client(personas, "mfg_am").get(reverse("leads:referral_detail", args=[referral.pk]))
    assert b'data-testid="credits"' in page.content and b"200,000.00" in page.content


@pytest.mark.django_db
def test_a_stale_opportunity_version_refuses_the_acceptance_whole(personas: Personas) -> None:
    row = opportunity(personas)
    referral = refer(personas, row)
    sales_services.opportunity_update(
        actor=personas.actor("mfg_am"), pk=row.pk, version=1, name="改名"
    )
    with pytest.raises(Conflict) as exc:
        referrals.referral_accept(actor=personas.actor("fin_manager"), pk=referral.pk, version=1)
    assert exc.value.code == "stale"
    referral.refresh_from_db()
    assert referral.status == "pending"
    assert Opportunity.objects.get(pk=row.pk).bu_id == personas.units["mfg"].pk


@pytest.mark.django_db
def test_a_referred_lead_moves_and_its_opportunity_gets_the_split_when_converted(
    personas: Personas,
) -> None:
    lead = services.lead_create(
        actor=personas.actor("mfg_am"),
        company_name="重庆长安汽车金融有限公司",
        uscc=make_uscc(random.Random(21)),
    )
    referral = refer(personas, lead, referrer_percent="15.5")
    referrals.referral_accept(actor=personas.actor("fin_am"), pk=referral.pk)
    lead.refresh_from_db()
    assert (lead.bu_id, lead.owner_id) == (personas.units["fin"].pk, personas.fin_am.pk)
    converted = services.lead_convert(
        actor=personas.actor("fin_am"),
        pk=lead.pk,
        create_opportunity=True,
        amount="400000",
        expected_close=timezone.localdate() + dt.timedelta(days=10),
    )
    splits = {(s.bu_id, s.percent) for s in converted.converted_opportunity.splits.all()}
    assert splits == {
        (personas.units["mfg"].pk, Decimal("15.50")),
        (personas.units["fin"].pk, Decimal("84.50")),
    }
    referral.refresh_from_db()
    assert referral.customer_id == converted.converted_customer_id


@pytest.mark.django_db
def test_an_own_scope_receiver_accepts_only_for_themselves(personas: Personas) -> None:
    referral = refer(personas, opportunity(personas))
    with pytest.raises(ValidationError):
        referrals.referral_accept(
            actor=personas.actor("fin_am"), pk=referral.pk, owner_id=personas.fin_manager.pk
        )


@pytest.mark.django_db
def test_double_accept_in_sequence_gives_the_second_a_409(personas: Personas) -> None:
    referral = refer(personas, opportunity(personas))
    referrals.referral_accept(actor=personas.actor("fin_manager"), pk=referral.pk)
    with pytest.raises(Conflict) as exc:
        referrals.referral_accept(actor=personas.actor("fin_manager"), pk=referral.pk)
    assert exc.value.code == "referral_decided"
    api, auth = api_client(personas, "fin_manager")
    response = api.post(f"{BASE}/{referral.pk}/accept", {}, content_type="application/json", **auth)
    assert response.status_code == 409 and response.json()["code"] == "referral_decided"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_double_accept_race_exactly_one_wins(personas: Personas) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass")
    row = opportunity(personas)
    referral = refer(personas, row)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def accept(who: str) -> None:
        barrier.wait()
        try:
            referrals.referral_accept(
                actor=personas.actor(who), pk=referral.pk, owner_id=personas.fin_am.pk
            )
            results.append("accepted")
        except Conflict as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(w,)) for w in ("fin_manager", "admin")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["accepted", "referral_decided"]
    fresh = Opportunity.objects.get(pk=row.pk)
    assert fresh.version == 2 and fresh.splits.count() == 2


# --- visibility: both sides, nobody else --------------------------------------------------


@pytest.mark.django_db
def test_both_sides_see_the_referral_and_other_units_do_not(personas: Personas) -> None:
    referral = refer(personas, opportunity(personas))

    def ids(who: str, direction: str = "") -> set[int]:
        api, auth = api_client(personas, who)
        response = api.get(f"{BASE}?direction={direction}", **auth)
        assert response.status_code == 200, response.content
        return {item["id"] for item in response.json()["items"]}

    assert referral.pk in ids("mfg_am", "outgoing") and referral.pk not in ids("mfg_am", "incoming")
    assert referral.pk in ids("fin_am", "incoming") and referral.pk not in ids("fin_am", "outgoing")
    assert referral.pk in ids("fin_manager") and referral.pk in ids("mfg_manager")
    assert referral.pk not in ids("mfg_am2") and referral.pk not in ids("sh_am")
    for who in ("mfg_am2", "sh_am", "nobody"):
        api, auth = api_client(personas, who)
        assert api.get(f"{BASE}/{referral.pk}", **auth).status_code == 404
        assert (
            ui_client(personas, who)
            .get(reverse("leads:referral_detail", args=[referral.pk]))
            .status_code
            == 404
        )
        response = api.post(
            f"{BASE}/{referral.pk}/accept", {}, content_type="application/json", **auth
        )
        assert response.status_code in (403, 404)
    referral.refresh_from_db()
    assert referral.status == "pending"
    # Addressed to someone else in fin: an own-scope colleague no longer sees it.
    other = refer(personas, opportunity(personas), to_user_id=personas.fin_manager.pk)
    assert other.pk not in ids("fin_am") and other.pk in ids("fin_manager")


@pytest.mark.django_db
def test_api_create_get_accept_decline_withdraw(personas: Personas) -> None:
    row = opportunity(personas)
    api, auth = api_client(personas, "mfg_am")
    response = api.post(
        BASE,
        {"opportunity_id": row.pk, "to_bu_id": personas.units["fin"].pk, "referrer_percent": 25},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["referrer_percent"], body["customer_id"]) == (
        "pending",
        "25.00",
        row.customer_id,
    )
    fin, fin_auth = api_client(personas, "fin_manager")
    response = fin.post(
        f"{BASE}/{body['id']}/decline", {"reason": ""}, content_type="application/json", **fin_auth
    )
    assert response.status_code == 422
    response = fin.post(
        f"{BASE}/{body['id']}/accept",
        {"owner_id": personas.fin_am.pk},
        content_type="application/json",
        **fin_auth,
    )
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert api.post(f"{BASE}/{body['id']}/withdraw", **auth).status_code == 409


@pytest.mark.django_db
def test_pages_create_list_and_decide(personas: Personas) -> None:
    row = opportunity(personas)
    client = ui_client(personas, "mfg_am")
    page = client.get(
        reverse("leads:referral_create") + f"?opportunity={row.pk}&to_bu={personas.units['fin'].pk}"
    )
    assert page.status_code == 200 and row.name.encode() in page.content
    response = client.post(
        reverse("leads:referral_create") + f"?opportunity={row.pk}",
        {
            "item": f"opportunity:{row.pk}",
            "to_bu_id": personas.units["fin"].pk,
            "referrer_percent": "30",
        },
    )
    assert response.status_code == 302, response.content
    referral = Referral.objects.get(opportunity=row)
    with translation.override("en"):
        bad = client.post(
            reverse("leads:referral_create"),
            {
                "item": f"opportunity:{row.pk}",
                "to_bu_id": personas.units["mfg"].pk,
                "referrer_percent": "x",
            },
        )
    assert bad.status_code == 200 and b"referrer" in bad.content.lower()
    inbox = ui_client(personas, "fin_manager").get(reverse("leads:referrals") + "?tab=incoming")
    assert f'data-referral="{referral.pk}"'.encode() in inbox.content
    outgoing = client.get(reverse("leads:referrals") + "?tab=outgoing")
    assert f'data-referral="{referral.pk}"'.encode() in outgoing.content
    fin = ui_client(personas, "fin_manager")
    detail = fin.get(reverse("leads:referral_detail", args=[referral.pk]))
    assert b'data-testid="accept"' in detail.content
    response = fin.post(
        reverse("leads:referral_accept", args=[referral.pk]),
        {"owner_id": personas.fin_am.pk, "version": 1},
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "accepted"


@pytest.mark.django_db
def test_the_360_page_shows_referrals_in_both_directions(personas: Personas) -> None:
    row = opportunity(personas)
    refer(personas, row)
    data = view360(actor=personas.actor("fin_am"), pk=row.customer_id)
    panel = next(p for p in data["panels"] if p["code"] == "referrals")
    assert panel["context"]["count"] == 1 and panel["context"]["rows"][0][1] is True
    page = ui_client(personas, "mfg_am").get(reverse("customers:detail", args=[row.customer_id]))
    assert b'data-testid="referrals-panel"' in page.content
    assert Lead.objects.count() == 0


@pytest.mark.django_db
def test_a_lead_with_a_pending_referral_is_not_converted(personas: Personas) -> None:
    lead = services.lead_create(actor=personas.actor("mfg_am"), company_name="太原重工有限公司")
    refer(personas, lead)
    with pytest.raises(Conflict) as exc:
        services.lead_convert(actor=personas.actor("mfg_am"), pk=lead.pk)
    assert exc.value.code == "referral_pending"
    lead.refresh_from_db()
    assert lead.status == "new"
