"""Forecast, quotas and commission (sales across the group, points 3, 8 and 13): credit
through revenue splits, periods, attainment, scoping, quota and rule validation,
commission tiers, the pages, the CSV exports and the API."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from groupcrm.audit.models import AccessRecord, ChangeRecord
from groupcrm.core.actor import Actor
from groupcrm.core.errors import PermissionDenied, ValidationError
from groupcrm.core.events import outbox_drain
from groupcrm.core.models import OutboxEvent
from groupcrm.core.testing.battery import api_client, ui_client
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import services as customer_services
from groupcrm.customers.normalize import make_uscc
from groupcrm.sales import services as sales_services
from groupcrm.sales.forecast import selectors, services
from groupcrm.sales.forecast.models import CommissionRule, Quota
from groupcrm.sales.forecast.selectors import Period
from groupcrm.sales.models import Opportunity, Stage

pytestmark = pytest.mark.usefixtures("default_pipeline")
SYSTEM = Actor.system("tests")
NAMES = iter(f"华夏预测客户{n:04d}有限公司" for n in range(10_000))


def customer(parent_id: int | None = None) -> Any:
    return customer_services.customer_create(
        actor=SYSTEM,
        legal_name=next(NAMES),
        uscc=make_uscc(random.Random()),
        start_relationship=False,
        similar_override_reason="test data",
        **({"parent_id": parent_id} if parent_id else {}),
    )


def opportunity(
    personas: Personas, unit: str = "mfg", owner: str = "mfg_am", **fields: Any
) -> Opportunity:
    return sales_services.opportunity_create(
        actor=personas.actor(owner),
        customer_id=fields.pop("customer_id", None) or customer().pk,
        bu_id=personas.units[unit].pk,
        name=fields.pop("name", "产线改造"),
        amount=fields.pop("amount", "100000"),
        expected_close=fields.pop("expected_close", timezone.localdate() + dt.timedelta(days=5)),
        **fields,
    )


def win(opportunity: Opportunity, when: dt.datetime | None = None) -> Opportunity:
    stage = Stage.objects.get(pipeline=opportunity.pipeline, outcome=Stage.Outcome.WON)
    Opportunity.objects.filter(pk=opportunity.pk).update(
        stage=stage,
        status=Opportunity.Status.WON,
        closed_at=when or timezone.now(),
        probability=100,
    )
    opportunity.refresh_from_db()
    return opportunity


def refresh() -> None:
    services.forecast_refresh(actor=SYSTEM)


def forecast_now(**kwargs: Any) -> selectors.Forecast:
    refresh()
    return selectors.forecast(**kwargs)


def commission_now(**kwargs: Any) -> list[selectors.CommissionLine]:
    refresh()
    return selectors.commission_report(**kwargs)


def rollup_now(**kwargs: Any) -> selectors.GroupRollup:
    refresh()
    return selectors.group_pipeline(**kwargs)


def this_month() -> Period:
    return Period.parse(timezone.localdate().strftime("%Y-%m"))


def row_of(result: selectors.Forecast, key: int | None) -> selectors.Row:
    return next(r for r in result.rows if r.key == key)


# --- credit, periods, attainment -----------------------------------------------------------


@pytest.mark.django_db
def test_won_without_splits_credits_the_unit_and_owner(personas: Personas) -> None:
    win(opportunity(personas, amount="300000"))
    result = forecast_now(actor=personas.actor("admin"), period=this_month(), level="rep")
    assert row_of(result, personas.mfg_am.pk).won == Decimal("300000")
    team = forecast_now(actor=personas.actor("admin"), period=this_month(), level="team")
    assert row_of(team, personas.units["mfg"].pk).won == Decimal("300000")
    assert row_of(team, personas.units["hx"].pk).won == Decimal("300000")  # roll-up
    assert row_of(team, personas.units["fin"].pk).won == 0


@pytest.mark.django_db
def test_won_with_splits_credits_each_share(personas: Personas) -> None:
    row = opportunity(personas, amount="200000")
    sales_services.opportunity_set_splits(
        actor=personas.actor("admin"),
        pk=row.pk,
        shares=[
            {"bu_id": personas.units["mfg"].pk, "user_id": personas.mfg_am.pk, "percent": "70"},
            {"bu_id": personas.units["fin"].pk, "user_id": personas.fin_am.pk, "percent": "30"},
        ],
    )
    win(row)
    result = forecast_now(actor=personas.actor("admin"), period=this_month(), level="rep")
    assert row_of(result, personas.mfg_am.pk).won == Decimal("140000")
    assert row_of(result, personas.fin_am.pk).won == Decimal("60000")
    bu = forecast_now(actor=personas.actor("admin"), period=this_month(), level="bu")
    assert row_of(bu, personas.units["fin"].pk).won == Decimal("60000")
    assert bu.total.won == Decimal("200000")


@pytest.mark.django_db
def test_open_opportunities_count_by_category_and_weighted(personas: Personas) -> None:
    opportunity(personas, amount="100000", forecast_category="commit", probability=50)
    opportunity(personas, amount="40000", forecast_category="best_case", probability=25)
    opportunity(personas, amount="10000", forecast_category="omitted", probability=10)
    result = forecast_now(
        actor=personas.actor("mfg_manager"),
        period=Period.parse((timezone.localdate() + dt.timedelta(days=5)).strftime("%Y-%m")),
        level="rep",
    )
    mine = row_of(result, personas.mfg_am.pk)
    assert (mine.commit, mine.best_case, mine.pipeline) == (100000, 40000, 0)
    assert mine.weighted == Decimal("60000")  # 50 % + 25 %; omitted does not count
    assert mine.forecast == mine.won + mine.commit


@pytest.mark.django_db
def test_quarter_sums_its_months_and_attainment_is_won_over_quota(personas: Personas) -> None:
    admin = personas.actor("admin")
    services.quota_bulk_set(
        actor=admin,
        bu_id=personas.units["mfg"].pk,
        start="2026-01",
        months=3,
        amount="100000",
        user_ids=[personas.mfg_am.pk],
    )
    row = opportunity(personas, amount="150000")
    win(row, timezone.make_aware(dt.datetime(2026, 2, 10, 10)))
    quarter = forecast_now(actor=admin, period=Period.parse("2026-Q1"), level="rep")
    mine = row_of(quarter, personas.mfg_am.pk)
    assert (mine.quota, mine.won, mine.attainment) == (300000, 150000, Decimal("50.0"))
    february = forecast_now(actor=admin, period=Period.parse("2026-02"), level="rep")
    assert row_of(february, personas.mfg_am.pk).attainment == Decimal("150.0")
    march = forecast_now(actor=admin, period=Period.parse("2026-03"), level="rep")
    assert row_of(march, personas.mfg_am.pk).won == 0
    months = {m["month"]: m for m in quarter.months}
    assert months["2026-02"]["won"] == "150000.00" and months["2026-01"]["quota"] == "100000.00"
    # A unit without its own quota counts its reps'; one with its own quota uses it.
    team = forecast_now(actor=admin, period=Period.parse("2026-Q1"), level="team")
    assert row_of(team, personas.units["mfg"].pk).quota == 300000
    services.quota_set(actor=admin, bu_id=personas.units["mfg"].pk, period="2026-01", amount=1)
    team = forecast_now(actor=admin, period=Period.parse("2026-Q1"), level="team")
    assert row_of(team, personas.units["mfg"].pk).quota == Decimal("200001")


def test_periods_parse_months_quarters_and_years() -> None:
    assert Period.parse("2026-q2").month_list == [dt.date(2026, m, 1) for m in (4, 5, 6)]
    assert Period.parse("2026").end == dt.date(2027, 1, 1)
    assert Period.parse("2026-12").end == dt.date(2027, 1, 1)
    for bad in ("2026-13", "Q5", "abc", "2026-Q0"):
        with pytest.raises(ValidationError):
            Period.parse(bad)


# --- scoping -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_account_manager_sees_only_self_and_fin_does_not_see_mfg(personas: Personas) -> None:
    win(opportunity(personas, owner="mfg_am", amount="100000"))
    win(opportunity(personas, owner="mfg_am2", amount="50000"))
    mine = forecast_now(actor=personas.actor("mfg_am"), period=this_month(), level="rep")
    assert [r.key for r in mine.rows] == [personas.mfg_am.pk]
    assert mine.total.won == 100000
    fin = forecast_now(actor=personas.actor("fin_manager"), period=this_month(), level="team")
    assert fin.total.won == 0
    assert personas.units["mfg"].pk not in [r.key for r in fin.rows]
    with pytest.raises(ValidationError):
        forecast_now(
            actor=personas.actor("fin_manager"),
            period=this_month(),
            bu_id=personas.units["mfg"].pk,
        )
    analyst = forecast_now(actor=personas.actor("analyst"), period=this_month())
    assert analyst.total.won == 150000
    with pytest.raises(PermissionDenied):
        forecast_now(actor=personas.actor("nobody"), period=this_month())


# --- quotas --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_quota_validation(personas: Personas) -> None:
    manager = personas.actor("mfg_manager")
    mfg = personas.units["mfg"].pk
    for amount in ("0", "-5", "abc", "1.001"):
        with pytest.raises(ValidationError) as error:
            services.quota_set(actor=manager, bu_id=mfg, period="2026-01", amount=amount)
        assert "amount" in error.value.fields
    with pytest.raises(ValidationError) as error:
        services.quota_set(actor=manager, bu_id=mfg, period="2026/01", amount="1")
    assert "period" in error.value.fields
    with pytest.raises(ValidationError) as error:  # fin is not the manager's
        services.quota_set(
            actor=manager, bu_id=personas.units["fin"].pk, period="2026-01", amount=1
        )
    assert "bu_id" in error.value.fields
    with pytest.raises(ValidationError) as error:  # a fin rep in mfg
        services.quota_set(
            actor=manager, bu_id=mfg, period="2026-01", amount=1, user_id=personas.fin_am.pk
        )
    assert "user_id" in error.value.fields
    with pytest.raises(PermissionDenied):
        services.quota_set(actor=personas.actor("mfg_am"), bu_id=mfg, period="2026-01", amount=1)
    first = services.quota_set(actor=manager, bu_id=mfg, period="2026-01-17", amount="5")
    again = services.quota_set(actor=manager, bu_id=mfg, period="2026-01", amount="7")
    assert first.pk == again.pk and again.period == dt.date(2026, 1, 1)
    assert Quota.objects.get().amount == 7
    assert ChangeRecord.objects.filter(object_type="forecast.quota").count() == 2
    assert OutboxEvent.objects.filter(name="forecast.quota_set").count() == 2


@pytest.mark.django_db
def test_bulk_set_is_all_or_nothing(personas: Personas) -> None:
    with pytest.raises(ValidationError):
        services.quota_bulk_set(
            actor=personas.actor("mfg_manager"),
            bu_id=personas.units["mfg"].pk,
            start="2026-01",
            months=12,
            amount="10000",
            user_ids=[personas.mfg_am.pk, personas.fin_am.pk],
        )
    assert not Quota.objects.exists()
    written = services.quota_bulk_set(
        actor=personas.actor("mfg_manager"),
        bu_id=personas.units["mfg"].pk,
        start="2026-01",
        months=12,
        amount="10000",
        user_ids=[None, personas.mfg_am.pk],
    )
    assert len(written) == 24


# --- commission ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_commission_rules_validate_rates_and_overlaps(personas: Personas) -> None:
    manager = personas.actor("mfg_manager")
    base = {
        "bu_id": personas.units["mfg"].pk,
        "name": "制造提成",
        "rate": "3",
        "valid_from": dt.date(2026, 1, 1),
    }
    for bad in ({"rate": "101"}, {"rate": "-1"}, {"tiers": [{"from": 100, "rate": 120}]}):
        with pytest.raises(ValidationError):
            services.rule_create(actor=manager, **{**base, **bad})
    with pytest.raises(ValidationError) as error:
        services.rule_create(actor=manager, **base, valid_to=dt.date(2025, 1, 1))
    assert "valid_to" in error.value.fields
    services.rule_create(actor=manager, **base, valid_to=dt.date(2026, 6, 30))
    with pytest.raises(ValidationError) as error:
        services.rule_create(actor=manager, **{**base, "valid_from": dt.date(2026, 6, 1)})
    assert error.value.code == "overlapping_rule"
    # After the first ends, or for one rep only, there is no overlap.
    services.rule_create(actor=manager, **{**base, "valid_from": dt.date(2026, 7, 1)})
    services.rule_create(actor=manager, **base, user_id=personas.mfg_am.pk)
    assert CommissionRule.objects.count() == 3


@pytest.mark.django_db
def test_commission_uses_the_tier_the_attainment_reaches(personas: Personas) -> None:
    admin = personas.actor("admin")
    mfg = personas.units["mfg"].pk
    services.rule_create(
        actor=admin,
        bu_id=personas.units["hx"].pk,
        name="集团基础提成",
        rate="2",
        valid_from=dt.date(2025, 1, 1),
        tiers=[{"from": 100, "rate": "5"}],
    )
    for who in ("mfg_am", "mfg_am2"):
        services.quota_set(
            actor=admin,
            bu_id=mfg,
            period="2026-03",
            amount="100000",
            user_id=getattr(personas, who).pk,
        )
    march = timezone.make_aware(dt.datetime(2026, 3, 5, 10))
    win(opportunity(personas, owner="mfg_am", amount="120000"), march)
    win(opportunity(personas, owner="mfg_am2", amount="80000"), march)
    lines = {
        line.user_id: line for line in commission_now(actor=admin, period=Period.parse("2026-03"))
    }
    assert lines[personas.mfg_am.pk].commission == Decimal("6000.00")  # 120 % → 5 %
    assert lines[personas.mfg_am2.pk].commission == Decimal("1600.00")  # 80 % → 2 %
    assert lines[personas.mfg_am.pk].attainment == Decimal("120.0")
    # A rule for the rep beats the group's.
    services.rule_create(
        actor=admin,
        bu_id=mfg,
        name="个人",
        rate="1",
        valid_from=dt.date(2026, 1, 1),
        user_id=personas.mfg_am2.pk,
    )
    lines = {
        line.user_id: line for line in commission_now(actor=admin, period=Period.parse("2026-03"))
    }
    assert lines[personas.mfg_am2.pk].commission == Decimal("800.00")


# --- pages and exports --------------------------------------------------------------------


@pytest.mark.django_db
def test_dashboard_renders_empty_and_with_data(personas: Personas) -> None:
    client = ui_client(personas, "mfg_manager")
    with override("en"):
        response = client.get(reverse("forecast:dashboard"))
        assert response.status_code == 200
        assert b'data-testid="empty"' in response.content
        assert b"forecast-chart-data" not in response.content
        win(opportunity(personas, amount="250000"))
        services.quota_set(
            actor=personas.actor("mfg_manager"),
            bu_id=personas.units["mfg"].pk,
            period=timezone.localdate().strftime("%Y-%m"),
            amount="500000",
        )
        refresh()
        response = client.get(
            reverse("forecast:dashboard"), {"period": this_month().code, "level": "team"}
        )
    assert response.status_code == 200
    assert b"forecast-chart-data" in response.content and b"50.0%" in response.content
    assert ui_client(personas, "nobody").get(reverse("forecast:dashboard")).status_code == 403
    assert client.get(reverse("forecast:dashboard"), {"period": "bad"}).status_code == 200


@pytest.mark.django_db
def test_csv_export_needs_export_and_is_logged(personas: Personas) -> None:
    win(opportunity(personas, amount="250000"))
    refresh()
    assert ui_client(personas, "mfg_am").get(reverse("forecast:export")).status_code == 403
    client = ui_client(personas, "mfg_manager")
    response = client.get(reverse("forecast:export"), {"period": this_month().code})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    assert "华夏制造" in text and "250000.00" in text
    assert AccessRecord.objects.filter(kind="export", object_type="forecast").count() == 1
    response = client.get(reverse("forecast:commission_export"), {"period": this_month().code})
    assert response.status_code == 200


@pytest.mark.django_db
def test_quota_page_sets_and_deletes(personas: Personas) -> None:
    client = ui_client(personas, "mfg_manager")
    mfg = personas.units["mfg"].pk
    url = reverse("forecast:quotas") + f"?bu_id={mfg}&year=2026"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "targets": ["unit", str(personas.mfg_am.pk)],
            "start": "2026-01",
            "months": "12",
            "amount": "80000",
        },
    )
    assert response.status_code == 302
    assert Quota.objects.count() == 24
    response = client.post(
        url, {"targets": ["unit"], "start": "2026-01", "months": "1", "amount": "0"}
    )
    assert response.status_code == 200 and b"invalid-feedback" in response.content
    quota = Quota.objects.first()
    assert client.post(reverse("forecast:quota_delete", args=[quota.pk])).status_code == 302
    assert Quota.objects.count() == 23
    assert ui_client(personas, "mfg_am").get(url).status_code == 403
    other = ui_client(personas, "fin_manager")
    assert (
        other.post(reverse("forecast:quota_delete", args=[Quota.objects.first().pk])).status_code
        == 404
    )


@pytest.mark.django_db
def test_rollup_and_commission_pages(personas: Personas) -> None:
    parent = customer()
    child = customer(parent_id=parent.pk)
    opportunity(personas, customer_id=child.pk, amount="70000")
    opportunity(personas, unit="fin", owner="fin_am", customer_id=parent.pk, amount="30000")
    result = rollup_now(actor=personas.actor("analyst"))
    assert result.rows[0]["customer_id"] == parent.pk
    assert result.rows[0]["total"] == Decimal("100000")
    assert {u.pk for u in result.units} == {personas.units["mfg"].pk, personas.units["fin"].pk}
    mine = rollup_now(actor=personas.actor("fin_am"))
    assert mine.rows[0]["total"] == Decimal("30000")
    # A subsidiary's manager (precomputed ranking) and a team lead (summed) see mfg's.
    for who in ("mfg_manager", "mfg_lead"):
        rows = selectors.group_pipeline(actor=personas.actor(who)).rows
        assert [(r["customer_id"], r["total"]) for r in rows] == [(parent.pk, 70000)]
    client = ui_client(personas, "analyst")
    assert client.get(reverse("forecast:rollup")).status_code == 200
    assert client.get(reverse("forecast:commission")).status_code == 200


@pytest.mark.django_db
def test_split_editor_needs_admin_and_validates(personas: Personas) -> None:
    row = opportunity(personas, amount="100000")
    url = reverse("forecast:splits", args=[row.pk])
    assert ui_client(personas, "mfg_am").get(url).status_code == 403
    client = ui_client(personas, "mfg_manager")
    assert client.get(url).status_code == 200
    form = {
        "splits-TOTAL_FORMS": "2",
        "splits-INITIAL_FORMS": "0",
        "splits-0-bu_id": personas.units["mfg"].pk,
        "splits-0-user_id": personas.mfg_am.pk,
        "splits-0-percent": "60",
        "splits-1-bu_id": personas.units["fin"].pk,
        "splits-1-user_id": "",
        "splits-1-percent": "30",
    }
    response = client.post(url, form)
    assert response.status_code == 200 and not row.splits.exists()
    response = client.post(url, {**form, "splits-1-percent": "40"})
    assert response.status_code == 302 and row.splits.count() == 2
    detail = client.get(reverse("sales:detail", args=[row.pk]))
    assert b'data-testid="edit-splits"' in detail.content and b"40.00%" in detail.content


# --- API ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_forecast_quotas_and_commission(personas: Personas) -> None:
    api, auth = api_client(personas, "mfg_manager")
    mfg = personas.units["mfg"].pk
    win(opportunity(personas, amount="90000"))
    refresh()
    response = api.get(
        f"/api/v1/sales/forecast?period={this_month().code}&level=bu&bu_id={mfg}", **auth
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"]["won"] == "90000.00" and len(body["months"]) == 12
    assert api.get("/api/v1/sales/forecast?period=x", **auth).status_code == 422
    fin = personas.units["fin"].pk
    assert api.get(f"/api/v1/sales/forecast?bu_id={fin}", **auth).status_code == 422

    response = api.post(
        "/api/v1/sales/quotas",
        {
            "bu_id": mfg,
            "user_id": personas.mfg_am.pk,
            "period": "2026-01",
            "amount": "50000",
            "months": 3,
        },
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    ids = [q["id"] for q in response.json()]
    assert len(ids) == 3
    response = api.post(
        "/api/v1/sales/quotas",
        {"bu_id": mfg, "period": "2026-01", "amount": "0"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422 and "amount" in response.content.decode()
    listing = api.get("/api/v1/sales/quotas?period=2026-Q1", **auth).json()
    assert listing["count"] == 3
    response = api.patch(
        f"/api/v1/sales/quotas/{ids[0]}",
        {"amount": "60000"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200 and response.json()["amount"] == "60000.00"
    other, other_auth = api_client(personas, "fin_manager")
    assert other.get(f"/api/v1/sales/quotas/{ids[0]}", **other_auth).status_code == 404
    assert other.delete(f"/api/v1/sales/quotas/{ids[0]}", **other_auth).status_code == 404
    am, am_auth = api_client(personas, "mfg_am")
    assert {q["id"] for q in am.get("/api/v1/sales/quotas", **am_auth).json()["items"]} == set(ids)
    assert am.delete(f"/api/v1/sales/quotas/{ids[0]}", **am_auth).status_code == 404
    assert api.delete(f"/api/v1/sales/quotas/{ids[0]}", **auth).status_code == 204

    response = api.post(
        "/api/v1/sales/commission-rules",
        {
            "bu_id": mfg,
            "name": "制造",
            "rate": "4",
            "valid_from": "2026-01-01",
            "tiers": [{"from": 100, "rate": "6"}],
        },
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    response = api.get(f"/api/v1/sales/commission?period={this_month().code}", **auth)
    assert response.status_code == 200
    line = next(x for x in response.json() if x["user_id"] == personas.mfg_am.pk)
    assert line["won"] == "90000.00" and line["commission"] == "3600.00"
    assert api.get("/api/v1/sales/group-pipeline", **auth).status_code == 200


@pytest.mark.django_db
def test_api_forecast_category_and_splits_on_opportunities(personas: Personas) -> None:
    api, auth = api_client(personas, "mfg_manager")
    row = opportunity(personas, forecast_category="commit")
    response = api.get("/api/v1/sales/opportunities?forecast_category=commit", **auth)
    assert [o["id"] for o in response.json()["items"]] == [row.pk]
    assert response.json()["items"][0]["forecast_category"] == "commit"
    response = api.patch(
        f"/api/v1/sales/opportunities/{row.pk}",
        {"version": row.version, "forecast_category": "nonsense"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422
    response = api.put(
        f"/api/v1/sales/opportunities/{row.pk}/splits",
        {"splits": [{"bu_id": personas.units["mfg"].pk, "percent": "100"}]},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200, response.content
    assert response.json() == [
        {"bu_id": personas.units["mfg"].pk, "user_id": None, "percent": "100.00"}
    ]


@pytest.mark.django_db
def test_figures_follow_the_refresh_which_managers_may_trigger(personas: Personas) -> None:
    win(opportunity(personas, amount="120000"))
    admin = personas.actor("admin")
    assert selectors.forecast(actor=admin, period=this_month()).total.won == 0
    assert selectors.refreshed_at() is None
    assert ui_client(personas, "mfg_am").post(reverse("forecast:refresh")).status_code == 403
    response = ui_client(personas, "mfg_manager").post(reverse("forecast:refresh"))
    assert response.status_code == 302
    assert selectors.forecast(actor=admin, period=this_month()).total.won == 120000
    assert selectors.refreshed_at() is not None


@pytest.mark.django_db
def test_quota_csv_import_is_all_or_nothing(personas: Personas) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = ui_client(personas, "mfg_manager")
    url = reverse("forecast:quota_import")
    good = "unit,user,month,amount\nmfg,,2026-01,900000\nmfg,mfg_am,2026-01,300000\n"
    bad = good + "fin,fin_am,2026-01,100\nmfg,ghost,2026-02,5\n"
    response = client.post(url, {"file": SimpleUploadedFile("q.csv", bad.encode("utf-8-sig"))})
    assert response.status_code == 302 and not Quota.objects.exists()
    with pytest.raises(ValidationError) as error:
        services.quota_import(
            actor=personas.actor("mfg_manager"),
            rows=[{"unit": "mfg", "user": "ghost", "month": "2026-02", "amount": "5"}],
        )
    assert "line 2" in error.value.fields
    response = client.post(url, {"file": SimpleUploadedFile("q.csv", good.encode("utf-8"))})
    assert response.status_code == 302
    assert sorted(Quota.objects.values_list("amount", flat=True)) == [300000, 900000]


@pytest.mark.django_db
def test_a_win_rebuilds_the_figures_at_once_and_a_burst_at_most_every_half_minute(
    personas: Personas,
) -> None:
    admin = personas.actor("admin")
    row = opportunity(personas, amount="150000")
    stage = Stage.objects.get(pipeline=row.pipeline, outcome=Stage.Outcome.WON)
    sales_services.opportunity_move(
        actor=personas.actor("mfg_am"), pk=row.pk, stage_id=stage.pk, version=row.version
    )
    assert selectors.forecast(actor=admin, period=this_month()).total.won == 0
    outbox_drain()  # the worker delivers sales.opportunity_won
    assert selectors.forecast(actor=admin, period=this_month()).total.won == 150000
    first = selectors.refreshed_at()
    # A second win right after: the figures wait for the five-minute job.
    second = opportunity(personas, amount="50000")
    sales_services.opportunity_move(
        actor=personas.actor("mfg_am"), pk=second.pk, stage_id=stage.pk, version=second.version
    )
    outbox_drain()
    assert selectors.refreshed_at() == first
    assert selectors.forecast(actor=admin, period=this_month()).total.won == 150000
