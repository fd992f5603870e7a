"""The import API: sources, mapping suggestions, jobs from upload to report and resume,
scoping, refused uploads, and the data-quality figures, all through /api/v1/imports."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from test_integration import write_csv, zoho_file

from groupcrm.audit.models import AccessRecord
from groupcrm.core.testing.battery import api_client as api
from groupcrm.core.testing.personas import Personas
from groupcrm.customers.models import Customer, CustomerRelationship
from groupcrm.integration import reader, services
from groupcrm.integration.models import ImportJob, ImportSource
from groupcrm.integration.quality import quality_overview, quality_snapshot
from groupcrm.integration.selectors import import_progress

BASE = "/api/v1/imports"
GBK_HEADERS = ["客户编号", "客户名称", "统一社会信用代码", "员工人数"]
GBK_ROWS = [
    ["B001", "长江精密机械有限公司", "91350100M000100Y43", "300"],
    ["B002", "黄河物流有限公司", "", "120"],
    ["B003", "泰山重工有限公司", "", "很多"],
]


@pytest.fixture(autouse=True)
def _private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Path:
    """Uploads are copied to temporary files and kept files go to VAR_DIR/imports: both
    get directories of their own, so a test can see what is left behind."""
    settings.VAR_DIR = tmp_path / "var"
    directory = tmp_path / "uploads"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def upload(client: Client, auth: dict[str, str], path: Path, url: str = BASE, **fields: Any) -> Any:
    with path.open("rb") as handle:
        return client.post(url, {"file": handle, **fields}, **auth)


def gbk_file(tmp_path: Path, rows: list[list[str]] | None = None) -> Path:
    return write_csv(
        tmp_path / "客户清单.csv", GBK_HEADERS, GBK_ROWS if rows is None else rows, "gb18030"
    )


def source(kind: str = "generic") -> ImportSource:
    return ImportSource.objects.create(name=f"{kind} files", kind=kind)


@pytest.mark.django_db
def test_it_takes_a_gb18030_csv_from_dry_run_to_created_customers(
    personas: Personas, tmp_path: Path, _private_tempdir: Path
) -> None:
    client, auth = api(personas, "mfg_manager")
    response = client.post(
        f"{BASE}/sources",
        {"name": "制造事业部表格", "kind": "generic", "trust": 60},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    source_id = response.json()["id"]
    assert [s["name"] for s in client.get(f"{BASE}/sources", **auth).json()] == ["制造事业部表格"]
    path = gbk_file(tmp_path)

    suggestion = upload(
        client, auth, path, f"{BASE}/mapping-suggestions", source_id=source_id, entity="customers"
    )
    assert suggestion.status_code == 200, suggestion.content
    body = suggestion.json()
    assert body["headers"] == GBK_HEADERS and body["encoding"] == "gb18030"
    assert (
        body["mapping"]["legal_name"] == "客户名称"
        and body["mapping"]["uscc"] == "统一社会信用代码"
    )
    assert body["problems"] == [] and body["saved"] is False
    assert [t["field"] for t in body["targets"] if t["required"]] == ["legal_name"]

    before = Customer.objects.count()
    response = upload(
        client,
        auth,
        path,
        source_id=source_id,
        bu_id=personas.units["mfg"].pk,
        entity="customers",
        dry_run="true",
    )
    assert response.status_code == 202, response.content
    queued = response.json()
    assert queued["status"] == "pending" and queued["dry_run"] and queued["total_rows"] == 3
    assert queued["encoding"] == "gb18030" and queued["filename"] == "客户清单.csv"
    services.import_run(queued["id"])  # what the worker does once the request committed
    dry = client.get(f"{BASE}/{queued['id']}", **auth).json()
    assert dry["status"] == "done"
    assert (dry["created"], dry["rejected"], dry["done_rows"]) == (2, 1, 3)
    assert Customer.objects.count() == before

    report = client.get(f"{BASE}/{queued['id']}/report.xlsx", **auth)
    assert report.status_code == 200
    assert report["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(report.content)).active.iter_rows(values_only=True))
    assert rows[1][0] == 4 and "employees" in rows[1][1] and "B003" in rows[1]
    assert AccessRecord.objects.filter(kind="export", object_id=str(queued["id"])).exists()

    again = client.post(f"{BASE}/{queued['id']}/run-again", **auth)
    assert again.status_code == 202, again.content
    real = again.json()
    assert real["id"] != queued["id"] and not real["dry_run"] and real["status"] == "pending"
    services.import_run(real["id"])
    done = client.get(f"{BASE}/{real['id']}", **auth).json()
    assert done["status"] == "done" and (done["created"], done["rejected"]) == (2, 1)
    assert done["progress"] == {"percent": 100, "rate": None, "eta_seconds": None}

    issues = client.get(f"{BASE}/{real['id']}/issues", **auth).json()
    assert issues["count"] == 1
    [issue] = issues["items"]
    assert (issue["row"], issue["external_id"], issue["imported"]) == (4, "B003", False)
    assert "employees" in issue["reason"] and issue["values"]["客户名称"] == "泰山重工有限公司"

    customer = Customer.objects.get(uscc="91350100M000100Y43")
    assert customer.legal_name == "长江精密机械有限公司" and customer.employees == 300
    assert CustomerRelationship.objects.filter(customer=customer, bu=personas.units["mfg"]).exists()
    # A done import is not run a third time.
    assert client.post(f"{BASE}/{real['id']}/run-again", **auth).json()["code"] == "import_done"

    listed = client.get(f"{BASE}?status=done&entity=customers&source_id={source_id}", **auth).json()
    assert listed["count"] == 2 and {j["id"] for j in listed["items"]} == {queued["id"], real["id"]}
    assert client.get(f"{BASE}?entity=contacts", **auth).json()["count"] == 0
    assert client.get(f"{BASE}?source_id=99999", **auth).json()["count"] == 0
    assert client.get(f"{BASE}?status=lost", **auth).status_code == 422
    assert list(_private_tempdir.iterdir()) == []


@pytest.mark.django_db
def test_it_imports_a_fxiaoke_xlsx_with_the_ready_mapping(
    personas: Personas, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["客户编号", "客户名称", "统一社会信用代码", "行业", "详细地址", "负责人", "备注"])
    sheet.append(
        [
            "FX001",
            "长江精密机械有限公司",
            "91350100M000100Y43",
            "房地产业",
            "江苏省苏州市工业园区星湖街328号",
            "mfg_am2",
            "",
        ]
    )
    sheet.append(["FX002", "黄河物流有限公司", "", "", "", "", "老客户"])
    path = tmp_path / "纷享销客客户.xlsx"
    book.save(path)
    fxiaoke = source("fxiaoke")
    client, auth = api(personas, "mfg_manager")
    suggestion = upload(
        client, auth, path, f"{BASE}/mapping-suggestions", source_id=fxiaoke.pk, entity="customers"
    ).json()
    assert suggestion["encoding"] == "xlsx" and suggestion["problems"] == []
    assert suggestion["mapping"] == {
        "external_id": "客户编号",
        "legal_name": "客户名称",
        "uscc": "统一社会信用代码",
        "industry": "行业",
        "address": "详细地址",
        "owner": "负责人",
    }
    response = upload(
        client,
        auth,
        path,
        source_id=fxiaoke.pk,
        bu_id=personas.units["mfg"].pk,
        entity="customers",
        dry_run="false",
    )
    assert response.status_code == 202, response.content
    job = services.import_run(response.json()["id"])
    assert (job.created, job.rejected) == (2, 0)
    customer = Customer.objects.get(uscc="91350100M000100Y43")
    assert customer.industry == "70" and customer.city == "苏州市"
    relationship = CustomerRelationship.objects.get(customer=customer, bu=personas.units["mfg"])
    assert relationship.owner == personas.mfg_am2
    # A real import saves the mapping on the source: the next suggestion is that one.
    again = upload(
        client, auth, path, f"{BASE}/mapping-suggestions", source_id=fxiaoke.pk, entity="customers"
    ).json()
    assert again["saved"] is True and again["mapping"] == suggestion["mapping"]


@pytest.mark.django_db
def test_it_reports_rate_and_eta_while_a_job_runs(personas: Personas, tmp_path: Path) -> None:
    client, auth = api(personas, "mfg_manager")
    response = upload(
        client,
        auth,
        zoho_file(tmp_path),
        source_id=source("zoho").pk,
        bu_id=personas.units["mfg"].pk,
        entity="customers",
    )
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert response.json()["progress"] == {"percent": 0, "rate": None, "eta_seconds": None}
    now = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", started_at=now - dt.timedelta(seconds=10), done_rows=1, total_rows=4
    )
    job.refresh_from_db()
    progress = import_progress(job, now=now)
    assert (progress.percent, progress.rate, progress.eta_seconds) == (25, 0.1, 30)
    shown = client.get(f"{BASE}/{job.pk}", **auth).json()["progress"]
    assert shown["percent"] == 25 and shown["rate"] == pytest.approx(0.1, abs=0.05)
    assert shown["eta_seconds"] == pytest.approx(30, abs=10)


@pytest.mark.django_db
def test_it_hides_jobs_of_other_units_and_refuses_people_without_permission(
    personas: Personas, tmp_path: Path
) -> None:
    zoho = source("zoho")
    client, auth = api(personas, "mfg_manager")
    response = upload(
        client,
        auth,
        zoho_file(tmp_path),
        source_id=zoho.pk,
        bu_id=personas.units["mfg"].pk,
        entity="customers",
        dry_run="true",
    )
    job_id = response.json()["id"]
    services.import_run(job_id)
    other, other_auth = api(personas, "fin_manager")
    for url in (f"{BASE}/{job_id}", f"{BASE}/{job_id}/issues", f"{BASE}/{job_id}/report.xlsx"):
        response = other.get(url, **other_auth)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/problem+json"
    assert other.post(f"{BASE}/{job_id}/run-again", **other_auth).status_code == 404
    assert other.get(BASE, **other_auth).json()["count"] == 0
    assert not AccessRecord.objects.filter(kind="export").exists()

    am, am_auth = api(personas, "mfg_am")  # customers work, no integration permission
    assert am.get(BASE, **am_auth).status_code == 403
    assert am.get(f"{BASE}/{job_id}", **am_auth).status_code == 404
    assert am.get(f"{BASE}/sources", **am_auth).status_code == 403
    refused = upload(
        am,
        am_auth,
        zoho_file(tmp_path),
        source_id=zoho.pk,
        bu_id=personas.units["mfg"].pk,
        entity="customers",
    )
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    created = am.post(f"{BASE}/sources", {"name": "x"}, content_type="application/json", **am_auth)
    assert created.status_code == 403
    read_only = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('mfg_manager', scope='read')}"}
    assert client.post(f"{BASE}/{job_id}/run-again", **read_only).status_code == 403
    assert ImportJob.objects.count() == 1
    assert ImportSource.objects.count() == 1
    assert Client().get(BASE).status_code == 401


def _bad_upload(tmp_path: Path, case: str) -> tuple[Path | None, dict[str, Any]]:
    """A file and form fields that are wrong in exactly one way."""
    fine = gbk_file(tmp_path)
    if case == "no file":
        return None, {}
    if case == "unknown source":
        return fine, {"source_id": 99999}
    if case == "a unit out of reach":
        return fine, {"bu_id": "fin"}
    if case == "an absent column":
        return fine, {"mapping": '{"legal_name": "Company"}'}
    if case == "a mapping that is not JSON":
        return fine, {"mapping": '{"legal_name": '}
    if case == "no rows":
        return gbk_file(tmp_path, rows=[]), {}
    if case == "not a table":
        pdf = tmp_path / "scan.pdf"
        pdf.write_bytes(b"%PDF-1.7 not a table")
        return pdf, {}
    if case == "a wrong encoding":
        binary = tmp_path / "binary.csv"
        binary.write_bytes(bytes(range(128, 256)) * 10)
        return binary, {}
    if case == "a broken workbook":
        junk = tmp_path / "junk.xlsx"
        junk.write_bytes(b"not a workbook")
        return junk, {}
    if case == "an unknown entity":
        return fine, {"entity": "orders"}
    raise AssertionError(case)


BAD_UPLOADS = [
    ("no file", "file"),
    ("unknown source", "source_id"),
    ("a unit out of reach", "bu_id"),
    ("an absent column", "mapping"),
    ("a mapping that is not JSON", "mapping"),
    ("no rows", "file"),
    ("not a table", "file"),
    ("a wrong encoding", "file"),
    ("a broken workbook", "file"),
    ("an unknown entity", "entity"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "field"), BAD_UPLOADS)
def test_it_refuses_a_bad_upload_with_the_field_named_and_writes_no_job(
    personas: Personas, tmp_path: Path, _private_tempdir: Path, case: str, field: str
) -> None:
    path, overrides = _bad_upload(tmp_path, case)
    fields = {
        "source_id": source().pk,
        "bu_id": personas.units["mfg"].pk,
        "entity": "customers",
        "dry_run": "false",
        **overrides,
    }
    if fields["bu_id"] == "fin":
        fields["bu_id"] = personas.units["fin"].pk
    client, auth = api(personas, "mfg_manager")
    if path is None:
        response = client.post(BASE, fields, **auth)
    else:
        response = upload(client, auth, path, **fields)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"], response.json()
    if case == "an absent column":
        assert response.json()["headers"] == GBK_HEADERS  # to fix the mapping with
    assert not ImportJob.objects.exists()
    assert list(services.import_dir().iterdir()) == []  # no copy kept
    assert list(_private_tempdir.iterdir()) == []


# The suggestions take neither a unit nor a mapping: every other bad input applies.
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "field"), [c for c in BAD_UPLOADS if c[1] not in ("bu_id", "mapping")]
)
def test_it_refuses_a_bad_file_for_mapping_suggestions_with_the_field_named(
    personas: Personas, tmp_path: Path, case: str, field: str
) -> None:
    path, overrides = _bad_upload(tmp_path, case)
    fields = {"source_id": source().pk, "entity": "customers", **overrides}
    client, auth = api(personas, "mfg_manager")
    url = f"{BASE}/mapping-suggestions"
    response = (
        client.post(url, fields, **auth)
        if path is None
        else upload(client, auth, path, url, **fields)
    )
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]


@pytest.mark.django_db
def test_it_refuses_a_file_over_the_size_limit_before_reading_it(
    personas: Personas, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "MAX_BYTES", 16)
    client, auth = api(personas, "mfg_manager")
    response = upload(
        client,
        auth,
        gbk_file(tmp_path),
        source_id=source().pk,
        bu_id=personas.units["mfg"].pk,
        entity="customers",
    )
    assert response.status_code == 422 and "2 GB" in str(response.json()["errors"]["file"])
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_duplicate_or_invalid_source(personas: Personas) -> None:
    client, auth = api(personas, "mfg_manager")

    def post(body: dict[str, Any]) -> Any:
        return client.post(f"{BASE}/sources", body, content_type="application/json", **auth)

    assert post({"name": "ERP"}).status_code == 201
    assert post({"name": "ERP"}).json()["code"] == "source_exists"
    assert "kind" in post({"name": "CRM", "kind": "sap"}).json()["errors"]
    assert "trust" in post({"name": "CRM", "trust": -1}).json()["errors"]
    assert "name" in post({"name": "  "}).json()["errors"]
    assert list(ImportSource.objects.values_list("name", flat=True)) == ["ERP"]


@pytest.mark.django_db
def test_its_quality_figures_are_the_pages(personas: Personas, tmp_path: Path) -> None:
    job = services.import_start(
        actor=personas.actor("mfg_manager"),
        source_id=source("zoho").pk,
        bu_id=personas.units["mfg"].pk,
        entity="customers",
        path=zoho_file(tmp_path),
        filename="zoho.csv",
        run=False,
    )
    services.import_run(job.pk)
    quality_snapshot(day=timezone.localdate() - dt.timedelta(days=1))
    client, auth = api(personas, "mfg_manager")
    response = client.get(f"{BASE}/quality", **auth)
    assert response.status_code == 200, response.content
    body = response.json()
    page = quality_overview(actor=personas.actor("mfg_manager"))
    figures = ("records", "score", "complete", "fresh", "suspected_duplicates")
    assert body["units"] == [
        {"unit_id": r["unit"].pk, "unit_name": r["unit"].name, **{f: r[f] for f in figures}}
        for r in page["units"]
    ]
    assert [(o["owner_id"], o["records"], o["score"]) for o in body["owners"]] == [
        (r["owner"].pk, r["records"], r["score"]) for r in page["owners"]
    ]
    assert body["trend"] == [{"day": p["day"], "score": p["count"]} for p in page["trend"]]
    assert len(body["trend"]) == 1
    assert [w["id"] for w in body["worst"]] == [c.pk for c in page["worst"]]
    assert body["units"] and body["units"][0]["records"] == 3
    other, other_auth = api(personas, "fin_manager")
    assert other.get(f"{BASE}/quality", **other_auth).json()["units"] == []
    nobody, nobody_auth = api(personas, "nobody")
    assert nobody.get(f"{BASE}/quality", **nobody_auth).status_code == 403
