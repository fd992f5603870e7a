"""我的客户 and 公海 export like the customer list (issue: data integration, point 7, "any
customer/contact list"): the menu carries the page's filters, and the file holds the
customers the page lists, within the viewer's scope."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.urls import reverse

from groupcrm.core.testing.battery import ui_client
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import services
from tests.test_exports import SYSTEM, company


@pytest.fixture(autouse=True)
def _files_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path


def _menu_query(html: str, entity: str = "customers") -> str:
    """The filters the 导出 menu sends with ``entity``."""
    marker = f'name="entity" value="{entity}"><input type="hidden" name="query" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)].replace("&amp;", "&")


def _exported(page: Any, query: str) -> list[str]:
    response = page.post(
        reverse("exports:start"), {"entity": "customers", "format": "csv", "query": query}
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    return sorted(row[1] for row in rows[1:])


@pytest.mark.django_db
def test_my_customers_export_what_the_page_lists(personas: Personas) -> None:
    mine = company("长江钢铁有限公司", "mfg", personas)
    company("泰山玻璃有限公司", "mfg", personas)
    company("珠江银行有限公司", "fin", personas)
    company("无人合作有限公司", None, personas)
    rel = mine.relationships.get()
    services.relationship_assign(actor=SYSTEM, pk=rel.pk, owner_id=personas.mfg_manager.pk)
    page = ui_client(personas, "mfg_manager")
    html = page.get(reverse("customers:relationships")).content.decode()
    query = _menu_query(html)
    assert parse_qs(query) == {"engaged": ["1"]}
    assert _exported(page, query) == ["泰山玻璃有限公司", "长江钢铁有限公司"]
    html = page.get(reverse("customers:relationships") + "?mine=1").content.decode()
    assert _exported(page, _menu_query(html)) == ["长江钢铁有限公司"]
    html = ui_client(personas, "mfg_am").get(reverse("customers:relationships")).content.decode()
    assert 'data-testid="export-menu"' not in html  # no export right


@pytest.mark.django_db
def test_the_public_pool_exports_its_search(personas: Personas) -> None:
    company("长江钢铁有限公司", "mfg", personas)
    company("泰山玻璃有限公司", "mfg", personas)
    company("珠江银行有限公司", "fin", personas)
    page = ui_client(personas, "mfg_manager")
    unit = personas.units["mfg"].pk
    html = page.get(reverse("customers:pool") + f"?q=长江&bu={unit}").content.decode()
    query = _menu_query(html)
    assert parse_qs(query) == {"pool": ["1"], "q": ["长江"], "bu_id": [str(unit)]}
    assert _exported(page, query) == ["长江钢铁有限公司"]
    html = page.get(reverse("customers:pool")).content.decode()
    assert _exported(page, _menu_query(html)) == ["泰山玻璃有限公司", "长江钢铁有限公司"]


@pytest.mark.django_db
def test_my_customers_export_their_relationships(personas: Personas, settings: Any) -> None:
    from groupcrm.integration.exports import export_file, export_run, export_start
    from groupcrm.integration.models import ExportJob

    mine = company("长江钢铁有限公司", "mfg", personas)
    company("泰山玻璃有限公司", "mfg", personas)
    company("珠江银行有限公司", "fin", personas)
    services.relationship_assign(
        actor=SYSTEM, pk=mine.relationships.get().pk, owner_id=personas.mfg_manager.pk
    )
    page = ui_client(personas, "mfg_manager")
    html = page.get(reverse("customers:relationships") + "?mine=1").content.decode()
    query = _menu_query(html, "relationships")
    assert parse_qs(query) == {"mine": ["1"]}
    response = page.post(
        reverse("exports:start"), {"entity": "relationships", "format": "csv", "query": query}
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][2:6] == [
        "长江钢铁有限公司",
        "华夏制造",
        "mfg_manager",
        "潜在",
    ]
    html = page.get(reverse("customers:relationships")).content.decode()
    response = page.post(
        reverse("exports:start"),
        {"entity": "relationships", "format": "csv", "query": _menu_query(html, "relationships")},
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert sorted(r[2] for r in rows[1:]) == ["泰山玻璃有限公司", "长江钢铁有限公司"]
    # A large set is written in the background, the same rows.
    settings.EXPORT_INLINE_MAX_ROWS = 1
    job = export_start(
        actor=personas.actor("mfg_manager"),
        entity="relationships",
        format="xlsx",
        filters={},
        run=False,
    )
    export_run(job.pk)
    assert ExportJob.objects.get(pk=job.pk).done_rows == 2
    assert export_file(actor=personas.actor("mfg_manager"), pk=job.pk)[0].stat().st_size > 0
    # An unknown stage is a clear error, through the API too.
    from groupcrm.core.testing.battery import api_client

    client, auth = api_client(personas, "mfg_manager")
    refused = client.post(
        "/api/v1/exports",
        {"entity": "relationships", "format": "csv", "filters": {"stage": "飞鸽"}},
        content_type="application/json",
        **auth,
    )
    assert refused.status_code == 422 and "stage" in refused.content.decode()
