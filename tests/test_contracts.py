"""Contracts from won opportunities, payment plans, payments, overdue detection and
reminders, receivables on the 360 view, and the API (issue "Sales across the group",
point 5) — through the services, the pages and the API."""

from __future__ import annotations

import datetime as dt
import random
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, ValidationError
from groupcrm.core.events import outbox_drain
from groupcrm.core.models import Notification, OutboxEvent
from groupcrm.core.testing.battery import ScopedBattery, ui_client
from groupcrm.core.testing.battery import api_client as api
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import services as customer_services
from groupcrm.customers.models import Customer
from groupcrm.customers.normalize import make_uscc
from groupcrm.customers.selectors import panels
from groupcrm.sales import services as sales
from groupcrm.sales.contracts import selectors, services
from groupcrm.sales.contracts.models import Contract, Payment
from groupcrm.sales.models import Opportunity, Stage

pytestmark = pytest.mark.usefixtures("default_pipeline")
SYSTEM = Actor.system("tests")
BASE = "/api/v1/sales/contracts"
NAMES = iter(f"华夏合同客户{n:04d}有限公司" for n in range(10_000))
TODAY = timezone.localdate


def golden(parent: Customer | None = None) -> Customer:
    return customer_services.customer_create(
        actor=SYSTEM,
        legal_name=next(NAMES),
        uscc=make_uscc(random.Random()),
        parent_id=parent.pk if parent else None,
        start_relationship=False,
        similar_override_reason="test data",
    )


def won(
    personas: Personas,
    unit: str = "mfg",
    owner: str = "mfg_am",
    amount: str = "300000",
    customer: Customer | None = None,
) -> Opportunity:
    row = sales.opportunity_create(
        actor=personas.actor(owner),
        customer_id=(customer or golden()).pk,
        bu_id=personas.units[unit].pk,
        name="智能产线改造",
        amount=amount,
        expected_close=TODAY() + dt.timedelta(days=30),
    )
    stage = Stage.objects.get(pipeline__bu__isnull=True, name="赢单")
    return sales.opportunity_move(
        actor=personas.actor(owner), pk=row.pk, stage_id=stage.pk, version=row.version
    )


def contract(
    personas: Personas,
    unit: str = "mfg",
    owner: str = "mfg_am",
    *,
    plan: list[tuple[int, str]] | None = None,
    activate: bool = False,
    customer: Customer | None = None,
    amount: str = "300000",
) -> Contract:
    """A contract on a new won opportunity; ``plan`` is (days from today, amount) rows."""
    actor = personas.actor(owner)
    row = services.contract_create(
        actor=actor,
        opportunity_id=won(personas, unit, owner, amount, customer).pk,
        signed_on=TODAY() - dt.timedelta(days=100),
    )
    if plan:
        services.plan_set(
            actor=actor,
            pk=row.pk,
            instalments=[{"due_on": TODAY() + dt.timedelta(days=d), "amount": a} for d, a in plan],
        )
    if activate:
        services.contract_activate(actor=actor, pk=row.pk)
    row.refresh_from_db()
    return row


def pay(personas: Personas, row: Contract, sequence: int, amount: str, who: str = "mfg_am") -> Any:
    instalment = row.instalments.get(sequence=sequence)
    return services.payment_record(
        actor=personas.actor(who),
        pk=row.pk,
        instalment_id=instalment.pk,
        amount=amount,
        received_on=TODAY(),
    )


def events(name: str) -> int:
    return OutboxEvent.objects.filter(name=name).count()


HALVES = [(-40, "150000"), (20, "150000")]


# --- contracts --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_contract_comes_only_from_a_won_opportunity(personas: Personas) -> None:
    am = personas.actor("mfg_am")
    open_one = sales.opportunity_create(
        actor=am,
        customer_id=golden().pk,
        bu_id=personas.units["mfg"].pk,
        name="未赢单",
        amount="1000",
        expected_close=TODAY() + dt.timedelta(days=3),
    )
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        services.contract_create(actor=am, opportunity_id=open_one.pk)
    assert exc.value.code == "not_won"
    assert "won opportunity" in str(exc.value.message)
    assert not Contract.objects.exists()


