"""Data integration in real headless Chromium: a data steward imports a 纷享销客 export
into one unit and a Zoho export of the same companies into another, finds the duplicates
with their reasons, merges two pairs, sees the data-quality score rise and undoes one
merge; and brings a customer's follow-up history along."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from playwright.sync_api import Page, expect

from groupcrm.core.actor import Actor
from groupcrm.core.testing.personas import Personas
from groupcrm.customers.models import Customer
from groupcrm.integration.matching import dedup_run
from groupcrm.integration.models import DuplicatePair, ImportJob, ImportSource
from groupcrm.integration.services import import_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def write(path: Path, headers: list[str], rows: list[list[str]], encoding: str) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def upload(
    page: Page, base: str, path: Path, source: str, unit: str, entity: str = "customers"
) -> None:
    page.goto(f"{base}/imports/new/")
    page.set_input_files("#id_file", str(path))
    page.select_option("#id_source", label=source)
    page.select_option("#id_entity", entity)
    page.select_option("#id_bu", label=unit)
    page.uncheck("#id_dry_run")
    page.click("main button.btn-primary[type=submit]")
    expect(page.locator("[data-status]")).to_be_visible()
    # What the worker does with the queued job (with Redis the queue has no worker here).
    job = ImportJob.objects.latest("pk")
    if job.status != "done":
        import_run(job.pk)
    page.reload()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "done")


def manufacturing_score(page: Page, base: str) -> float:
    """华夏制造's average data-quality score on the quality page."""
    page.goto(f"{base}/imports/quality/")
    row = page.get_by_test_id("quality-units").locator("tr", has_text="华夏制造")
    return float(row.locator("td").nth(2).inner_text())


def test_steward_imports_two_crms_and_merges_the_duplicates(
    page: Page, live_server, personas: Personas, sign_in, tmp_path: Path
) -> None:
    ImportSource.objects.create(name="纷享销客", kind="fxiaoke")
    ImportSource.objects.create(name="Zoho", kind="zoho")
    companies = ["华润置地", "长江精密机械", "东方物流", "昆仑能源", "泰山重工", "黄河食品"]
    # 纷享销客's Excel export (客户), Chinese headers.
    book = Workbook()
    sheet = book.active
    sheet.append(["客户编号", "客户名称", "详细地址"])
    for i, n in enumerate(companies):
        sheet.append([f"FX{i}", f"{n}有限公司", f"上海市浦东新区张江路{i + 1}号"])
    fx = tmp_path / "客户.xlsx"
    book.save(fx)
    # The other CRM knows the industry: a merge fills it into the kept record.
    zoho = write(
        tmp_path / "Accounts.csv",
        ["Record Id", "Account Name", "Billing Street", "Industry"],
        [
            [f"z{i}", f"{n} 有限责任公司", f"上海市浦东新区张江路{i + 1}号", "房地产业"]
            for i, n in enumerate(companies)
        ],
        "utf-8",
    )
    base = live_server.url
    sign_in(page, base, "admin")
    upload(page, base, fx, "纷享销客", "— 华夏制造")
    upload(page, base, zoho, "Zoho", "— 华夏金融")
    assert Customer.objects.count() == 12

    page.goto(f"{base}/imports/duplicates/")
    page.get_by_role("button", name="立即查重").click()
    expect(page.locator(".alert-success")).to_be_visible()
    if not DuplicatePair.objects.exists():
        # What the worker does with the queued run (with Redis the queue has no worker here).
        dedup_run(actor=Actor.system("tests"), entity="customers")
    assert DuplicatePair.objects.count() >= 6
    before = manufacturing_score(page, base)
    for merged in (1, 2):
        page.goto(f"{base}/imports/duplicates/")
        card = page.locator("[data-pair]").first
        expect(card).to_contain_text("有限公司")
        expect(card.locator(".badge").first).to_be_visible()  # the reasons
        card.get_by_test_id("keep-left").click()
        expect(page.locator(".alert-success")).to_be_visible()
        assert Customer.objects.filter(status="merged").count() == merged
    assert manufacturing_score(page, base) > before
    survivor = Customer.objects.get(pk=Customer.objects.filter(status="merged")[0].merged_into_id)

    page.goto(f"{base}/customers/{survivor.pk}/")
    expect(page.locator("#relationships")).to_contain_text("华夏制造")
    expect(page.locator("#relationships")).to_contain_text("华夏金融")
    page.get_by_test_id("unmerge").click()
    expect(page.locator(".alert-success")).to_be_visible()
    assert Customer.objects.filter(status="merged").count() == 1


def test_follow_up_history_is_imported_onto_the_360_timeline(
    page: Page, live_server, personas: Personas, sign_in, tmp_path: Path
) -> None:
    ImportSource.objects.create(name="纷享销客", kind="fxiaoke")
    customers = write(
        tmp_path / "客户.csv",
        ["客户编号", "客户名称", "负责人"],
        [["FX1", "长江精密机械有限公司", "mfg_am"]],
        "gb18030",
    )
    history = write(
        tmp_path / "跟进记录.csv",
        ["跟进记录编号", "客户编号", "跟进时间", "跟进方式", "跟进内容", "跟进人"],
        [
            ["G1", "FX1", "2026/3/1 10:00", "电话拜访", "首次电话沟通需求", "mfg_am"],
            ["G2", "FX1", "2026年3月9日", "上门拜访", "现场看产线", "mfg_am"],
            ["G3", "FX9", "2026-03-10", "电话", "找不到的客户", ""],
        ],
        "gb18030",
    )
    base = live_server.url
    sign_in(page, base, "mfg_manager")
    upload(page, base, customers, "纷享销客", "— 华夏制造")
    upload(page, base, history, "纷享销客", "— 华夏制造", entity="followups")
    # The job's report names the rejected row and why.
    expect(page.locator("main")).to_contain_text("G3")
    expect(page.locator("main")).to_contain_text("既不在此数据源中")
    customer = Customer.objects.get(legal_name="长江精密机械有限公司")
    page.goto(f"{base}/customers/{customer.pk}/")
    expect(page.locator("main")).to_contain_text("现场看产线")
    expect(page.locator("main")).to_contain_text("首次电话沟通需求")
