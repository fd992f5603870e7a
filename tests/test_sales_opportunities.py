"""Sales across the group (issue 5): pipelines and stages, opportunities with optimistic
locking, stage moves with their requirements, the kanban board, the API, merges and the
customer's 360 view — through the services, the pages and the API."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from groupcrm.audit.models import ChangeRecord
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, ValidationError
from groupcrm.core.models import OutboxEvent
from groupcrm.core.testing.battery import ScopedBattery, ui_client
from groupcrm.core.testing.battery import api_client as api
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import merge
from groupcrm.customers import services as customer_services
from groupcrm.customers.models import Contact, Customer, CustomerRelationship
from groupcrm.customers.normalize import make_uscc
from groupcrm.customers.selectors import TimelineQuery, view360
from groupcrm.sales import services
from groupcrm.sales.models import Opportunity, Pipeline, Stage, StageChange
from groupcrm.sales.selectors import pipelines_for

pytestmark = pytest.mark.usefixtures("default_pipeline")
SYSTEM = Actor.system("tests")
BASE = "/api/v1/sales/opportunities"
NAMES = iter(f"华夏测试客户{n:04d}有限公司" for n in range(10_000))


def golden() -> Customer:
    """A customer nobody works with yet."""
    import random

    return customer_services.customer_create(
        actor=SYSTEM,
        legal_name=next(NAMES),
        uscc=make_uscc(random.Random()),
        start_relationship=False,
        similar_override_reason="test data",
    )


def next_month() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=30)


def default_stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__bu__isnull=True, name=name)


def opportunity(
    personas: Personas, unit: str = "mfg", owner: str = "mfg_am", **fields: Any
) -> Opportunity:
    return services.opportunity_create(
        actor=personas.actor(owner),
        customer_id=fields.pop("customer_id", None) or golden().pk,
        bu_id=personas.units[unit].pk,
        name=fields.pop("name", "数控机床改造项目"),
        amount=fields.pop("amount", "500000"),
        expected_close=fields.pop("expected_close", next_month()),
        **fields,
    )


def counts() -> tuple[int, ...]:
    return (
        Opportunity.objects.count(),
        StageChange.objects.count(),
        CustomerRelationship.objects.count(),
        ChangeRecord.objects.count(),
        OutboxEvent.objects.count(),
    )


def events(name: str) -> int:
    return OutboxEvent.objects.filter(name=name).count()


# --- the permission battery --------------------------------------------------------------


class TestOpportunityPermissions(ScopedBattery):
    model = Opportunity
    ui_list = "sales:list"
    ui_detail = "sales:detail"
    ui_edit = "sales:edit"
    ui_delete = None
    api_base = BASE

    @property
    def api_patch(self) -> dict[str, Any]:  # type: ignore[override]
        # PATCH needs the version read; the battery edits through the UI first.
        latest = Opportunity.objects.order_by("-pk").first()
        return {"version": latest.version if latest else 1, "next_step": "安排技术交流"}

    def make(self, personas: Personas, unit: str, owner: str) -> Opportunity:
        return opportunity(personas, unit, owner)

    def edit_form(self, row: Any) -> dict[str, Any]:
        row.refresh_from_db()
        return {
            "name": "改过的商机",
            "owner_id": row.owner_id,
            "amount": "620000.50",
            "expected_close": next_month().isoformat(),
            "probability": "",
            "next_step": "",
            "competitors": "",
            "version": row.version,
        }


# --- pipelines ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_creates_the_group_default_pipeline_with_the_ten_stages() -> None:
    pipeline = Pipeline.objects.get(bu__isnull=True)
    stages = list(pipeline.stages.values_list("name", "probability", "outcome"))
    assert stages == [
        ("售前勘察", 5, "open"),
        ("取得资格", 10, "open"),
        ("需求分析", 20, "open"),
        ("价值提议", 40, "open"),
        ("确认决策者", 60, "open"),
        ("感觉分析", 70, "open"),
        ("提案/报价", 80, "open"),
        ("谈判", 90, "open"),
        ("赢单", 100, "won"),
        ("输单", 0, "lost"),
    ]


@pytest.mark.django_db
def test_it_uses_the_units_pipeline_else_the_nearest_ancestors_else_the_default(
    personas: Personas,
) -> None:
    default = Pipeline.objects.get(bu__isnull=True)
    mfg = Pipeline.objects.create(bu=personas.units["mfg"], name="制造销售流程")
    Stage.objects.create(pipeline=mfg, name="初访", order=1, probability=15)
    assert services.pipeline_for(personas.units["mfg-sh"]) == mfg
    assert services.pipeline_for(personas.units["mfg"]) == mfg
    assert services.pipeline_for(personas.units["fin"]) == default
    row = opportunity(personas, "mfg-sh", "sh_am")
    assert (row.pipeline, row.stage.name, row.probability) == (mfg, "初访", 15)
    assert pipelines_for(actor=personas.actor("sh_am"))[0].pk == mfg.pk
    client, auth = api(personas, "fin_am")
    data = client.get("/api/v1/sales/pipelines", **auth).json()
    assert data[0]["id"] == default.pk and data[0]["bu_id"] is None
    assert [s["name"] for s in data[0]["stages"]][:2] == ["售前勘察", "取得资格"]


# --- create, and bad input -------------------------------------------------------------


@pytest.mark.django_db
def test_it_creates_an_opportunity_and_starts_the_units_relationship(
    personas: Personas,
) -> None:
    customer = golden()
    client, auth = api(personas, "mfg_am")
    response = client.post(
        BASE,
        {
            "customer_id": customer.pk,
            "name": "产线自动化",
            "amount": "1250000.50",
            "expected_close": next_month().isoformat(),
        },
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["amount"] == "1250000.50" and data["currency"] == "CNY"
    assert (data["stage_name"], data["probability"], data["version"]) == ("售前勘察", 5, 1)
    assert data["weighted_amount"] == "62500.03"
    rel = CustomerRelationship.objects.get(customer=customer, bu=personas.units["mfg"])
    assert rel.owner_id == personas.mfg_am.pk
    assert events("sales.opportunity_created") == 1
    assert ChangeRecord.objects.filter(object_type="sales.opportunity").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "abc"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "Infinity"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"expected_close": "2020-01-01"}, "expected_close"),
        ({"customer_id": 999_999}, "customer_id"),
        ({"name": "  "}, "name"),
        ({"probability": 101}, "probability"),
        ({"decision_contact_ids": "other"}, "decision_contact_ids"),
        ({"bu_id": "fin"}, "bu_id"),
        ({"stage_id": "won"}, "stage_id"),
        ({"expected_close": "soon"}, "expected_close"),
    ],
)
def test_it_refuses_bad_input_naming_the_field_and_writes_nothing(
    personas: Personas, change: dict[str, Any], field: str
) -> None:
    customer = golden()
    other = golden()
    stranger = Contact.objects.create(customer=other, name="李四")
    body: dict[str, Any] = {
        "customer_id": customer.pk,
        "name": "智能仓储",
        "amount": "100000",
        "expected_close": next_month().isoformat(),
        **change,
    }
    if change.get("decision_contact_ids") == "other":
        body["decision_contact_ids"] = [stranger.pk]
    if change.get("bu_id") == "fin":
        body["bu_id"] = personas.units["fin"].pk
    if change.get("stage_id") == "won":
        body["stage_id"] = default_stage("赢单").pk
    client, auth = api(personas, "mfg_am")  # its token is audited: count after it
    before = counts()
    response = client.post(BASE, body, content_type="application/json", **auth)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]
    assert counts() == before


@pytest.mark.django_db
def test_it_refuses_an_archived_customer(personas: Personas) -> None:
    customer = golden()
    Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.ARCHIVED)
    before = counts()
    with pytest.raises(ValidationError) as exc:
        opportunity(personas, customer_id=customer.pk)
    assert "customer_id" in exc.value.fields
    assert counts() == before


@pytest.mark.django_db
def test_the_form_shows_the_amount_error_and_writes_nothing(personas: Personas) -> None:
    customer = golden()
    before = counts()
    client = ui_client(personas, "mfg_am")
    response = client.post(
        reverse("sales:create"),
        {
            "customer_id": customer.pk,
            "name": "智能仓储",
            "bu_id": personas.units["mfg"].pk,
            "owner_id": personas.mfg_am.pk,
            "amount": "-5",
            "expected_close": next_month().isoformat(),
        },
    )
    assert response.status_code == 200
    assert 'data-field="amount"' in response.content.decode()
    assert counts() == before
    response = client.post(
        reverse("sales:create"),
        {
            "customer_id": customer.pk,
            "name": "智能仓储",
            "bu_id": personas.units["mfg"].pk,
            "owner_id": personas.mfg_am.pk,
            "amount": "88000",
            "expected_close": next_month().isoformat(),
        },
    )
    assert response.status_code == 302
    assert Opportunity.objects.get(name="智能仓储").amount == Decimal("88000.00")


# --- update with optimistic locking ---------------------------------------------------


@pytest.mark.django_db
def test_a_stale_version_is_a_409_and_loses_nothing(personas: Personas) -> None:
    row = opportunity(personas)
    client, auth = api(personas, "mfg_am")
    first = client.patch(
        f"{BASE}/{row.pk}",
        {"version": 1, "amount": "700000"},
        content_type="application/json",
        **auth,
    )
    assert first.status_code == 200 and first.json()["version"] == 2
    second = client.patch(
        f"{BASE}/{row.pk}",
        {"version": 1, "amount": "1"},
        content_type="application/json",
        **auth,
    )
    assert second.status_code == 409
    assert second.json()["code"] == "stale"
    row.refresh_from_db()
    assert (row.amount, row.version) == (Decimal("700000.00"), 2)
    missing = client.patch(
        f"{BASE}/{row.pk}", {"amount": "1"}, content_type="application/json", **auth
    )
    assert missing.status_code == 422 and "version" in missing.json()["errors"]


@pytest.mark.django_db
def test_a_bad_amount_on_update_writes_nothing(personas: Personas) -> None:
    row = opportunity(personas)
    client, auth = api(personas, "mfg_am")  # its token is audited: count after it
    before = counts()
    response = client.patch(
        f"{BASE}/{row.pk}",
        {"version": 1, "amount": "Infinity", "next_step": "报价"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422 and "amount" in response.json()["errors"]
    row.refresh_from_db()
    assert (row.version, row.next_step) == (1, "")
    assert counts() == before


@pytest.mark.django_db
def test_a_manual_probability_survives_moves_until_reset(personas: Personas) -> None:
    row = opportunity(personas, next_step="需求调研")
    row = services.opportunity_update(
        actor=personas.actor("mfg_am"), pk=row.pk, version=1, probability=33
    )
    row = services.opportunity_move(
        actor=personas.actor("mfg_am"),
        pk=row.pk,
        stage_id=default_stage("需求分析").pk,
        version=row.version,
    )
    assert row.probability == 33
    row = services.opportunity_update(
        actor=personas.actor("mfg_am"), pk=row.pk, version=row.version, probability=None
    )
    assert (row.probability, row.probability_manual) == (20, False)


# --- stage moves -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_move_skipping_a_required_field_is_refused_naming_it(personas: Personas) -> None:
    row = opportunity(personas)
    client, auth = api(personas, "mfg_am")  # its token is audited: count after it
    before = counts()
    response = client.post(
        f"{BASE}/{row.pk}/move",
        {"stage_id": default_stage("确认决策者").pk, "version": 1},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422
    body = response.json()
    assert "decision_contact_ids" in body["errors"]
    assert "决策" in body["detail"] or "decision" in body["detail"]
    assert counts() == before
    contact = Contact.objects.create(customer=row.customer, name="王总", title="总经理")
    services.opportunity_update(
        actor=personas.actor("mfg_am"), pk=row.pk, version=1, decision_contact_ids=[contact.pk]
    )
    response = client.post(
        f"{BASE}/{row.pk}/move",
        {"stage_id": default_stage("确认决策者").pk, "version": 2},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["stage_name"], data["probability"], data["version"]) == ("确认决策者", 60, 3)
    [change] = data["stage_changes"]
    assert change["from_stage_id"] == default_stage("售前勘察").pk
    assert change["seconds_in_previous"] >= 0
    assert events("sales.opportunity_stage_changed") == 1


@pytest.mark.django_db
def test_won_closes_at_100_and_lost_needs_a_reason(personas: Personas) -> None:
    am = personas.actor("mfg_am")
    won = opportunity(personas)
    won = services.opportunity_move(
        actor=am, pk=won.pk, stage_id=default_stage("赢单").pk, version=1
    )
    assert (won.status, won.probability) == ("won", 100) and won.closed_at is not None
    assert events("sales.opportunity_won") == 1
    lost = opportunity(personas)
    before = counts()
    with pytest.raises(ValidationError) as exc:
        services.opportunity_move(
            actor=am, pk=lost.pk, stage_id=default_stage("输单").pk, version=1
        )
    assert "lost_reason" in exc.value.fields
    assert counts() == before
    lost = services.opportunity_move(
        actor=am,
        pk=lost.pk,
        stage_id=default_stage("输单").pk,
        version=1,
        lost_reason="价格高于竞品",
    )
    assert (lost.status, lost.probability, lost.lost_reason) == ("lost", 0, "价格高于竞品")
    assert events("sales.opportunity_lost") == 1
    # Reopening goes back to the stage's probability and clears the outcome.
    reopened = services.opportunity_move(
        actor=am, pk=lost.pk, stage_id=default_stage("取得资格").pk, version=2
    )
    assert (reopened.status, reopened.probability, reopened.closed_at) == ("open", 10, None)


@pytest.mark.django_db
def test_a_second_move_with_the_same_version_is_stale(personas: Personas) -> None:
    row = opportunity(personas)
    am = personas.actor("mfg_am")
    services.opportunity_move(actor=am, pk=row.pk, stage_id=default_stage("取得资格").pk, version=1)
    with pytest.raises(Conflict) as exc:
        services.opportunity_move(
            actor=am, pk=row.pk, stage_id=default_stage("输单").pk, version=1, lost_reason="x"
        )
    assert exc.value.code == "stale"
    row.refresh_from_db()
    assert (row.stage.name, row.version, row.stage_changes.count()) == ("取得资格", 2, 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_moves_with_one_version_let_exactly_one_through(
    personas: Personas,
) -> None:
    """The conditional UPDATE decides: the second writer waits for the first's row lock,
    then finds the version changed and gets a 409."""
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass")
    row = opportunity(personas)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def move(stage: str) -> None:
        barrier.wait()
        try:
            services.opportunity_move(
                actor=personas.actor("mfg_am"),
                pk=row.pk,
                stage_id=default_stage(stage).pk,
                version=1,
                lost_reason="竞品降价",
            )
            results.append("moved")
        except Conflict as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=move, args=(s,)) for s in ("取得资格", "输单")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["moved", "stale"]
    row.refresh_from_db()
    assert row.version == 2 and row.stage_changes.count() == 1


# --- merges and the 360 view ------------------------------------------------------------


@pytest.mark.django_db
def test_a_merge_moves_the_opportunity_and_an_unmerge_puts_it_back(personas: Personas) -> None:
    keep, dupe = golden(), golden()
    row = opportunity(personas, customer_id=dupe.pk)
    record = merge.customer_merge(
        actor=SYSTEM, survivor_id=keep.pk, loser_ids=[dupe.pk], reason="重复"
    )
    row.refresh_from_db()
    assert row.customer_id == keep.pk
    merge.customer_unmerge(actor=SYSTEM, merge_id=record.pk)
    row.refresh_from_db()
    assert row.customer_id == dupe.pk


@pytest.mark.django_db
def test_the_360_view_shows_the_opportunity_only_to_those_who_may_see_it(
    personas: Personas,
) -> None:
    row = opportunity(personas, amount="400000")
    query = TimelineQuery(kind="opportunity")

    def seen(who: str) -> tuple[list[int], dict[str, int]]:
        view = view360(actor=personas.actor(who), pk=row.customer_id, timeline_query=query)
        ids = [e.detail["id"] for e in view["timeline"] if e.kind == "opportunity"]
        return ids, {r["code"]: r["value"] for r in view["rollups"]}

    for who in ("mfg_am", "mfg_manager", "analyst"):
        ids, figures = seen(who)
        assert ids == [row.pk], who
        assert (figures["open_pipeline"], figures["weighted_pipeline"]) == (400000, 20000)
    for who in ("mfg_am2", "fin_manager", "fin_am"):
        ids, figures = seen(who)
        assert ids == [], who
        assert figures["open_pipeline"] == 0
    client, auth = api(personas, "mfg_manager")
    data = client.get(f"/api/v1/sales/customers/{row.customer_id}/pipeline", **auth).json()
    assert data == [
        {
            "bu_id": personas.units["mfg"].pk,
            "bu_name": "华夏制造",
            "count": 1,
            "amount": "400000.00",
            "weighted": "20000.00",
            "currency": "CNY",
        }
    ]


# --- pages -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_list_filters_and_says_when_nothing_matches(personas: Personas) -> None:
    row = opportunity(personas)
    opportunity(personas, name="另一个商机", expected_close=next_month() + dt.timedelta(days=40))
    client = ui_client(personas, "mfg_manager")
    html = client.get(reverse("sales:list")).content.decode()
    assert "数控机床改造项目" in html and "另一个商机" in html
    month = next_month().strftime("%Y-%m")
    html = client.get(reverse("sales:list"), {"close_month": month, "sort": "-amount"}).content
    assert "数控机床改造项目" in html.decode() and "另一个商机" not in html.decode()
    html = client.get(reverse("sales:list"), {"q": row.customer.legal_name}).content.decode()
    assert "数控机床改造项目" in html and "另一个商机" not in html
    html = client.get(reverse("sales:list"), {"status": "won"}).content.decode()
    assert 'data-testid="empty"' in html
    assert client.get(reverse("sales:detail", args=[row.pk])).status_code == 200


@pytest.mark.django_db
def test_the_board_renders_and_moves_a_card_through_htmx(personas: Personas) -> None:
    row = opportunity(personas, next_step="")
    client = ui_client(personas, "mfg_am")
    html = client.get(reverse("sales:board")).content.decode()
    assert f'id="opportunity-{row.pk}"' in html and "售前勘察" in html and "输单" in html
    assert "sales/board.js" in html
    move = reverse("sales:move", args=[row.pk])
    refused = client.post(
        move, {"stage_id": default_stage("需求分析").pk, "version": 1}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 422
    assert "下一步" in refused.content.decode() or "next step" in refused.content.decode()
    moved = client.post(
        move, {"stage_id": default_stage("取得资格").pk, "version": 1}, HTTP_HX_REQUEST="true"
    )
    assert moved.status_code == 200
    assert 'data-version="2"' in moved.content.decode()
    stale = client.post(
        move, {"stage_id": default_stage("售前勘察").pk, "version": 1}, HTTP_HX_REQUEST="true"
    )
    assert stale.status_code == 409
    row.refresh_from_db()
    assert (row.stage.name, row.version) == ("取得资格", 2)
    # Without htmx (the detail page's buttons) a move redirects to the opportunity.
    response = client.post(move, {"stage_id": default_stage("售前勘察").pk, "version": 2})
    assert response.status_code == 302 and response["Location"] == reverse(
        "sales:detail", args=[row.pk]
    )
    detail = client.get(reverse("sales:detail", args=[row.pk])).content.decode()
    assert 'data-testid="stage-history"' in detail and "取得资格 → 售前勘察" in detail


@pytest.mark.django_db
def test_the_navigation_shows_sales_only_with_opportunities_view(personas: Personas) -> None:
    assert reverse("sales:list") in ui_client(personas, "mfg_am").get("/").content.decode()
    assert reverse("sales:list") not in ui_client(personas, "nobody").get("/").content.decode()


@pytest.mark.django_db
def test_the_create_page_offers_the_customer_picker_and_the_customers_contacts(
    personas: Personas,
) -> None:
    customer = golden()
    Contact.objects.create(customer=customer, name="赵总", title="采购总监")
    client = ui_client(personas, "mfg_am")
    html = client.get(reverse("sales:create"), {"customer": customer.pk}).content.decode()
    assert reverse("customers:pick") in html
    assert customer.legal_name in html and "赵总 · 采购总监" in html
    # A tampered customer id is a form error, not a server error.
    response = client.post(
        reverse("sales:create"),
        {
            "customer_id": "abc",
            "name": "x",
            "bu_id": personas.units["mfg"].pk,
            "owner_id": personas.mfg_am.pk,
            "amount": "1",
            "expected_close": next_month().isoformat(),
        },
    )
    assert response.status_code == 200 and 'data-field="customer_id"' in response.content.decode()
    assert not Opportunity.objects.exists()


def test_amounts_show_in_yuan_with_separators() -> None:
    from decimal import Decimal

    from groupcrm.core.templatetags.ui import cny

    assert cny(Decimal("6990000")) == "¥6,990,000.00"
    assert cny("12.5") == "¥12.50" and cny(None) == "" and cny("abc") == ""
