"""Bad input to imports (issue 4): an XLSX with merged cells and with formulas no program
computed, a damaged XLSX, and thousands of bad rows among good ones with their report."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook, load_workbook

from groupcrm.core.errors import ValidationError
from groupcrm.core.testing.personas import Personas
from groupcrm.customers.models import Customer
from groupcrm.integration.models import ImportJob, RowIssue, SourceRecord
from groupcrm.integration.reader import FileError, open_table
from tests.test_integration import start, write_csv

SHEET = "xl/worksheets/sheet1.xml"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path


def rewrite_sheet(path: Path, *replacements: tuple[str, str]) -> Path:
    """The workbook with its sheet's XML edited: what another program would have saved."""
    with zipfile.ZipFile(path) as source:
        parts = {item.filename: source.read(item) for item in source.infolist()}
    xml = parts[SHEET].decode()
    for old, new in replacements:
        assert old in xml, old
        xml = xml.replace(old, new)
    parts[SHEET] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def test_merged_cells_read_as_a_person_reads_them(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["公司名称", "联系人", "电话", "传真"])
    sheet.append(["长江实业有限公司", "张伟", "010-1", None])
    sheet.append([None, "王芳", "010-2", None])
    sheet.append([None, None, None, None])  # inside the merged range, but empty itself
    sheet.append([None, "李娜", "010-3", None])
    sheet.append(["黄河物流有限公司", "赵磊", "021-8", None])
    sheet.merge_cells("A2:A5")  # one company, its contacts below each other
    sheet.merge_cells("C6:D6")  # one number for phone and fax
    path = tmp_path / "contacts.xlsx"
    book.save(path)
    table = open_table(path)
    assert table.headers == ["公司名称", "联系人", "电话", "传真"]
    rows = list(table.rows)
    assert [number for number, _values in rows] == [2, 3, 5, 6]
    assert [values["公司名称"] for _n, values in rows] == ["长江实业有限公司"] * 3 + [
        "黄河物流有限公司"
    ]
    assert rows[-1][1]["传真"] == rows[-1][1]["电话"] == "021-8"
    assert rows[0][1]["传真"] == ""


def test_a_merged_header_is_not_copied_into_the_rows(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["公司名称", "地址", None])
    sheet.append(["长江实业有限公司", "北京", "朝阳区"])
    sheet.merge_cells("B1:C1")
    path = tmp_path / "header.xlsx"
    book.save(path)
    table = open_table(path)
    # Not “地址” twice: a title over two columns names the first only.
    assert table.headers == ["公司名称", "地址"]
    assert [values for _n, values in table.rows] == [
        {"公司名称": "长江实业有限公司", "地址": "北京"}
    ]


@pytest.mark.django_db
def test_formulas_without_a_computed_value_are_said_per_row(
    personas: Personas, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["公司名称", "员工人数", "统一社会信用代码", "网址", "备注"])
    sheet.append(["泰山重工有限公司", 100, None, "www.ts.cn"])
    sheet.append(['=CONCAT("黄河","物流有限公司")', 20, None, None])  # the required name
    sheet.append(["天山能源有限公司", "=B2*2", None, "=LOWER(D2)", "=A4"])  # 备注: not imported
    sheet.append(["昆仑矿业有限公司", "=B2+1", "123", None])  # a bad credit code too
    sheet.append(["华山制药有限公司", "=B2*3", None, '=IF(B2>0,"","x")'])
    book.save(tmp_path / "formulas.xlsx")
    path = rewrite_sheet(
        tmp_path / "formulas.xlsx",
        # Saved by Excel: the formulas of row 6 carry their results, "" for the text one.
        ('<c r="B6"><f>B2*3</f><v /></c>', '<c r="B6"><f>B2*3</f><v>300</v></c>'),
        ('<c r="D6"><f>', '<c r="D6" t="str"><f>'),
    )
    with translation.override("en"):
        job = start(personas, path, kind="generic")
    job.refresh_from_db()
    assert job.status == "done" and (job.created, job.rejected) == (3, 2)
    issues = {(i.row, i.imported): i.reason for i in RowIssue.objects.filter(job=job)}
    assert set(issues) == {(3, False), (4, True), (5, False)}
    # The name is required: the row is refused, saying why and what to do.
    assert issues[3, False] == (
        "legal_name: Column “公司名称” holds a formula without a computed value: open and "
        "save the file in Excel or WPS first."
    )
    # Other columns: imported without the value, each such column named.
    assert "“员工人数”" in issues[4, True] and "“网址”" in issues[4, True]
    assert "备注" not in issues[4, True]
    assert Customer.objects.get(legal_name="天山能源有限公司").employees is None
    # A row refused for another reason is not said to be imported anyway.
    assert not Customer.objects.filter(legal_name="昆仑矿业有限公司").exists()
    assert RowIssue.objects.filter(job=job, row=5).count() == 2
    # Formulas that were computed read as their values, without a word.
    assert Customer.objects.get(legal_name="华山制药有限公司").employees == 300


