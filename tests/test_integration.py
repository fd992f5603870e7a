"""Imports: encodings, ready mappings for other CRMs, idempotent upserts, parents in any
order, dry runs, rejected-row reports, and resuming after a kill in the middle."""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook, load_workbook

from groupcrm.audit.models import ChangeRecord
from groupcrm.core.errors import PermissionDenied, ValidationError
from groupcrm.core.testing.personas import Personas
from groupcrm.customers.models import Contact, Customer, CustomerRelationship
from groupcrm.integration import bulk, services
from groupcrm.integration.models import ImportJob, ImportSource, RowIssue, SourceRecord
from groupcrm.integration.reader import FileError, detect_encoding, open_table

ZOHO_HEADERS = [
    "Record Id",
    "Account Name",
    "Website",
    "Industry",
    "Employees",
    "Billing Street",
    "Parent Account.id",
    "Account Owner",
]


def write_csv(
    path: Path, headers: list[str], rows: list[list[str]], encoding: str = "utf-8"
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def zoho_file(tmp_path: Path, rows: list[list[str]] | None = None) -> Path:
    return write_csv(
        tmp_path / "zoho_accounts.csv",
        ZOHO_HEADERS,
        rows
        or [
            # The branch comes before its parent: parents are linked after all rows.
            [
                "zcrm_3",
                "华润置地有限公司上海分公司",
                "",
                "房地产业",
                "120",
                "上海市浦东新区张江路88号",
                "zcrm_2",
                "",
            ],
            ["zcrm_2", "华润置地有限公司", "www.crland.com.hk", "", "5000", "", "zcrm_1", "mfg_am"],
            ["zcrm_1", "华润集团有限公司", "", "", "", "广东省深圳市南山区科技园", "", "fin_am"],
            ["zcrm_4", "坏代码有限公司", "", "", "很多", "", "", ""],
        ],
    )


def start(
    personas: Personas, path: Path, *, kind: str = "zoho", entity: str = "customers", **kw: Any
) -> ImportJob:
    source, _created = ImportSource.objects.get_or_create(
        name=f"{kind} CRM", defaults={"kind": kind}
    )
    job = services.import_start(
        actor=personas.actor("mfg_manager"),
        source_id=source.pk,
        bu_id=personas.units["mfg"].pk,
        entity=entity,
        path=path,
        filename=path.name,
        run=False,
        **kw,
    )
    # What the worker does once the queued job's transaction commits.
    return services.import_run(job.pk)


def test_encodings_are_detected() -> None:
    assert detect_encoding("客户名称".encode()) == "utf-8"
    assert detect_encoding(b"\xef\xbb\xbf" + "客户名称".encode()) == "utf-8-sig"
    assert detect_encoding("客户名称,统一社会信用代码".encode("gb18030")) == "gb18030"


@pytest.mark.django_db
def test_a_zoho_export_imports_with_parents_in_any_order_and_a_report(
    personas: Personas, tmp_path: Path
) -> None:
    job = start(personas, zoho_file(tmp_path))
    job.refresh_from_db()
    assert job.status == "done" and (job.created, job.rejected, job.total_rows) == (3, 1, 4)
    branch = Customer.objects.get(legal_name="华润置地有限公司上海分公司")
    land = Customer.objects.get(legal_name="华润置地有限公司")
    group = Customer.objects.get(legal_name="华润集团有限公司")
    assert branch.parent == land and land.parent == group and branch.depth == 2
    assert branch.industry == "70" and branch.employees == 120 and branch.province == "上海市"
    assert branch.source == "import"
    rels = {r.customer_id: r for r in CustomerRelationship.objects.filter(bu=personas.units["mfg"])}
    assert rels[land.pk].owner == personas.mfg_am
    assert rels[group.pk].owner is None  # fin_am is not in 华夏制造: the unit's pool
    assert rels[branch.pk].owner is None
    [issue] = RowIssue.objects.filter(job=job, imported=False)
    assert issue.row == 5 and "employees" in issue.reason and issue.external_id == "zcrm_4"
    [warning] = RowIssue.objects.filter(job=job, imported=True)  # said, not silent
    assert warning.external_id == "zcrm_1" and "fin_am" in warning.reason
    assert SourceRecord.objects.get(external_id="zcrm_2").customer == land
    client = Client()
    client.force_login(personas.mfg_manager)
    response = client.get(reverse("integration:report", args=[job.pk]))
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [4, 5] and "employees" in rows[2][1]
    assert list(rows[0][3:]) == ZOHO_HEADERS  # the file's columns, in its order
    assert client.get(reverse("integration:job", args=[job.pk])).status_code == 200


@pytest.mark.django_db
def test_reimporting_a_corrected_file_updates_instead_of_duplicating(
    personas: Personas, tmp_path: Path
) -> None:
    start(personas, zoho_file(tmp_path))
    before = Customer.objects.count()
    corrected = zoho_file(
        tmp_path,
        [["zcrm_2", "华润置地有限公司", "www.crland.cn", "", "6000", "", "zcrm_1", "mfg_am"]],
    )
    job = start(personas, corrected)
    job.refresh_from_db()
    assert (job.created, job.updated) == (0, 1)
    assert Customer.objects.count() == before
    land = Customer.objects.get(legal_name="华润置地有限公司")
    assert (land.website, land.employees) == ("www.crland.cn", 6000)
    # Both arrivals of the row are kept: the latest, and the first one before it.
    record = SourceRecord.objects.get(external_id="zcrm_2")
    assert record.payload["Website"] == "www.crland.cn" and record.job == job
    [first] = record.earlier
    assert first["payload"]["Website"] == "www.crland.com.hk" and first["row"] == 3
    from groupcrm.customers.selectors import TimelineQuery, view360

    timeline = view360(
        actor=personas.actor("mfg_manager"),
        pk=land.pk,
        timeline_query=TimelineQuery(kind="source"),
    )["timeline"]
    assert [entry.link for entry in timeline] == [
        reverse("integration:job", args=[job.pk]),
        reverse("integration:job", args=[first["job_id"]]),
    ]


@pytest.mark.django_db
def test_a_gbk_fxiaoke_export_and_its_contacts(personas: Personas, tmp_path: Path) -> None:
    customers = write_csv(
        tmp_path / "客户.csv",
        ["客户编号", "客户名称", "统一社会信用代码", "详细地址", "负责人"],
        [
            [
                "FX001",
                "长江精密机械有限公司",
                "91350100M000100Y43",
                "江苏省苏州市工业园区星湖街328号",
                "mfg_am2",
            ]
        ],
        encoding="gb18030",
    )
    job = start(personas, customers, kind="fxiaoke")
    assert job.encoding == "gb18030" and job.mapping["legal_name"] == "客户名称"
    customer = Customer.objects.get(uscc="91350100M000100Y43")
    assert customer.city == "苏州市"
    contacts = write_csv(
        tmp_path / "联系人.csv",
        ["联系人编号", "客户名称", "姓名", "职务", "手机", "邮箱"],
        [
            ["C1", "长江精密机械有限公司", "王伟", "采购经理", "13800138000", "wangwei@cj.com"],
            ["C2", "不存在的公司", "李四", "", "", ""],
            ["C3", "长江精密机械有限公司", "赵六", "", "12345", ""],
        ],
        encoding="gb18030",
    )
    job = start(personas, contacts, kind="fxiaoke", entity="contacts")
    job.refresh_from_db()
    assert (job.created, job.rejected) == (1, 2)
    contact = Contact.objects.get(name="王伟")
    assert contact.customer == customer and contact.mobile == "+8613800138000"
    reasons = list(RowIssue.objects.filter(job=job).values_list("reason", flat=True))
    assert any("customer" in r for r in reasons) and any("mobile" in r for r in reasons)
    # Personal values are kept masked in the report and the lineage, like everywhere else.
    stored = [i.values for i in RowIssue.objects.filter(job=job)]
    stored += list(SourceRecord.objects.filter(contact=contact).values_list("payload", flat=True))
    assert "13800138000" not in str(stored) and "wangwei@cj.com" not in str(stored)
    assert "138****8000" in str(stored)
    client = Client()
    client.force_login(personas.mfg_manager)
    assert client.get(reverse("integration:report", args=[job.pk])).status_code == 200
    from groupcrm.audit.models import AccessRecord

    assert AccessRecord.objects.filter(kind="export", object_id=str(job.pk)).exists()


def import_as_fin_manager(
    personas: Personas,
    source: ImportSource,
    headers: list[str],
    rows: list[list[str]],
    tmp_path: Path,
) -> ImportJob:
    job = services.import_start(
        actor=personas.actor("fin_manager"),
        source_id=source.pk,
        bu_id=personas.units["fin"].pk,
        entity="customers",
        path=write_csv(tmp_path / "fin.csv", headers, rows),
        filename="fin.csv",
        run=False,
    )
    return services.import_run(job.pk)


@pytest.mark.django_db
def test_an_import_leaves_a_customer_of_other_units_as_it_is(
    personas: Personas, tmp_path: Path
) -> None:
    rows = [["FX001", "长江精密机械有限公司", "91350100M000100Y43", "", ""]]
    headers = ["客户编号", "客户名称", "统一社会信用代码", "网址", "负责人"]
    start(personas, write_csv(tmp_path / "mfg.csv", headers, rows), kind="fxiaoke")
    customer = Customer.objects.get(uscc="91350100M000100Y43")
    source = ImportSource.objects.create(name="金融 CRM", kind="fxiaoke")
    rows = [["F-9", "长江精密机械有限公司", "91350100M000100Y43", "www.changjiang.cn", ""]]
    with translation.override("en"):
        job = import_as_fin_manager(personas, source, headers, rows, tmp_path)
    customer.refresh_from_db()
    # Only units engaged with a customer change its golden record; the import still
    # starts the importing unit's relationship and says why nothing else changed.
    assert customer.website == "" and (job.matched, job.updated) == (1, 0)
    assert CustomerRelationship.objects.filter(customer=customer, bu=personas.units["fin"]).exists()
    warning = RowIssue.objects.get(job=job)
    assert warning.imported and "left as it is" in warning.reason


@pytest.mark.django_db
def test_an_xlsx_with_formulas_and_merged_cells(personas: Personas, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["公司名称", "员工人数", "标签"])
    sheet.append(["泰山重工有限公司", 100, "国企"])
    sheet.append(["黄河物流有限公司", "=B2*2", "上市公司"])
    sheet.append(["天山能源有限公司", None, None])
    sheet.merge_cells("C3:C4")
    path = tmp_path / "sheet.xlsx"
    book.save(path)
    with translation.override("en"):
        job = start(personas, path, kind="generic")
    job.refresh_from_db()
    assert (job.created, job.rejected) == (3, 0)
    # The merged 标签 cell holds its value for both of its rows, as a reader sees it.
    for name in ("黄河物流有限公司", "天山能源有限公司"):
        tags = Customer.objects.get(legal_name=name).tags.values_list("name", flat=True)
        assert list(tags) == ["上市公司"]
    # openpyxl writes no computed value for a formula: imported without it, and said.
    assert Customer.objects.get(legal_name="黄河物流有限公司").employees is None
    warning = RowIssue.objects.get(job=job)
    assert warning.row == 3 and warning.imported
    assert "“员工人数” holds a formula without a computed value" in warning.reason


@pytest.mark.django_db
def test_a_dry_run_checks_everything_and_writes_nothing(personas: Personas, tmp_path: Path) -> None:
    customers_before = Customer.objects.count()
    job = start(personas, zoho_file(tmp_path), dry_run=True)
    job.refresh_from_db()
    assert job.status == "done" and (job.created, job.rejected) == (3, 1)
    assert Customer.objects.count() == customers_before
    assert not SourceRecord.objects.exists()
    assert RowIssue.objects.filter(job=job, imported=False).count() == 1  # + one warning
    real = services.import_again(actor=personas.actor("mfg_manager"), job=job)
    real = services.import_run(real.pk)
    assert not real.dry_run and real.created == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "rows", "message"),
    [
        (["Website"], [["www.a.cn"]], "required"),
        (ZOHO_HEADERS, [], "no rows"),
    ],
)
def test_unusable_files_are_refused_with_a_reason(
    personas: Personas, tmp_path: Path, headers: list[str], rows: list[list[str]], message: str
) -> None:
    path = write_csv(tmp_path / "bad.csv", headers, rows)
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        start(personas, path, kind="generic", entity="customers")
    assert message in str(exc.value.fields)
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_a_mapping_naming_an_absent_column_and_broken_files(
    personas: Personas, tmp_path: Path
) -> None:
    path = zoho_file(tmp_path)
    with pytest.raises(ValidationError) as exc:
        start(personas, path, mapping={"legal_name": "Company"})
    assert "Company" in str(exc.value.fields["mapping"])
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(FileError):
        open_table(empty)
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")
    with pytest.raises(FileError):
        open_table(junk)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(128, 256)) * 10)
    with pytest.raises(FileError):
        open_table(binary)


