"""Exports of the customer and contact lists (issue 4): masked and scoped like the screen,
logged, a background job for a large set whose file belongs to the person who asked,
progress, expiry, and the same through the API."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import os
import time
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from groupcrm.audit.models import AccessRecord, ChangeRecord
from groupcrm.core.actor import Actor
from groupcrm.core.errors import ValidationError
from groupcrm.core.testing.battery import api_client, ui_client
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import export
from groupcrm.customers import services as customers
from groupcrm.customers.models import Customer
from groupcrm.integration import exports, tasks
from groupcrm.integration.models import ExportJob
from groupcrm.integration.tasks import remove_expired_exports

SYSTEM = Actor.system("tests")
MOBILES = ["13912345678", "13800138000", "13711112222", "13633334444", "13555556666"]


@pytest.fixture(autouse=True)
def _files_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path


def company(name: str, unit: str | None, personas: Personas) -> Customer:
    customer = customers.customer_create(
        actor=SYSTEM,
        legal_name=name,
        start_relationship=False,
        similar_override_reason="test data",
    )
    if unit:
        customers.relationship_start(
            actor=SYSTEM, customer_id=customer.pk, bu_id=personas.units[unit].pk
        )
    return customer


def person(customer: Customer, name: str, mobile: str, **fields: Any) -> None:
    customers.contact_create(
        actor=SYSTEM, customer_id=customer.pk, name=name, mobile=mobile, **fields
    )


def table(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())  # the BOM Excel needs for Chinese
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def many_contacts(personas: Personas) -> list[Customer]:
    """Five contacts at two 华夏制造 customers, one at a 华夏金融 customer."""
    steel = company("长江钢铁有限公司", "mfg", personas)
    glass = company("泰山玻璃有限公司", "mfg", personas)
    bank = company("珠江银行有限公司", "fin", personas)
    for n, mobile in enumerate(MOBILES):
        person(steel if n < 3 else glass, f"联系人{n}", mobile, email=f"p{n}@example.com")
    person(bank, "钱行长", "13999990000")
    return [steel, glass, bank]


def start_large(personas: Personas, settings: Any, fmt: str = "csv") -> ExportJob:
    """What the 导出 button does with more rows than EXPORT_INLINE_MAX_ROWS."""
    settings.EXPORT_INLINE_MAX_ROWS = 2
    response = ui_client(personas, "mfg_manager").post(
        reverse("exports:start"), {"entity": "contacts", "format": fmt, "query": ""}
    )
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "exports:job", args=[job.pk]
    )
    return job


# --- contact lists, at once ----------------------------------------------------------------


@pytest.mark.django_db
def test_it_exports_a_customers_contacts_masked_and_logged(personas: Personas) -> None:
    steel = company("长江钢铁有限公司", "mfg", personas)
    person(steel, "赵敏", "13912345678", email="zhao.min@example.com", wechat_id="zm_wx")
    page = ui_client(personas, "mfg_manager")
    html = page.get(reverse("customers:detail", args=[steel.pk])).content.decode()
    assert 'name="entity" value="contacts"' in html and f"customer_id={steel.pk}" in html
    response = page.post(
        reverse("exports:start"),
        {"entity": "contacts", "format": "csv", "query": f"customer_id={steel.pk}&page=2"},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    header, *rows = table(b"".join(response.streaming_content))
    [row] = rows
    assert len(header) == len(row) == 14
    assert "赵敏" in row and "长江钢铁有限公司" in row
    assert "139****5678" in row and "z***@example.com" in row and "z***" in row
    body = ",".join(row)
    assert "13912345678" not in body and "zhao.min" not in body and "zm_wx" not in body
    record = AccessRecord.objects.get(kind="export", actor=personas.mfg_manager)
    assert record.object_type == "customers.contact" and f"customer_id={steel.pk}" in record.detail
    response = page.post(
        reverse("exports:start"),
        {"entity": "contacts", "format": "xlsx", "query": f"customer_id={steel.pk}"},
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert len(values) == 2 and "139****5678" in values[1]
    assert AccessRecord.objects.filter(kind="export").count() == 2


@pytest.mark.django_db
def test_it_leaves_out_contacts_of_customers_other_units_work_with(personas: Personas) -> None:
    steel, _glass, _bank = many_contacts(personas)

    def names(who: str, query: str = "") -> set[str]:
        response = ui_client(personas, who).post(
            reverse("exports:start"), {"entity": "contacts", "format": "csv", "query": query}
        )
        assert response.status_code == 200, response.content
        return {row[3] for row in table(b"".join(response.streaming_content))[1:]}

    assert names("fin_manager") == {"钱行长"}
    assert names("mfg_manager") == {f"联系人{n}" for n in range(5)}
    assert names("mfg_manager", "q=长江") == {"联系人0", "联系人1", "联系人2"}
    assert names("fin_manager", f"customer_id={steel.pk}") == set()
    assert names("admin") == {f"联系人{n}" for n in range(5)} | {"钱行长"}  # group-wide right
    # Without the export right there is no export at all.
    response = ui_client(personas, "mfg_am").post(
        reverse("exports:start"), {"entity": "contacts", "format": "csv", "query": ""}
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_it_offers_both_lists_from_the_customer_list(personas: Personas) -> None:
    company("长江钢铁有限公司", "mfg", personas)
    html = ui_client(personas, "mfg_manager").get(reverse("customers:list")).content.decode()
    assert 'value="customers"' in html and 'value="contacts"' in html
    assert reverse("exports:list") in html
    html = ui_client(personas, "mfg_am").get(reverse("customers:list")).content.decode()
    assert 'data-testid="export-menu"' not in html


@pytest.mark.django_db
def test_it_downloads_a_small_customer_list_at_once_and_refuses_a_large_one_on_get(
    personas: Personas, settings: Any
) -> None:
    many_contacts(personas)
    page = ui_client(personas, "mfg_manager")
    response = page.post(
        reverse("exports:start"), {"entity": "customers", "format": "csv", "query": "q=长江"}
    )
    [_header, row] = table(b"".join(response.streaming_content))
    assert row[1] == "长江钢铁有限公司" and "139****5678" in row and "13912345678" not in row
    settings.EXPORT_INLINE_MAX_ROWS = 2
    client, auth = api_client(personas, "mfg_manager")
    response = client.get("/api/v1/customers/export?format=csv", **auth)
    assert response.status_code == 422 and response.json()["code"] == "too_many_rows"
    assert AccessRecord.objects.filter(kind="export").count() == 1
    response = page.post(
        reverse("exports:start"),
        {"entity": "customers", "format": "xlsx", "query": ""},
        follow=True,
    )
    job = ExportJob.objects.get()
    assert (job.entity, job.format, job.filters) == ("customers", "xlsx", {})
    html = response.content.decode()
    assert f'href="{reverse("exports:list")}"' in html and "export-progress" in html
    assert "&lt;a" not in html  # the message's link to 我的导出 is a link


def test_it_names_files_in_chinese_with_an_ascii_fallback() -> None:
    assert export.attachment("联系人-20261202-1730.csv", "contacts-20261202-1730.csv") == (
        'attachment; filename="contacts-20261202-1730.csv"; '
        "filename*=UTF-8''%E8%81%94%E7%B3%BB%E4%BA%BA-20261202-1730.csv"
    )


# --- background jobs -------------------------------------------------------------------


@pytest.mark.django_db
def test_it_turns_a_large_set_into_a_job_whose_file_has_every_row_masked(
    personas: Personas, settings: Any, tmp_path: Path
) -> None:
    many_contacts(personas)
    job = start_large(personas, settings)
    assert (job.status, job.owner, job.bu, job.entity) == (
        "pending",
        personas.mfg_manager,
        personas.units["mfg"],
        "contacts",
    )
    page = ui_client(personas, "mfg_manager")
    html = page.get(reverse("exports:job", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in html
    assert reverse("exports:file", args=[job.pk]) not in html
    job = exports.export_run(job.pk)  # what the worker does once the request commits
    assert (job.status, job.total_rows, job.done_rows) == ("done", 5, 5)
    stored = Path(job.stored_as)
    assert stored.parent == tmp_path / "exports" and stored.is_file()
    assert AccessRecord.objects.filter(
        kind="export", object_type="customers.contact", object_id=str(job.pk)
    ).exists()
    response = page.get(reverse("exports:file", args=[job.pk]))
    disposition = response["Content-Disposition"]
    assert (
        disposition.startswith('attachment; filename="contacts-')
        and "filename*=UTF-8''" in disposition
    )
    rows = table(b"".join(response.streaming_content))[1:]
    assert sorted(r[3] for r in rows) == [f"联系人{n}" for n in range(5)]
    shown = [cell for row in rows for cell in row]
    assert not any(mobile in shown for mobile in MOBILES) and "139****5678" in shown
    assert AccessRecord.objects.filter(
        object_type="integration.exportjob", object_id=str(job.pk), detail="download"
    ).exists()
    html = page.get(reverse("exports:list")).content.decode()
    assert reverse("exports:file", args=[job.pk]) in html and "every 3s" not in html


@pytest.mark.django_db
def test_it_writes_xlsx_in_the_background_too(personas: Personas, settings: Any) -> None:
    many_contacts(personas)
    job = exports.export_run(start_large(personas, settings, "xlsx").pk)
    path, name, fallback = exports.export_file(actor=personas.actor("mfg_manager"), pk=job.pk)
    assert name.endswith(".xlsx") and fallback.startswith("contacts-")
    values = list(load_workbook(path).active.iter_rows(values_only=True))
    assert len(values) == 6 and "139****5678" in [c for row in values for c in row]


@pytest.mark.django_db
def test_it_reports_progress_chunk_by_chunk(
    personas: Personas, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    many_contacts(personas)
    job = start_large(personas, settings)
    monkeypatch.setattr(export, "BATCH", 2)
    seen: list[tuple[int, int]] = []
    update = exports._update

    def recording(job: ExportJob, **values: Any) -> None:
        update(job, **values)
        if "done_rows" in values:
            row = ExportJob.objects.get(pk=job.pk)
            seen.append((row.done_rows, row.total_rows))

    monkeypatch.setattr(exports, "_update", recording)
    exports.export_run(job.pk)
    assert seen == [(0, 0), (2, 5), (4, 5), (5, 5), (5, 5)]
    client, auth = api_client(personas, "mfg_manager")
    body = client.get(f"/api/v1/exports/{job.pk}", **auth).json()
    assert (body["done_rows"], body["total_rows"], body["progress"]) == (5, 5, 100)
    html = (
        ui_client(personas, "mfg_manager")
        .get(
            reverse("exports:job", args=[job.pk]),
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="export-progress",
        )
        .content.decode()
    )
    assert html.startswith('<div id="export-progress"') and "width:100%" in html
    assert 'data-status="done"' in html and "every 2s" not in html


@pytest.mark.django_db
def test_it_keeps_each_export_to_the_person_who_asked(personas: Personas, settings: Any) -> None:
    many_contacts(personas)
    job = exports.export_run(start_large(personas, settings).pk)
    for who in ("fin_manager", "admin", "mfg_lead"):
        page = ui_client(personas, who)
        assert page.get(reverse("exports:job", args=[job.pk])).status_code == 404
        assert page.get(reverse("exports:file", args=[job.pk])).status_code == 404
        assert f'data-job="{job.pk}"' not in page.get(reverse("exports:list")).content.decode()
        client, auth = api_client(personas, who)
        assert client.get(f"/api/v1/exports/{job.pk}", **auth).status_code == 404
        response = client.get(f"/api/v1/exports/{job.pk}/file", **auth)
        assert (
            response.status_code == 404 and response["Content-Type"] == "application/problem+json"
        )
        assert client.get("/api/v1/exports", **auth).json()["count"] == 0
    assert not AccessRecord.objects.filter(detail="download").exists()


@pytest.mark.django_db
def test_it_runs_the_job_as_the_person_who_asked(personas: Personas) -> None:
    many_contacts(personas)
    job = exports.export_start(
        actor=personas.actor("fin_manager"), entity="contacts", format="csv", filters={}, run=False
    )
    job = exports.export_run(job.pk)
    rows = table(Path(job.stored_as).read_bytes())[1:]
    assert [r[3] for r in rows] == ["钱行长"]  # not the five 华夏制造 contacts
    record = AccessRecord.objects.get(object_id=str(job.pk), kind="export")
    assert record.actor == personas.fin_manager and record.request_id == f"export-{job.pk}"


@pytest.mark.django_db
def test_it_fails_cleanly_and_leaves_no_half_file(
    personas: Personas, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many_contacts(personas)
    actor = personas.actor("mfg_manager")
    job = exports.export_start(actor=actor, entity="contacts", format="csv", filters={}, run=False)
    monkeypatch.setattr(export, "BATCH", 2)
    rows = export.SHEETS["contacts"].rows
    written: list[int] = []

    def breaks(actor: Actor, ids: list[int]) -> Any:
        if written:
            raise OSError("disk full")
        written.extend(ids)
        return rows(actor, ids)

    monkeypatch.setitem(
        export.SHEETS, "contacts", dataclasses.replace(export.SHEETS["contacts"], rows=breaks)
    )
    job = exports.export_run(job.pk)
    assert job.status == "failed" and job.stored_as == ""
    assert job.error and "disk full" not in job.error  # a message for people, no internals
    assert list((tmp_path / "exports").iterdir()) == []
    assert not AccessRecord.objects.filter(object_id=str(job.pk)).exists()
    page = ui_client(personas, "mfg_manager")
    html = page.get(reverse("exports:job", args=[job.pk])).content.decode()
    assert job.error in html and "alert-danger" in html
    assert page.get(reverse("exports:file", args=[job.pk])).status_code == 409
    # A person who lost the right by the time the worker runs gets a failed job, no file.
    monkeypatch.undo()
    again = exports.export_start(
        actor=actor, entity="contacts", format="csv", filters={}, run=False
    )
    role = personas.roles["manager"]
    role.permissions = [p for p in role.permissions if p != "contacts.export"]
    role.save()
    again = exports.export_run(again.pk)
    assert again.status == "failed" and again.error and again.stored_as == ""


@pytest.mark.django_db
def test_it_refuses_bad_input_and_writes_no_job(personas: Personas) -> None:
    client, auth = api_client(personas, "mfg_manager")
    for body, field in [
        ({"entity": "contacts", "format": "pdf"}, "format"),
        ({"entity": "deals", "format": "csv"}, "entity"),
        ({"entity": "contacts", "format": "csv", "filters": {"colour": "red"}}, "filters"),
        ({"entity": "customers", "format": "csv", "filters": {"bu_id": "abc"}}, "filters"),
        ({"entity": "customers", "format": "csv", "filters": {"customer_id": 1}}, "filters"),
        ({"entity": "contacts", "format": "csv", "filters": {"customer_id": 999999}}, "filters"),
        ({"entity": "customers", "format": "csv", "filters": {"sort": "salary"}}, "filters"),
        ({"entity": "customers", "format": "csv", "filters": {"q": ["a"]}}, "filters.q"),
        ({"format": "csv"}, "entity"),
    ]:
        response = client.post("/api/v1/exports", body, content_type="application/json", **auth)
        assert response.status_code == 422, (body, response.content)
        errors = response.json()["errors"]
        assert any(name.split(".")[:2] == field.split(".") for name in errors), (body, errors)
    with pytest.raises(ValidationError) as caught:
        exports.export_start(
            actor=personas.actor("mfg_manager"), entity="deals", format="csv", filters={}
        )
    assert "entity" in caught.value.fields
    page = ui_client(personas, "mfg_manager")
    response = page.post(
        reverse("exports:start"),
        {"entity": "contacts", "format": "pdf", "query": ""},
        HTTP_REFERER="http://testserver/customers/",
    )
    assert response.status_code == 302
    [message] = [str(m) for m in response.wsgi_request._messages]
    assert "csv" in message and "xlsx" in message
    assert not ExportJob.objects.exists()
    assert not ChangeRecord.objects.filter(object_type="integration.exportjob").exists()
    assert not AccessRecord.objects.filter(kind="export").exists()


@pytest.mark.django_db
def test_it_queues_the_job_when_the_request_commits(
    personas: Personas, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[int] = []
    monkeypatch.setattr(tasks, "run_export_task", queued.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = exports.export_start(
            actor=personas.actor("mfg_manager"), entity="customers", format="csv", filters={}
        )
    assert queued == []  # nothing reaches the queue before the job's row is committed
    for callback in callbacks:
        if callback.__qualname__.startswith("export_start"):
            callback()
    assert queued == [job.pk]
    record = ChangeRecord.objects.get(object_type="integration.exportjob", object_id=str(job.pk))
    assert record.actor == personas.mfg_manager and record.action == "create"


# --- expiry ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_deletes_old_files_and_shows_the_job_as_expired(
    personas: Personas, settings: Any, tmp_path: Path
) -> None:
    many_contacts(personas)
    old = exports.export_run(start_large(personas, settings).pk)
    fresh = exports.export_run(
        exports.export_start(
            actor=personas.actor("mfg_manager"),
            entity="contacts",
            format="csv",
            filters={},
            run=False,
        ).pk
    )
    ExportJob.objects.filter(pk=old.pk).update(finished_at=timezone.now() - dt.timedelta(days=8))
    leftover = tmp_path / "exports" / "crashed.csv.part"
    leftover.write_text("half")
    a_week_ago = time.time() - 8 * 86400
    os.utime(leftover, (a_week_ago, a_week_ago))
    assert remove_expired_exports.call_local() == 1
    old.refresh_from_db()
    assert old.stored_as == "" and old.status == "done"
    assert not leftover.exists() and Path(fresh.stored_as).is_file()
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == [Path(fresh.stored_as).name]
    page = ui_client(personas, "mfg_manager")
    html = page.get(reverse("exports:job", args=[old.pk])).content.decode()
    assert 'data-status="expired"' in html and reverse("exports:file", args=[old.pk]) not in html
    client, auth = api_client(personas, "mfg_manager")
    body = client.get(f"/api/v1/exports/{old.pk}", **auth).json()
    assert body["expired"] is True and body["file_url"] is None
    response = client.get(f"/api/v1/exports/{old.pk}/file", **auth)
    assert response.status_code == 409 and response.json()["code"] == "export_expired"


# --- the API and the page --------------------------------------------------------------


@pytest.mark.django_db
def test_it_runs_an_export_through_the_api(personas: Personas) -> None:
    many_contacts(personas)
    client, auth = api_client(personas, "mfg_manager")
    response = client.post(
        "/api/v1/exports",
        {"entity": "customers", "format": "csv", "filters": {"q": "长江", "pool": True}},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["file_url"], body["filters"]) == (
        "pending",
        None,
        {"q": "长江", "pool": "1"},
    )
    response = client.get(f"/api/v1/exports/{body['id']}/file", **auth)
    assert response.status_code == 409 and response.json()["code"] == "export_not_ready"
    exports.export_run(body["id"])
    body = client.get(f"/api/v1/exports/{body['id']}", **auth).json()
    assert body["status"] == "done" and body["progress"] == 100 and body["total_rows"] == 1
    response = client.get(body["file_url"], **auth)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    [_header, row] = table(b"".join(response.streaming_content))
    assert row[1] == "长江钢铁有限公司" and "139****5678" in row
    listing = client.get("/api/v1/exports?page_size=1", **auth).json()
    assert listing["count"] == 1 and listing["items"][0]["id"] == body["id"]
    # A read-only token may look but not start an export.
    read_only = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('mfg_manager', scope='read')}"}
    response = client.post(
        "/api/v1/exports",
        {"entity": "customers", "format": "csv"},
        content_type="application/json",
        **read_only,
    )
    assert response.status_code == 403 and ExportJob.objects.count() == 1


@pytest.mark.django_db
def test_it_lists_my_exports_with_an_empty_state_and_pages(personas: Personas) -> None:
    page = ui_client(personas, "mfg_manager")
    html = page.get(reverse("exports:list")).content.decode()
    assert "colspan" in html and "every 3s" not in html
    actor = personas.actor("mfg_manager")
    for _n in range(27):
        exports.export_start(actor=actor, entity="customers", format="xlsx", filters={}, run=False)
    html = page.get(reverse("exports:list")).content.decode()
    assert html.count("data-job=") == 25 and "every 3s" in html and "1 / 2" in html
    html = page.get(reverse("exports:list"), {"page": 2}).content.decode()
    assert html.count("data-job=") == 2
    assert reverse("exports:list") in page.get(reverse("dashboard")).content.decode()