@pytest.mark.django_db
def test_contract_takes_customer_unit_owner_and_amount_from_the_opportunity(
    personas: Personas,
) -> None:
    opportunity = won(personas, amount="456789.10")
    row = services.contract_create(actor=personas.actor("mfg_am"), opportunity_id=opportunity.pk)
    assert (row.customer_id, row.bu_id, row.owner_id) == (
        opportunity.customer_id,
        opportunity.bu_id,
        opportunity.owner_id,
    )
    assert row.amount == Decimal("456789.10") and row.status == "draft"
    assert row.number == f"HT-{TODAY().year}-000001"
    assert events("sales.contract_created") == 1
    second = contract(personas)
    assert second.number == f"HT-{TODAY().year}-000002"


@pytest.mark.django_db
def test_one_contract_per_opportunity_unless_cancelled(personas: Personas) -> None:
    am = personas.actor("mfg_am")
    opportunity = won(personas)
    first = services.contract_create(actor=am, opportunity_id=opportunity.pk)
    with pytest.raises(Conflict) as exc:
        services.contract_create(actor=am, opportunity_id=opportunity.pk)
    assert exc.value.code == "contract_exists"
    services.contract_cancel(actor=am, pk=first.pk)
    again = services.contract_create(actor=am, opportunity_id=opportunity.pk)
    assert again.pk != first.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields, field",
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"signed_on": dt.date(2999, 1, 1)}, "signed_on"),
        ({"start_on": dt.date(2026, 5, 1), "end_on": dt.date(2026, 4, 1)}, "end_on"),
    ],
)
def test_invalid_contract_input_is_refused(
    personas: Personas, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        services.contract_create(
            actor=personas.actor("mfg_am"), opportunity_id=won(personas).pk, **fields
        )
    assert field in exc.value.fields
    assert not Contract.objects.exists()


@pytest.mark.django_db
def test_a_colleagues_won_opportunity_is_out_of_reach(personas: Personas) -> None:
    opportunity = won(personas, owner="mfg_am2")
    with pytest.raises(ValidationError) as exc:
        services.contract_create(actor=personas.actor("mfg_am"), opportunity_id=opportunity.pk)
    assert "opportunity_id" in exc.value.fields


# --- the plan ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_plan_must_add_up_to_the_contract_amount(personas: Personas) -> None:
    row = contract(personas)
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        services.plan_set(
            actor=personas.actor("mfg_am"),
            pk=row.pk,
            instalments=[
                {"due_on": TODAY(), "amount": "100000"},
                {"due_on": TODAY(), "amount": "100000"},
            ],
        )
    assert exc.value.code == "invalid_plan"
    assert "200,000.00" in str(exc.value.message) and "300,000.00" in str(exc.value.message)
    assert not row.instalments.exists()


@pytest.mark.django_db
def test_a_contract_is_activated_only_when_signed_with_a_plan(personas: Personas) -> None:
    am = personas.actor("mfg_am")
    row = services.contract_create(actor=am, opportunity_id=won(personas).pk)
    with pytest.raises(ValidationError) as exc:
        services.contract_activate(actor=am, pk=row.pk)
    assert set(exc.value.fields) == {"signed_on", "instalments"}
    row = contract(personas, plan=HALVES, activate=True)
    assert row.status == "active" and events("sales.contract_activated") == 1


@pytest.mark.django_db
def test_editing_the_plan_after_payments_keeps_paid_amounts(personas: Personas) -> None:
    am = personas.actor("mfg_am")
    row = contract(personas, plan=HALVES, activate=True)
    pay(personas, row, 1, "100000")
    first, second = row.instalments.order_by("sequence")
    # Dropping the instalment with payments, or going below what it received: refused.
    for plan in (
        [{"due_on": TODAY(), "amount": "300000"}],
        [
            {"id": first.pk, "due_on": first.due_on, "amount": "50000"},
            {"id": second.pk, "due_on": second.due_on, "amount": "250000"},
        ],
    ):
        with pytest.raises(ValidationError):
            services.plan_set(actor=am, pk=row.pk, instalments=plan)
    # Three instalments instead of two, the paid one kept and reduced to what it received.
    rows = services.plan_set(
        actor=am,
        pk=row.pk,
        instalments=[
            {"id": first.pk, "due_on": first.due_on, "amount": "100000"},
            {"id": second.pk, "due_on": second.due_on, "amount": "100000"},
            {"due_on": TODAY() + dt.timedelta(days=60), "amount": "100000"},
        ],
    )
    assert [(r.sequence, r.paid_amount, r.status) for r in rows] == [
        (1, Decimal("100000.00"), "paid"),
        (2, Decimal("0.00"), "pending"),
        (3, Decimal("0.00"), "pending"),
    ]
    assert Payment.objects.get().instalment_id == first.pk


# --- payments ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_payments_cover_instalments_and_complete_the_contract(personas: Personas) -> None:
    row = contract(personas, plan=HALVES, activate=True)
    pay(personas, row, 1, "100000")
    assert row.instalments.get(sequence=1).status == "partial"
    pay(personas, row, 1, "50000")
    assert row.instalments.get(sequence=1).status == "paid"
    pay(personas, row, 2, "150000")
    row.refresh_from_db()
    assert row.status == "completed"
    assert events("sales.payment_received") == 3 and events("sales.contract_completed") == 1


@pytest.mark.django_db
def test_a_payment_above_the_instalment_or_the_contract_is_refused(personas: Personas) -> None:
    row = contract(personas, plan=HALVES, activate=True)
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        pay(personas, row, 1, "150000.01")
    assert exc.value.code == "exceeds_instalment"
    assert "150,000.00" in str(exc.value.message)
    with pytest.raises(ValidationError) as exc:
        pay(personas, row, 2, "300000.01")
    assert exc.value.code == "exceeds_contract"
    assert not Payment.objects.exists()
    assert row.instalments.filter(paid_amount__gt=0).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields, field",
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"received_on": dt.date(2999, 1, 1)}, "received_on"),
        ({"method": "bitcoin"}, "method"),
        ({"instalment_id": 999_999}, "instalment_id"),
    ],
)
def test_invalid_payments_are_refused(
    personas: Personas, fields: dict[str, Any], field: str
) -> None:
    row = contract(personas, plan=HALVES, activate=True)
    data = {
        "instalment_id": row.instalments.get(sequence=1).pk,
        "amount": "100",
        "received_on": TODAY(),
        **fields,
    }
    with pytest.raises(ValidationError) as exc:
        services.payment_record(actor=personas.actor("mfg_am"), pk=row.pk, **data)
    assert field in exc.value.fields
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_payments_need_an_active_contract(personas: Personas) -> None:
    row = contract(personas, plan=HALVES)
    with pytest.raises(Conflict) as exc:
        pay(personas, row, 1, "100")
    assert exc.value.code == "not_active"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_payments_never_over_collect(personas: Personas) -> None:
    """Both want the instalment's whole outstanding amount: the contract's row lock makes
    the second wait, see the first's payment and be refused."""
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass")
    row = contract(personas, plan=HALVES, activate=True)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def collect() -> None:
        barrier.wait()
        try:
            pay(personas, row, 1, "150000")
            results.append("paid")
        except ValidationError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=collect) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["exceeds_instalment", "paid"]
    assert row.instalments.get(sequence=1).paid_amount == Decimal("150000.00")
    assert Payment.objects.count() == 1