@pytest.mark.django_db
def test_a_job_killed_in_the_middle_resumes_after_its_last_batch(
    personas: Personas, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [[f"id{i}", f"第{i}号测试科技有限公司", "", "", "", "", "", ""] for i in range(1, 8)]
    path = zoho_file(tmp_path, rows)
    monkeypatch.setattr(services, "BATCH", 3)
    real = bulk.lineage
    calls = {"n": 0}

    def crash_in_the_second_batch(job: ImportJob, entity: str, rows: list[bulk.Row]) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            # The process dies after the second batch's customers were written.
            raise KeyboardInterrupt
        return real(job, entity, rows)

    monkeypatch.setattr(bulk, "lineage", crash_in_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        start(personas, path)
    job = ImportJob.objects.get()
    assert job.status == "running" and job.done_rows == 3 and job.last_row == 4
    assert Customer.objects.filter(legal_name__contains="号测试科技").count() == 3
    # Only the first batch's audit record exists: the second rolled back with its rows.
    batches = ChangeRecord.objects.filter(verb="import_batch", object_id=str(job.pk))
    assert [len(r.changes["customers_created"]) for r in batches] == [3]
    monkeypatch.setattr(bulk, "lineage", real)
    job = services.import_run(job.pk)  # what "Resume" queues
    assert job.status == "done" and job.done_rows == 7 and job.created == 7
    assert Customer.objects.filter(legal_name__contains="号测试科技").count() == 7


@pytest.mark.django_db
def test_imports_are_scoped_and_need_permission(personas: Personas, tmp_path: Path) -> None:
    job = start(personas, zoho_file(tmp_path))
    other = Client()
    other.force_login(personas.fin_manager)
    assert other.get(reverse("integration:job", args=[job.pk])).status_code == 404
    am = Client()
    am.force_login(personas.mfg_am)
    assert am.get(reverse("integration:jobs")).status_code == 403
    assert am.get(reverse("integration:new")).status_code == 403


@pytest.mark.django_db
def test_upload_page_and_command_line(
    personas: Personas, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    ImportSource.objects.create(name="Zoho", kind="zoho")
    client = Client()
    client.force_login(personas.mfg_manager)
    assert client.get(reverse("integration:new")).status_code == 200
    path = zoho_file(tmp_path)
    with path.open("rb") as upload, django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("integration:new"),
            {
                "file": upload,
                "source": ImportSource.objects.get().pk,
                "entity": "customers",
                "bu": personas.units["mfg"].pk,
                "dry_run": "on",
            },
        )
    assert response.status_code == 302, response.content
    assert ImportJob.objects.get().dry_run and not Customer.objects.exists()
    out = io.StringIO()
    with translation.override("en"):
        call_command(
            "import",
            str(path),
            source="Zoho",
            bu="mfg",
            user="mfg_manager",
            stdout=out,
            stderr=io.StringIO(),
        )
    assert "3 created" in out.getvalue() and "1 rejected" in out.getvalue()


@pytest.mark.django_db
def test_the_360_timeline_shows_where_the_data_came_from(
    personas: Personas, tmp_path: Path
) -> None:
    from groupcrm.customers.selectors import TimelineQuery, view360

    start(personas, zoho_file(tmp_path))
    land = Customer.objects.get(legal_name="华润置地有限公司")
    entries = view360(
        actor=personas.actor("mfg_am"), pk=land.pk, timeline_query=TimelineQuery(kind="source")
    )["timeline"]
    assert [e.kind for e in entries] == ["source"]
    assert "zoho CRM" in entries[0].title and "zcrm_2" in entries[0].body


@pytest.mark.django_db
def test_data_quality_per_unit_and_owner_rises_when_records_are_completed(
    personas: Personas, tmp_path: Path
) -> None:
    import datetime as dt

    from groupcrm.customers import services as customer_services
    from groupcrm.integration.quality import quality_overview, quality_snapshot

    start(personas, zoho_file(tmp_path))
    actor = personas.actor("mfg_manager")
    before = quality_overview(actor=actor)
    [unit] = [r for r in before["units"] if r["unit"].code == "mfg"]
    assert unit["records"] == 3 and 0 < unit["score"] < 100
    quality_snapshot(day=dt.date(2026, 11, 1))
    for customer in Customer.objects.all():
        customer_services.customer_update(
            actor=personas.actor("admin"),
            pk=customer.pk,
            industry="70",
            size="large",
            legal_form="llc",
            address=customer.address or "上海市浦东新区张江路1号",
        )
    quality_snapshot(day=dt.date(2026, 11, 2))
    after = quality_overview(actor=actor)
    [unit_after] = [r for r in after["units"] if r["unit"].code == "mfg"]
    assert unit_after["score"] > unit["score"]
    assert [p["day"] for p in after["trend"]] == ["2026-11-01", "2026-11-02"]
    assert after["trend"][1]["count"] > after["trend"][0]["count"]
    assert any(r["owner"] == personas.mfg_am for r in after["owners"])
    # Another unit sees none of 华夏制造's figures.
    assert quality_overview(actor=personas.actor("fin_manager"))["units"] == []
    page = Client()
    page.force_login(personas.mfg_manager)
    assert page.get(reverse("integration:quality")).status_code == 200


@pytest.mark.django_db
def test_a_job_runs_once_at_a_time_and_its_upload_copy_goes_when_done(
    personas: Personas, tmp_path: Path
) -> None:
    source = ImportSource.objects.create(name="Zoho", kind="zoho")
    job = services.import_start(
        actor=personas.actor("mfg_manager"),
        source_id=source.pk,
        bu_id=personas.units["mfg"].pk,
        entity="customers",
        path=zoho_file(tmp_path),
        filename="a.csv",
        run=False,
    )
    held, release = threading.Event(), threading.Event()

    def another_worker() -> None:
        with services.job_lock(job) as mine:
            assert mine
            held.set()
            release.wait(10)
        connection.close()

    worker = threading.Thread(target=another_worker)
    worker.start()
    held.wait(10)
    # Another worker runs the job: "Resume" pressed meanwhile changes nothing.
    assert services.import_run(job.pk).status == "pending"
    assert not Customer.objects.exists()
    release.set()
    worker.join()
    job = services.import_run(job.pk)
    assert job.status == "done" and job.created == 3
    assert not Path(job.stored_as).exists()


@pytest.mark.django_db
def test_a_file_unreadable_after_its_first_megabyte_is_refused_at_once(
    personas: Personas, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    good = "".join(f"id{i},第{i}号测试有限公司\n" for i in range(60_000)).encode()
    path.write_bytes(b"Record Id,Account Name\n" + good + b"id-x,\xff\xfe\xfa\n")
    with pytest.raises(ValidationError) as raised:
        start(personas, path)
    assert "file" in raised.value.fields and not ImportJob.objects.exists()


@pytest.mark.django_db
def test_a_job_stopped_by_a_domain_error_says_why_and_can_resume(
    personas: Personas, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = ImportSource.objects.create(name="Zoho", kind="zoho")
    job = services.import_start(
        actor=personas.actor("mfg_manager"),
        source_id=source.pk,
        bu_id=personas.units["mfg"].pk,
        entity="customers",
        path=zoho_file(tmp_path),
        filename="a.csv",
        run=False,
    )
    real = bulk.customer_batch

    def refused(*args: Any, **kwargs: Any) -> bulk.BatchResult:
        raise PermissionDenied()

    monkeypatch.setattr(bulk, "customer_batch", refused)
    with pytest.raises(ValidationError):
        services.import_run(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and job.error
    monkeypatch.setattr(bulk, "customer_batch", real)
    assert services.import_run(job.pk).status == "done"


@pytest.mark.django_db
def test_a_different_legal_name_is_not_imported_but_said(
    personas: Personas, tmp_path: Path
) -> None:
    headers = ["客户编号", "客户名称", "统一社会信用代码"]
    first = [["FX001", "长江精密机械有限公司", "91350100M000100Y43"]]
    start(personas, write_csv(tmp_path / "a.csv", headers, first), kind="fxiaoke")
    renamed = [["FX001", "长江精工有限公司", "91350100M000100Y43"]]
    with translation.override("en"):
        job = start(personas, write_csv(tmp_path / "b.csv", headers, renamed), kind="fxiaoke")
    assert Customer.objects.get().legal_name == "长江精密机械有限公司"  # four eyes first
    warning = RowIssue.objects.get(job=job)
    assert warning.imported and "change request" in warning.reason


@pytest.mark.django_db
def test_a_large_file_is_read_through_by_the_job_before_it_writes(
    personas: Personas, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "COUNT_IN_REQUEST", 0)  # as if the file were over 50 MB
    path = tmp_path / "big.csv"
    good = "".join(f"id{i},第{i}号测试有限公司\n" for i in range(60_000)).encode()
    path.write_bytes(b"Record Id,Account Name\n" + good + b"id-x,\xff\xfe\xfa\n")
    with translation.override("en"), pytest.raises(ValidationError):
        start(personas, path)
    job = ImportJob.objects.get()
    assert job.status == "failed" and "encoding" in job.error
    assert not Customer.objects.exists()  # nothing half-written


@pytest.mark.django_db
def test_batches_do_not_wait_for_the_wal_flush_on_postgresql(
    personas: Personas, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch and the job's progress commit together, so a commit lost in a server crash
    only means the batch is imported again on resume: the batch skips the flush wait."""
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass")
    source = ImportSource.objects.create(name="Zoho", kind="zoho")
    seen: list[str] = []
    real = bulk.customer_batch

    def watched(*args: Any, **kwargs: Any) -> bulk.BatchResult:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            seen.append(cursor.fetchone()[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk, "customer_batch", watched)
    job = services.import_start(
        actor=personas.actor("mfg_manager"),
        source_id=source.pk,
        bu_id=personas.units["mfg"].pk,
        entity="customers",
        path=zoho_file(tmp_path),
        filename="a.csv",
        run=False,
    )
    job = services.import_run(job.pk)
    assert job.status == ImportJob.Status.DONE and job.created > 0
    assert seen and set(seen) == {"off"}


@pytest.mark.django_db
def test_rows_without_an_id_are_kept_as_rows_of_their_job_and_still_get_parents(
    personas: Personas, tmp_path: Path
) -> None:
    """A spreadsheet without an id column: every row is still a source record (its job
    and file row), parents named in the file are linked, and importing the corrected
    file again updates by credit code and keeps the second arrival as well."""
    headers = ["客户名称", "统一社会信用代码", "上级客户", "行业"]
    rows = [
        ["华润置地有限公司", "", "华润集团有限公司", "房地产业"],
        ["华润集团有限公司", "91310104400529050T", "", ""],
        ["无上级有限公司", "", "不存在的母公司", ""],
    ]
    path = write_csv(tmp_path / "no_ids.csv", headers, rows)
    job = start(personas, path, kind="excel")
    land = Customer.objects.get(legal_name="华润置地有限公司")
    group = Customer.objects.get(legal_name="华润集团有限公司")
    assert land.parent == group
    records = {r.row: r for r in SourceRecord.objects.filter(job=job)}
    assert sorted(records) == [2, 3, 4]
    assert records[2].customer == land and records[2].external_id == ""
    assert records[2].payload["上级客户"] == "华润集团有限公司"
    [missing] = RowIssue.objects.filter(job=job, imported=True)
    assert missing.row == 4 and "不存在的母公司" in missing.reason
    # The 360 timeline says which row of which import fed the record.
    from groupcrm.customers.selectors import TimelineQuery, view360

    with translation.override("en"):
        [entry] = view360(
            actor=personas.actor("mfg_manager"),
            pk=group.pk,
            timeline_query=TimelineQuery(kind="source"),
        )["timeline"]
        assert entry.body == "Row 3 of the file"

    rows[1][3] = "房地产业"
    again = start(personas, write_csv(tmp_path / "no_ids_2.csv", headers, rows), kind="excel")
    # Matched by credit code, and the rows without one by their names among the records
    # this source fed: nothing is added twice.
    assert (again.updated, again.created, again.matched) == (1, 0, 2)
    assert Customer.objects.filter(legal_name="华润置地有限公司").count() == 1
    group.refresh_from_db()
    assert group.industry == "70"
    assert SourceRecord.objects.filter(customer=group).count() == 2
    assert SourceRecord.objects.filter(customer=land).count() == 2
    # Another source's spreadsheet with the same name is not matched by name: the batch
    # dedup proposes it, a person decides.
    other = start(personas, write_csv(tmp_path / "other.csv", headers, rows[:1]), kind="other")
    assert other.created == 1


@pytest.mark.django_db
def test_contacts_import_a_batch_at_a_time_and_update_by_id(
    personas: Personas, tmp_path: Path
) -> None:
    """New contacts are written per batch (a change record each, one event, the
    companies' search text once); the same id later in the file or in a later file
    updates, and may move the contact; a company the unit does not work with is refused
    for that row only."""
    from groupcrm.core.actor import Actor
    from groupcrm.core.models import OutboxEvent
    from groupcrm.customers import services as customer_services

    start(personas, zoho_file(tmp_path))
    land = Customer.objects.get(legal_name="华润置地有限公司")
    group = Customer.objects.get(legal_name="华润集团有限公司")
    theirs = customer_services.customer_create(
        actor=Actor.system("tests"),
        legal_name="金融独家有限公司",
        start_relationship=False,
        similar_override_reason="test",
    )
    customer_services.relationship_start(
        actor=Actor.system("tests"), customer_id=theirs.pk, bu_id=personas.units["fin"].pk
    )
    headers = ["Record Id", "Account Name.id", "Account Name", "Full Name", "Title", "Mobile"]
    rows = [
        ["K1", "zcrm_2", "", "王伟", "采购", "13800138000"],
        ["K2", "", "金融独家有限公司", "孙七", "", ""],
        ["", "zcrm_2", "", "钱八", "工程师", ""],
        ["K1", "zcrm_2", "", "王伟", "采购经理", "13800138000"],
    ]
    with translation.override("en"):
        job = start(
            personas,
            write_csv(tmp_path / "Contacts.csv", headers, rows),
            entity="contacts",
        )
    assert (job.created, job.updated, job.rejected) == (2, 1, 1)
    [refused] = RowIssue.objects.filter(job=job)
    assert refused.row == 3 and "Only units engaged" in refused.reason
    wang = Contact.objects.get(name="王伟")
    assert (wang.customer, wang.title, wang.mobile) == (land, "采购经理", "+8613800138000")
    assert not Contact.objects.filter(customer=theirs).exists()
    created = ChangeRecord.objects.filter(object_type="customers.contact", action="create")
    assert created.count() == 2 and "13800138000" not in str(list(created.values("changes")))
    event = OutboxEvent.objects.get(name="customers.contacts_imported")
    assert sorted(event.payload["contact_ids"]) == sorted(
        Contact.objects.filter(customer=land).values_list("pk", flat=True)
    )
    land.refresh_from_db()
    assert "王伟" in land.search_text and "钱八" in land.search_text
    assert SourceRecord.objects.get(entity="contacts", external_id="K1").contact == wang

    # A later file: K1 has moved to the parent company and changed title.
    again = start(
        personas,
        write_csv(tmp_path / "Contacts2.csv", headers, [["K1", "zcrm_1", "", "王伟", "总监", ""]]),
        entity="contacts",
    )
    assert (again.created, again.updated, again.rejected) == (0, 1, 0)
    wang.refresh_from_db()
    assert (wang.customer, wang.title) == (group, "总监")
    assert ChangeRecord.objects.filter(object_id=str(wang.pk), verb="move").exists()
