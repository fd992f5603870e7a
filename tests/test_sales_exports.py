"""Contract, receivables and quote exports: the lists' filters and the viewer's scope,
CSV and XLSX, an access record each, `*.export` needed, bad format a clear 422."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django.urls import reverse
from openpyxl import load_workbook
from playwright.sync_api import Page

from groupcrm.audit.models import AccessRecord
from groupcrm.core.testing.battery import api_client, ui_client
from groupcrm.core.testing.personas import Personas
from groupcrm.sales.contracts import services as contract_services
from tests.test_contracts import HALVES, contract
from tests.test_quotes import quote

pytestmark = pytest.mark.usefixtures("default_pipeline")
API = "/api/v1/sales"


def csv_body(response: object) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]


def xlsx_rows(response: object) -> list[list[object]]:
    book = load_workbook(io.BytesIO(response.content))  # type: ignore[attr-defined]
    return [list(row) for row in book.active.iter_rows(values_only=True)]


def exports(object_type: str) -> int:
    return AccessRecord.objects.filter(
        kind=AccessRecord.Kind.EXPORT, object_type=object_type
    ).count()


# --- contracts --------------------------------------------------------------------------


@pytest.mark.django_db
def test_contract_export_follows_filters_and_scope_and_is_logged(personas: Personas) -> None:
    mfg = contract(personas, plan=HALVES, activate=True)
    draft = contract(personas)
    fin = contract(personas, unit="fin", owner="fin_am")
    client = ui_client(personas, "mfg_manager")
    response = client.get(reverse("contracts:export") + "?format=csv&status=active&page=2")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    body = csv_body(response)
    assert [len(row) for row in csv.reader(body.splitlines())] == [13, 13]
    assert mfg.number in body and draft.number not in body and fin.number not in body
    assert "300000.00" in body  # amount, with received and outstanding beside it
    record = AccessRecord.objects.get(kind=AccessRecord.Kind.EXPORT)
    assert record.object_type == "contracts.contract" and "status=active" in record.detail
    assert "csv · 1" in record.detail

    api, auth = api_client(personas, "fin_manager")
    response = api.get(f"{API}/contracts/export?format=xlsx", **auth)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    numbers = [row[0] for row in xlsx_rows(response)[1:]]
    assert numbers == [fin.number]  # a fin manager never takes mfg contracts out
    assert exports("contracts.contract") == 2


@pytest.mark.django_db
def test_contract_export_needs_the_permission_and_a_known_format(personas: Personas) -> None:
    contract(personas)
    am, am_auth = api_client(personas, "mfg_am")
    assert am.get(f"{API}/contracts/export", **am_auth).status_code == 403
    assert ui_client(personas, "mfg_am").get(reverse("contracts:export")).status_code == 403
    api, auth = api_client(personas, "mfg_manager")
    response = api.get(f"{API}/contracts/export?format=pdf", **auth)
    assert response.status_code == 422
    assert response.json()["errors"]["format"] == ["请选择 csv 或 xlsx 格式。"]
    assert exports("contracts.contract") == 0


@pytest.mark.django_db
def test_export_buttons_show_only_with_the_permission(personas: Personas) -> None:
    contract(personas)
    for who, shown in (("mfg_manager", True), ("mfg_am", False)):
        client = ui_client(personas, who)
        page = client.get(reverse("contracts:list")).content.decode()
        assert ('data-testid="contract-export"' in page) is shown
        page = client.get(reverse("contracts:receivables")).content.decode()
        assert ('data-testid="receivables-export"' in page) is shown
        page = client.get(reverse("quotes:list")).content.decode()
        assert ('data-testid="quote-export"' in page) is shown


@pytest.mark.django_db
@override_settings(EXPORT_INLINE_MAX_ROWS=1)
def test_more_rows_than_a_download_carries_are_refused(personas: Personas) -> None:
    contract(personas)
    contract(personas)
    api, auth = api_client(personas, "mfg_manager")
    response = api.get(f"{API}/contracts/export?format=csv", **auth)
    assert response.status_code == 422 and "too_many_rows" in json.dumps(response.json())
    assert exports("contracts.contract") == 0


# --- receivables ------------------------------------------------------------------------


@pytest.mark.django_db
def test_receivables_export_can_take_overdue_only_within_scope(personas: Personas) -> None:
    late = contract(personas, plan=HALVES, activate=True)
    on_time = contract(personas, plan=[(30, "300000")], activate=True)
    fin = contract(personas, unit="fin", owner="fin_am", plan=HALVES, activate=True)
    contract_services.overdue_detect()
    client = ui_client(personas, "mfg_manager")
    body = csv_body(client.get(reverse("contracts:receivables_export") + "?format=csv"))
    assert late.number in body and on_time.number in body and fin.number not in body
    body = csv_body(client.get(reverse("contracts:receivables_export") + "?format=csv&overdue=1"))
    assert late.number in body and on_time.number not in body
    assert "150000.00" in body  # the overdue part

    api, auth = api_client(personas, "fin_manager")
    response = api.get(f"{API}/receivables/export?format=xlsx&overdue=true", **auth)
    assert response.status_code == 200
    assert [row[0] for row in xlsx_rows(response)[1:]] == [fin.number]
    record = AccessRecord.objects.filter(object_type="contracts.receivables").latest("pk")
    assert "overdue=true" in record.detail
    assert exports("contracts.receivables") == 3
    am, am_auth = api_client(personas, "mfg_am")
    assert am.get(f"{API}/receivables/export", **am_auth).status_code == 403
    assert api.get(f"{API}/receivables/export?format=doc", **auth).status_code == 422


# --- quotes -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_quote_export_lists_versions_totals_and_follows_scope(personas: Personas) -> None:
    mfg = quote(personas)
    fin = quote(personas, unit="fin", owner="fin_am")
    api, auth = api_client(personas, "mfg_manager")
    response = api.get(f"{API}/quotes/export?format=xlsx", **auth)
    assert response.status_code == 200
    header, *rows = xlsx_rows(response)
    assert len(header) == 12
    [row] = rows
    assert row[0] == mfg.number and row[1] == 1
    assert row[7:10] == [2000, 260, 2260]  # net, tax at 13 %, gross
    assert fin.number not in {r[0] for r in rows}
    response = ui_client(personas, "fin_manager").get(
        reverse("quotes:export") + "?format=csv&q=" + fin.number
    )
    body = csv_body(response)
    assert [len(row) for row in csv.reader(body.splitlines())] == [12, 12]
    assert fin.number in body and mfg.number not in body
    assert exports("quotes.quote") == 2
    am, am_auth = api_client(personas, "mfg_am")
    assert am.get(f"{API}/quotes/export", **am_auth).status_code == 403
    response = api.get(f"{API}/quotes/export?format=json", **auth)
    assert response.status_code == 422 and "format" in response.json()["errors"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_manager_downloads_the_overdue_receivables_in_chromium(
    page: Page, live_server: Any, personas: Personas, sign_in: Any
) -> None:
    late = contract(personas, plan=HALVES, activate=True)
    on_time = contract(personas, plan=[(30, "300000")], activate=True)
    contract_services.overdue_detect()
    sign_in(page, live_server.url, "mfg_manager")
    page.goto(f"{live_server.url}/sales/contracts/receivables/")
    page.check("#overdue")
    page.get_by_test_id("receivable-filters").get_by_role("button").first.click()
    page.wait_for_url("**overdue=1**")
    with page.expect_download() as download:
        page.get_by_test_id("receivables-export").get_by_text("CSV").click()
    body = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert late.number in body and on_time.number not in body
    assert download.value.suggested_filename.endswith(".csv")