# --- overdue ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_overdue_detection_marks_once_publishes_and_reminds(personas: Personas) -> None:
    row = contract(personas, plan=HALVES, activate=True)
    pay(personas, row, 1, "10000")
    assert services.overdue_detect() == {"marked": 1, "reminded": 1}
    first = row.instalments.get(sequence=1)
    assert (first.status, first.overdue_since) == ("overdue", TODAY())
    assert row.instalments.get(sequence=2).status == "pending"
    [event] = OutboxEvent.objects.filter(name="sales.payment_overdue")
    assert event.payload["outstanding"] == "140000.00" and event.payload["days_overdue"] == 40
    # The same night again: nothing new.
    assert services.overdue_detect() == {"marked": 0, "reminded": 0}
    assert events("sales.payment_overdue") == 1
    outbox_drain()
    notified = set(
        Notification.objects.filter(event=event).values_list("user__username", flat=True)
    )
    # The owner and the unit's managers (team lead, subsidiary manager); not other units.
    assert notified == {"mfg_am", "mfg_lead", "mfg_manager"}
    note = Notification.objects.get(event=event, user__username="mfg_am")
    assert row.number in note.title and note.link == reverse("contracts:detail", args=[row.pk])
    # Redelivering the event does not notify twice.
    from groupcrm.core.events import deliver

    OutboxEvent.objects.filter(pk=event.pk).update(status="pending")
    event.deliveries.all().delete()
    deliver(event)
    assert Notification.objects.filter(event=event).count() == 3


