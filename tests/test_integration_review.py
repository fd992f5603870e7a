"""Review of issue 4's integration work: the job page's progress, the one rejected-rows
workbook, and the bugs the review found (a searched phone kept in the audit trail, 500s
on non-ASCII digits, decisions and sources without their events)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from groupcrm.audit.models import AccessRecord, ChangeRecord
from groupcrm.core.models import OutboxEvent
from groupcrm.core.testing.battery import api_client, ui_client
from groupcrm.core.testing.personas import Personas
from groupcrm.customers.models import Customer
from groupcrm.integration import exports, matching, services
from groupcrm.integration.models import (
    ContactPair,
    DuplicatePair,
    ExportJob,
    ImportJob,
    ImportSource,
    RowIssue,
)
from tests.test_dedup_contacts import _master
from tests.test_exports import company, many_contacts
from tests.test_integration import start, zoho_file

# Digits to str.isdigit() that int() refuses.
NOT_ASCII_DIGITS = ("²", "1²")


@pytest.fixture(autouse=True)
def _files_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path


# --- loose ends: the job page ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_job_page_shows_the_rate_and_time_left_of_a_running_import(
    personas: Personas,
) -> None:
    zoho = ImportSource.objects.create(name="Zoho", kind="zoho")
    job = ImportJob.objects.create(
        bu=personas.units["mfg"],
        owner=personas.mfg_manager,
        source=zoho,
        entity="customers",
        filename="big.csv",
        stored_as="/nonexistent",
        status=ImportJob.Status.RUNNING,
        total_rows=10_000,
        done_rows=2_500,
        started_at=timezone.now() - dt.timedelta(seconds=10),
    )
    page = ui_client(personas, "mfg_manager")
    html = page.get(reverse("integration:job", args=[job.pk]), HTTP_HX_REQUEST="true").content
    partial = page.get(
        reverse("integration:job", args=[job.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="job-progress",
    ).content.decode()
    assert 'data-progress="rate"' in html.decode()
    # 2,500 rows in about 10 s: about 250 rows/s, 7,500 rows (about 30 s) left.
    assert "250" in partial and 'style="width:25%"' in partial
    assert 'data-progress="eta"' in partial
    job.status, job.done_rows = ImportJob.Status.DONE, 10_000
    job.save()
    done = page.get(reverse("integration:job", args=[job.pk])).content.decode()
    assert 'data-progress="rate"' not in done and 'style="width:100%"' in done


@pytest.mark.django_db
def test_the_job_page_and_the_api_hand_out_the_same_logged_workbook(
    personas: Personas, tmp_path: Path
) -> None:
    job = start(personas, zoho_file(tmp_path))  # one row has "很多" employees
    assert RowIssue.objects.filter(job=job).exists()
    page = ui_client(personas, "mfg_manager").get(reverse("integration:report", args=[job.pk]))
    client, auth = api_client(personas, "mfg_manager")
    api = client.get(f"/api/v1/imports/{job.pk}/report.xlsx", **auth)
    assert page.status_code == api.status_code == 200
    assert page["Content-Type"] == api["Content-Type"]
    assert page["Content-Disposition"] == api["Content-Disposition"]

    def rows(body: bytes) -> list[tuple[Any, ...]]:
        return list(load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))

    assert rows(page.content) == rows(api.content) and len(rows(page.content)) >= 2
    assert AccessRecord.objects.filter(kind="export", object_id=str(job.pk)).count() == 2


# --- personal data: a searched phone stays out of the audit trail ---------------------------


@pytest.mark.django_db
def test_an_export_searched_by_phone_keeps_the_number_out_of_the_audit_trail(
    personas: Personas,
) -> None:
    many_contacts(personas)
    client, auth = api_client(personas, "mfg_manager")
    response = client.post(
        "/api/v1/exports",
        {"entity": "contacts", "format": "csv", "filters": {"q": "13912345678"}},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 202
    job = ExportJob.objects.get()
    assert job.filters == {"q": "13912345678"}  # the job itself needs it to run
    record = ChangeRecord.objects.get(object_type="integration.exportjob", object_id=str(job.pk))
    assert "13912345678" not in str(record.changes)
    assert record.changes["filters"] == [None, {"q": "139****5678"}]
    exports.export_run(job.pk)
    assert "13912345678" not in AccessRecord.objects.get(object_id=str(job.pk)).detail


# --- bad input never gives a 500 ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("trust", NOT_ASCII_DIGITS)
def test_a_trust_in_other_digits_is_a_field_error(personas: Personas, trust: str) -> None:
    source = ImportSource.objects.create(name="ERP", trust=80)
    page = ui_client(personas, "admin")
    response = page.post(reverse("integration:source_trust", args=[source.pk]), {"trust": trust})
    assert response.status_code == 422
    source.refresh_from_db()
    assert source.trust == 80
    assert not OutboxEvent.objects.filter(name="integration.source_trust_set").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("customer_id", NOT_ASCII_DIGITS)
def test_an_export_filter_in_other_digits_is_a_field_error(
    personas: Personas, customer_id: str
) -> None:
    company("长江钢铁有限公司", "mfg", personas)
    client, auth = api_client(personas, "mfg_manager")
    response = client.post(
        "/api/v1/exports",
        {"entity": "contacts", "format": "csv", "filters": {"customer_id": customer_id}},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422 and "filters" in response.content.decode()
    page = ui_client(personas, "mfg_manager").post(
        reverse("exports:start"),
        {"entity": "contacts", "format": "csv", "query": f"customer_id={customer_id}"},
    )
    assert page.status_code == 422
    assert not ExportJob.objects.exists()
    assert not AccessRecord.objects.filter(kind="export").exists()


def _customer_pair(personas: Personas) -> DuplicatePair:
    left = company("长江钢铁有限公司", "mfg", personas)
    right = company("长江钢铁股份有限公司", "mfg", personas)
    return DuplicatePair.objects.create(left=left, right=right, probability=0.9)


@pytest.mark.django_db
@pytest.mark.parametrize("survivor", NOT_ASCII_DIGITS)
def test_a_merge_decision_with_a_survivor_in_other_digits_is_refused(
    personas: Personas, survivor: str
) -> None:
    pair = _customer_pair(personas)
    page = ui_client(personas, "admin")
    response = page.post(
        reverse("integration:duplicate_decide", args=[pair.pk]),
        {"decision": "merge", "survivor_id": survivor},
    )
    assert response.status_code == 422
    pair.refresh_from_db()
    assert pair.status == DuplicatePair.Status.PENDING
    assert Customer.objects.filter(status=Customer.Status.MERGED).count() == 0


# --- services publish their events ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("entity", [matching.CUSTOMERS, matching.CONTACTS])
def test_a_pair_decision_is_published(personas: Personas, entity: str) -> None:
    if entity == matching.CUSTOMERS:
        pair_id = _customer_pair(personas).pk
    else:
        made = _master(personas)
        left, right = sorted((made["zw"].pk, made["zw2"].pk))
        pair_id = ContactPair.objects.create(left_id=left, right_id=right, probability=0.9).pk
    matching.pair_decide(
        actor=personas.actor("admin"), pk=pair_id, decision="distinct", entity=entity
    )
    event = OutboxEvent.objects.get(name="integration.pair_decided")
    assert event.payload == {
        "entity": entity,
        "pair_id": pair_id,
        "decision": "distinct",
        "status": "distinct",
    }


@pytest.mark.django_db
def test_a_new_import_source_is_published(personas: Personas) -> None:
    source = services.source_create(actor=personas.actor("admin"), name="集团ERP", kind="generic")
    event = OutboxEvent.objects.get(name="integration.source_created")
    assert event.payload == {"source_id": source.pk}
