"""Revenue splits (issue 5): who is credited with a won opportunity's amount, by unit and
rep; the forecast categories an owner sets on an open opportunity; the 360 page's panels
that other sales modules add."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from groupcrm.audit.models import ChangeRecord
from groupcrm.core.errors import PermissionDenied, ValidationError
from groupcrm.core.models import OutboxEvent
from groupcrm.core.testing.battery import ui_client
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import selectors as customer_selectors
from groupcrm.sales import services
from groupcrm.sales.models import Opportunity, RevenueSplit
from groupcrm.sales.selectors import splits_of
from tests.test_sales_opportunities import opportunity

pytestmark = pytest.mark.usefixtures("default_pipeline")


def shares(personas: Personas, *rows: tuple[str, str | None, Any]) -> list[dict[str, Any]]:
    return [
        {
            "bu_id": personas.units[unit].pk,
            "user_id": getattr(personas, user).pk if user else None,
            "percent": percent,
        }
        for unit, user, percent in rows
    ]


@pytest.mark.django_db
def test_without_splits_the_own_unit_and_owner_get_everything(personas: Personas) -> None:
    row = opportunity(personas)
    assert splits_of(row) == [(personas.units["mfg"].pk, personas.mfg_am.pk, Decimal(100))]


@pytest.mark.django_db
def test_splits_replace_each_other_are_audited_and_published(personas: Personas) -> None:
    row = opportunity(personas, amount="1000000")
    admin = personas.actor("admin")
    services.opportunity_set_splits(
        actor=admin, pk=row.pk, shares=shares(personas, ("mfg", "mfg_am", 70), ("fin", None, 30))
    )
    services.opportunity_set_splits(
        actor=admin,
        pk=row.pk,
        shares=shares(personas, ("mfg", "mfg_am", "60.50"), ("fin", "fin_am", "39.50")),
    )
    splits = list(RevenueSplit.objects.filter(opportunity=row))
    assert sorted(s.percent for s in splits) == [Decimal("39.50"), Decimal("60.50")]
    assert {s.amount_of(row.amount) for s in splits} == {Decimal("395000.00"), Decimal("605000.00")}
    assert ChangeRecord.objects.filter(verb="splits_changed").count() == 2
    assert OutboxEvent.objects.filter(name="sales.opportunity_splits_changed").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "rows, field",
    [
        ((("mfg", None, 70), ("fin", None, 20)), "splits"),  # 90 %
        ((("mfg", None, 70), ("fin", None, 40)), "splits"),  # 110 %
        ((("mfg", None, "abc"), ("fin", None, 100)), "splits.0.percent"),
        ((("mfg", None, 0), ("fin", None, 100)), "splits.0.percent"),
        ((("mfg", None, -10), ("fin", None, 110)), "splits.0.percent"),
        ((("mfg", None, "33.333"), ("fin", None, "66.667")), "splits.0.percent"),
        ((("mfg", None, 50), ("mfg", None, 50)), "splits.1.bu_id"),
        ((("mfg", "fin_am", 50), ("fin", None, 50)), "splits.0.user_id"),
        ((), "splits"),
    ],
)
def test_bad_splits_are_refused_and_nothing_changes(
    personas: Personas, rows: tuple, field: str
) -> None:
    row = opportunity(personas)
    services.opportunity_set_splits(
        actor=personas.actor("admin"), pk=row.pk, shares=shares(personas, ("mfg", None, 100))
    )
    with pytest.raises(ValidationError) as caught:
        services.opportunity_set_splits(
            actor=personas.actor("admin"), pk=row.pk, shares=shares(personas, *rows)
        )
    assert field in caught.value.fields
    assert [s.percent for s in RevenueSplit.objects.filter(opportunity=row)] == [Decimal(100)]


@pytest.mark.django_db
def test_split_messages_are_translated(personas: Personas) -> None:
    row = opportunity(personas)
    bad = shares(personas, ("mfg", None, 50))
    with translation.override("en"), pytest.raises(ValidationError) as english:
        services.opportunity_set_splits(actor=personas.actor("admin"), pk=row.pk, shares=bad)
    with translation.override("zh-hans"), pytest.raises(ValidationError) as chinese:
        services.opportunity_set_splits(actor=personas.actor("admin"), pk=row.pk, shares=bad)
    assert english.value.fields["splits"] == ["The shares must add up to exactly 100 per cent."]
    assert chinese.value.fields["splits"] != english.value.fields["splits"]


@pytest.mark.django_db
def test_only_sales_administrators_set_splits_by_hand(personas: Personas) -> None:
    row = opportunity(personas)
    with pytest.raises(PermissionDenied):
        services.opportunity_set_splits(
            actor=personas.actor("mfg_am"), pk=row.pk, shares=shares(personas, ("mfg", None, 100))
        )


@pytest.mark.django_db
def test_forecast_category_is_validated(personas: Personas) -> None:
    row = opportunity(personas, forecast_category="commit")
    assert row.forecast_category == Opportunity.ForecastCategory.COMMIT
    with pytest.raises(ValidationError) as caught:
        services.opportunity_update(
            actor=personas.actor("mfg_am"), pk=row.pk, version=row.version, forecast_category="x"
        )
    assert "forecast_category" in caught.value.fields


@pytest.mark.django_db
def test_a_registered_panel_shows_on_the_360_page_only_when_it_has_something(
    personas: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = opportunity(personas)
    monkeypatch.setattr(customer_selectors, "PANELS", {})
    customer_selectors.register_panel(
        "probe",
        "includes/pagination.html",
        lambda actor, customer: {"n": 1} if actor.can("opportunities", "admin") else None,
    )
    url = reverse("customers:detail", args=[row.customer_id])
    assert b'id="panel-probe"' in ui_client(personas, "admin").get(url).content
    assert b'id="panel-probe"' not in ui_client(personas, "mfg_am").get(url).content
    data = customer_selectors.view360(actor=personas.actor("mfg_am"), pk=row.customer_id)
    assert data["panels"] == []