@pytest.mark.django_db
def test_reminders_repeat_only_after_some_days(personas: Personas) -> None:
    row = contract(personas, plan=HALVES, activate=True)
    today = TODAY()
    services.overdue_detect(today=today)
    for day in range(1, services.REMIND_AFTER_DAYS):
        assert services.overdue_detect(today=today + dt.timedelta(days=day))["reminded"] == 0
    later = today + dt.timedelta(days=services.REMIND_AFTER_DAYS)
    assert services.overdue_detect(today=later) == {"marked": 0, "reminded": 1}
    reminders = OutboxEvent.objects.filter(name="sales.payment_overdue").order_by("occurred_at")
    assert [e.payload["first_reminder"] for e in reminders] == [True, False]
    assert row.instalments.get(sequence=1).reminded_on == later


@pytest.mark.django_db
def test_paid_cancelled_and_future_instalments_are_not_overdue(personas: Personas) -> None:
    paid = contract(personas, plan=HALVES, activate=True)
    pay(personas, paid, 1, "150000")
    draft = contract(personas, plan=HALVES)
    services.contract_cancel(actor=personas.actor("mfg_am"), pk=draft.pk)
    assert services.overdue_detect() == {"marked": 0, "reminded": 0}


@pytest.mark.django_db
def test_the_command_runs_the_detection(personas: Personas, capsys: Any) -> None:
    contract(personas, plan=HALVES, activate=True)
    call_command("contracts_overdue")
    assert "marked overdue: 1" in capsys.readouterr().out


@pytest.mark.django_db
def test_paying_an_overdue_instalment_marks_it_paid(personas: Personas) -> None:
    row = contract(personas, plan=HALVES, activate=True)
    services.overdue_detect()
    pay(personas, row, 1, "100000")
    assert row.instalments.get(sequence=1).status == "overdue"
    pay(personas, row, 1, "50000")
    assert row.instalments.get(sequence=1).status == "paid"


# --- receivables ------------------------------------------------------------------------


@pytest.mark.django_db
def test_receivables_roll_up_the_group_and_follow_scope(personas: Personas) -> None:
    parent = golden()
    child = golden(parent)
    mfg = contract(personas, plan=HALVES, activate=True, customer=parent)
    pay(personas, mfg, 1, "50000")
    contract(personas, plan=[(-100, "200000")], activate=True, customer=child, amount="200000")
    fin = contract(
        personas,
        "fin",
        "fin_am",
        plan=[(10, "80000")],
        activate=True,
        customer=child,
        amount="80000",
    )
    services.overdue_detect()

    figures = selectors.customer_receivables(actor=personas.actor("mfg_manager"), customer=parent)
    assert figures["customer"].as_json() == {
        "contracts": 1,
        "contracted": "300000.00",
        "received": "50000.00",
        "outstanding": "250000.00",
        "overdue": "100000.00",
    }
    assert figures["group"].as_json() == {
        "contracts": 2,
        "contracted": "500000.00",
        "received": "50000.00",
        "outstanding": "450000.00",
        "overdue": "300000.00",
    }
    # The finance unit sees only its own contract: no manufacturing figures.
    fin_view = selectors.customer_receivables(actor=personas.actor("fin_manager"), customer=parent)
    assert fin_view["customer"].contracts == 0
    assert fin_view["group"].as_json()["contracted"] == "80000.00"
    # The group analyst sees everything.
    everything = selectors.customer_receivables(actor=personas.actor("analyst"), customer=parent)
    assert everything["group"].contracted == Decimal("580000.00")
    # The 360 card: there for mfg, absent for someone without contracts.
    codes = [p["code"] for p in panels(actor=personas.actor("mfg_manager"), customer=parent)]
    assert "receivables" in codes
    assert "receivables" not in [
        p["code"] for p in panels(actor=personas.actor("nobody"), customer=parent)
    ]
    html = (
        ui_client(personas, "fin_manager")
        .get(reverse("customers:detail", args=[parent.pk]))
        .content.decode()
    )
    assert "¥80,000.00" in html and "¥300,000.00" not in html
    # The receivables list: the group by default, the company alone on request.
    client = ui_client(personas, "mfg_manager")
    page = client.get(reverse("contracts:receivables"), {"customer_id": parent.pk})
    assert page.context["page"].paginator.count == 2
    alone = {"customer_id": parent.pk, "include_group": "0"}
    assert client.get(reverse("contracts:receivables"), alone).context["page"].paginator.count == 1
    assert Contract.objects.get(pk=fin.pk).bu_id == personas.units["fin"].pk