@pytest.mark.django_db
def test_a_damaged_xlsx_is_refused_with_a_reason(personas: Personas, tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(["公司名称"])
    for n in range(20):
        book.active.append([f"第{n}号测试有限公司"])
    path = tmp_path / "damaged.xlsx"
    book.save(path)
    rewrite_sheet(path, ('</row><row r="12">', '</row><row r="12"><c>'))
    with pytest.raises(FileError):
        list(open_table(path).rows)
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        start(personas, path, kind="generic")
    assert "not a readable XLSX" in str(exc.value.fields["file"])
    assert not ImportJob.objects.exists() and not Customer.objects.exists()


@pytest.mark.django_db
def test_thousands_of_bad_rows_among_good_ones(personas: Personas, tmp_path: Path) -> None:
    """100,000 bad rows build their report in about 2.5 s (30 s with openpyxl's writer);
    5,000 among 5,000 good ones keep this test to a few seconds."""
    headers = ["Record Id", "Account Name", "Website", "Employees"]
    rows = []
    for n in range(5000):
        rows.append([f"good{n}", f"第{n}号良好科技有限公司", "", str(n)])
        # Values a report must carry as they came: a formula-like text, a control character.
        website = ('=HYPERLINK("http://x.cn")', "www.\x0bbad.cn", "")[n % 3]
        rows.append([f"bad{n}", f"第{n}号错误科技有限公司", website, "很多"])
    path = write_csv(tmp_path / "mixed.csv", headers, rows)
    customers_before = Customer.objects.count()
    with translation.override("en"):
        job = start(personas, path, kind="generic")
    job.refresh_from_db()
    assert job.status == "done" and job.done_rows == 10000
    assert (job.created, job.rejected) == (5000, 5000)
    # Every good row is in, no bad one half-written.
    assert Customer.objects.count() == customers_before + 5000
    assert not Customer.objects.filter(legal_name__contains="错误科技").exists()
    assert SourceRecord.objects.filter(job=job).count() == 5000
    assert not SourceRecord.objects.filter(job=job, external_id__startswith="bad").exists()
    bad_rows = {number for number in range(3, 10002, 2)}
    issues = RowIssue.objects.filter(job=job)
    assert set(issues.values_list("row", flat=True)) == bad_rows
    assert set(issues.values_list("imported", flat=True)) == {False}

    client = Client()
    client.force_login(personas.mfg_manager)
    response = client.get(reverse("integration:report", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    # data_only: a formula (no computed value) would read as empty.
    sheet = load_workbook(io.BytesIO(response.content), data_only=True).active
    assert sheet.max_row == 5001
    header = [c.value for c in sheet[1]]
    # The file's columns (in the order PostgreSQL keeps a row's keys) after the error.
    assert header[:3] == ["Row", "Error", "Imported anyway"]
    assert sorted(header[3:]) == sorted(headers)
    report = {
        row[0]: dict(zip(header, row, strict=False))
        for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert set(report) == bad_rows
    for number in (3, 5, 7, 10001):
        cells = report[number]
        assert cells["Error"] == "employees: Enter a number." and cells["Imported anyway"] == "no"
        assert cells["Record Id"] == f"bad{(number - 3) // 2}" and cells["Employees"] == "很多"
    assert report[3]["Website"] == '=HYPERLINK("http://x.cn")'  # text, not a formula
    assert report[5]["Website"] == "www.bad.cn"


@pytest.mark.django_db
def test_lead_imports_and_dedup_file_name_uncomputed_formulas_too(
    personas: Personas, tmp_path: Path
) -> None:
    from django.core.management import call_command

    from groupcrm.sales.leads import services as leads
    from tests.test_dedup import CONFIG

    book = Workbook()
    sheet = book.active
    sheet.append(["公司名称", "省份"])
    sheet.append(["常州天合光能有限公司", "江苏省"])
    sheet.append(['=CONCAT("佛山","美的电器有限公司")', "广东省"])
    book.save(tmp_path / "leads.xlsx")
    with translation.override("en"):
        report = leads.lead_import(
            actor=personas.actor("mfg_manager"),
            path=tmp_path / "leads.xlsx",
            bu_id=personas.units["mfg"].pk,
        )
    assert len(report.created) == 1
    [(row, errors)] = report.rejected
    assert row == 3 and "without a computed value" in errors["company_name"][0]

    book = Workbook()
    sheet = book.active
    sheet.append(["id", "company", "tel", "addr"])
    sheet.append(["1", "泰山重工有限公司", "0531-88880000", "山东省济南市"])
    sheet.append(["2", "=A1", "0531-88880000", "山东省济南市"])
    sheet.append(["3", "泰山重工股份有限公司", "0531-88880000", "山东省济南市"])
    book.save(tmp_path / "dedup.xlsx")
    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")
    err = io.StringIO()
    with translation.override("en"):
        call_command(
            "dedup-file",
            str(tmp_path / "dedup.xlsx"),
            id_column="id",
            config=str(tmp_path / "config.toml"),
            out=str(tmp_path / "pairs.csv"),
            stdout=io.StringIO(),
            stderr=err,
        )
    assert "Column “company” holds a formula without a computed value" in err.getvalue()
