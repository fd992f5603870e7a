"""A record's data quality by dimension (issue: data integration, point 6): completeness,
validity, freshness and duplicate suspicion, on the 360° page and through the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from groupcrm.core.actor import Actor
from groupcrm.customers import services
from groupcrm.customers.models import Customer
from groupcrm.integration.models import DuplicatePair

pytestmark = pytest.mark.django_db


def _customer(personas, name: str, **fields) -> Customer:  # type: ignore[no-untyped-def]
    customer = services.customer_create(
        actor=Actor.system("tests"),
        legal_name=name,
        start_relationship=False,
        similar_override_reason="test",
        **fields,
    )
    services.relationship_start(
        actor=Actor.system("tests"), customer_id=customer.pk, bu_id=personas.units["mfg"].pk
    )
    return customer


def test_each_dimension_is_measured_and_shown(personas) -> None:  # type: ignore[no-untyped-def]
    bare = _customer(personas, "杭州鼎盛食品有限公司", address="火星基地一号")
    other = _customer(personas, "杭州鼎盛食品股份有限公司", address="浙江省杭州市西湖区文三路1号")
    Customer.objects.filter(pk=bare.pk).update(updated_at=timezone.now() - dt.timedelta(days=400))
    left, right = sorted((bare.pk, other.pk))
    DuplicatePair.objects.create(left_id=left, right_id=right, probability=0.9, reasons=[])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {personas.token('mfg_manager')}")
    figures = api.get(f"/api/v1/imports/quality/customers/{bare.pk}").json()
    assert figures["completeness"] == 20  # only the address of five key fields
    assert figures["valid"] is False
    assert figures["fresh"] is False
    assert figures["suspected_duplicates"] == 1
    assert {i["code"] for i in figures["issues"]} >= {"missing_uscc", "unknown_region"}
    fresh = api.get(f"/api/v1/imports/quality/customers/{other.pk}").json()
    assert fresh["valid"] is True and fresh["fresh"] is True
    page = Client()
    page.force_login(personas.mfg_manager)
    html = page.get(f"/customers/{bare.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-testid="quality-panel"' in html
    assert "无信用代码" in html and "待审" in html


def test_it_needs_customers_view_and_an_existing_record(personas) -> None:  # type: ignore[no-untyped-def]
    customer = _customer(personas, "杭州鼎盛食品有限公司")
    refused = Client(HTTP_AUTHORIZATION=f"Bearer {personas.token('nobody')}")
    assert refused.get(f"/api/v1/imports/quality/customers/{customer.pk}").status_code == 403
    api = Client(HTTP_AUTHORIZATION=f"Bearer {personas.token('fin_am')}")
    assert api.get("/api/v1/imports/quality/customers/99999999").status_code == 404