@pytest.mark.django_db
def test_aging_buckets_and_the_receivables_page(personas: Personas) -> None:
    for days in (-10, -45, -75, -200):
        contract(personas, plan=[(days, "1000")], activate=True, amount="1000")
    contract(personas, plan=[(5, "1000")], activate=True, amount="1000")
    services.overdue_detect()
    scoped = selectors.receivable_scope(actor=personas.actor("mfg_manager"))
    assert [(b["code"], b["amount"]) for b in selectors.aging(scoped)] == [
        ("0-30", Decimal("1000.00")),
        ("31-60", Decimal("1000.00")),
        ("61-90", Decimal("1000.00")),
        ("90+", Decimal("1000.00")),
    ]
    client = ui_client(personas, "mfg_manager")
    page = client.get(reverse("contracts:receivables"), {"overdue": "1"})
    assert page.status_code == 200
    assert page.context["page"].paginator.count == 4
    assert client.get(reverse("contracts:receivables")).context["page"].paginator.count == 5
    assert (
        ui_client(personas, "fin_manager")
        .get(reverse("contracts:receivables"))
        .context["page"]
        .paginator.count
        == 0
    )


# --- API --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_creates_plans_collects_and_reports(personas: Personas) -> None:
    client, auth = api(personas, "mfg_am")
    opportunity = won(personas)
    response = client.post(
        BASE,
        {"opportunity_id": opportunity.pk, "signed_on": str(TODAY())},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["amount"] == "300000.00" and data["status"] == "draft"
    pk = data["id"]
    bad = client.put(
        f"{BASE}/{pk}/instalments",
        {"instalments": [{"due_on": str(TODAY()), "amount": "1"}]},
        content_type="application/json",
        **auth,
    )
    assert bad.status_code == 422 and bad["Content-Type"] == "application/problem+json"
    plan = [
        {"due_on": str(TODAY() - dt.timedelta(days=3)), "amount": "100000"},
        {"due_on": str(TODAY() + dt.timedelta(days=30)), "amount": "200000"},
    ]
    response = client.put(
        f"{BASE}/{pk}/instalments", {"instalments": plan}, content_type="application/json", **auth
    )
    assert response.status_code == 200, response.content
    first = response.json()[0]["id"]
    response = client.patch(
        f"{BASE}/{pk}", {"status": "active"}, content_type="application/json", **auth
    )
    assert response.json()["status"] == "active"
    response = client.post(
        f"{BASE}/{pk}/payments",
        {"instalment_id": first, "amount": "100000.01", "received_on": str(TODAY())},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "exceeds_instalment"
    response = client.post(
        f"{BASE}/{pk}/payments",
        {
            "instalment_id": first,
            "amount": "40000",
            "received_on": str(TODAY()),
            "method": "cheque",
        },
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    assert client.get(f"{BASE}/{pk}/payments", **auth).json()[0]["amount"] == "40000.00"
    services.overdue_detect()
    report = client.get(
        f"/api/v1/sales/receivables?customer_id={opportunity.customer_id}",
        HTTP_ACCEPT_LANGUAGE="en",
        **auth,
    ).json()
    assert report["customer"]["outstanding"] == "260000.00"
    assert report["customer"]["overdue"] == "60000.00"
    assert report["aging"][0] == {"code": "0-30", "label": "0–30 days", "amount": "60000.00"}
    assert [i["contract_id"] for i in report["items"]] == [pk]
    detail = client.get(f"{BASE}/{pk}", **auth).json()
    assert detail["received"] == "40000.00"
    assert [i["status"] for i in detail["instalments"]] == ["overdue", "pending"]


@pytest.mark.django_db
def test_the_api_refuses_a_contract_from_an_open_opportunity(personas: Personas) -> None:
    client, auth = api(personas, "mfg_am")
    opportunity = sales.opportunity_create(
        actor=personas.actor("mfg_am"),
        customer_id=golden().pk,
        bu_id=personas.units["mfg"].pk,
        name="未赢单",
        amount="1000",
        expected_close=TODAY() + dt.timedelta(days=3),
    )
    response = client.post(
        BASE, {"opportunity_id": opportunity.pk}, content_type="application/json", **auth
    )
    assert response.status_code == 422 and response.json()["code"] == "not_won"


# --- pages ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_create_plan_activate_and_collect(personas: Personas) -> None:
    client = ui_client(personas, "mfg_am")
    opportunity = won(personas)
    response = client.post(
        reverse("contracts:create"),
        {"opportunity_id": opportunity.pk, "signed_on": str(TODAY())},
    )
    assert response.status_code == 302, response.content
    row = Contract.objects.get()
    response = client.post(
        reverse("contracts:plan", args=[row.pk]),
        {"due_on_0": str(TODAY()), "amount_0": "100000"},
    )
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    response = client.post(
        reverse("contracts:plan", args=[row.pk]),
        {
            "due_on_0": str(TODAY()),
            "amount_0": "100000",
            "due_on_1": str(TODAY() + dt.timedelta(days=30)),
            "amount_1": "200000",
        },
    )
    assert response.status_code == 302
    assert client.post(reverse("contracts:activate", args=[row.pk])).status_code == 302
    first = row.instalments.get(sequence=1)
    response = client.post(
        reverse("contracts:payment", args=[row.pk]),
        {
            "instalment_id": first.pk,
            "amount": "100000",
            "received_on": str(TODAY()),
            "method": "transfer",
        },
    )
    assert response.status_code == 302
    html = client.get(reverse("contracts:detail", args=[row.pk])).content.decode()
    assert "¥200,000.00" in html
    assert client.get(reverse("contracts:list")).status_code == 200


@pytest.mark.django_db
def test_the_opportunity_card_offers_a_contract_for_won_ones(personas: Personas) -> None:
    from django.template import Context, Template
    from django.test import RequestFactory

    opportunity = won(personas)
    request = RequestFactory().get("/")
    request.actor = personas.actor("mfg_am")
    html = Template("{% load contracts_tags %}{% opportunity_money o %}").render(
        Context({"request": request, "o": opportunity})
    )
    assert "new-contract" in html
    services.contract_create(actor=personas.actor("mfg_am"), opportunity_id=opportunity.pk)
    html = Template("{% load contracts_tags %}{% opportunity_money o %}").render(
        Context({"request": request, "o": opportunity})
    )
    assert "new-contract" not in html and f"HT-{TODAY().year}-000001" in html


# --- the permission battery -------------------------------------------------------------


class TestContractScope(ScopedBattery):
    model = Contract
    ui_list = "contracts:list"
    ui_detail = "contracts:detail"
    ui_edit = "contracts:edit"
    ui_delete = "contracts:delete"
    api_base = BASE
    api_patch = {"notes": "客户要求分两期"}

    @pytest.fixture(autouse=True)
    def _pipeline(self, default_pipeline: None) -> None:
        return None

    def make(self, personas: Personas, unit: str, owner: str) -> Contract:
        return services.contract_create(actor=SYSTEM, opportunity_id=won(personas, unit, owner).pk)

    def edit_form(self, row: Any) -> dict[str, Any]:
        return {"title": "改造合同", "amount": str(row.amount), "notes": "已盖章"}
