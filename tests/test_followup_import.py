"""Follow-up (跟进记录) imports: customers found by their id in the source, credit code or
name; authors kept when they belong to the unit; bad dates, unknown companies, a unit
without a relationship and future follow-ups refused row by row; re-importing an id
updates instead of duplicating; lineage, audit and the relationship's last follow-up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from groupcrm.audit.models import ChangeRecord
from groupcrm.core.actor import Actor
from groupcrm.core.errors import PermissionDenied
from groupcrm.core.models import OutboxEvent
from groupcrm.core.testing.personas import Personas, perms
from groupcrm.customers import services as customers
from groupcrm.customers.models import Customer, CustomerRelationship, FollowUp
from groupcrm.integration import services
from groupcrm.integration.followups import kind_of, parse_when
from groupcrm.integration.models import ImportJob, ImportSource, RowIssue, SourceRecord
from groupcrm.org.services import role_create, user_create
from tests.test_integration import start, write_csv, zoho_file

HEADERS = [
    "跟进记录编号",
    "客户编号",
    "客户名称",
    "跟进时间",
    "跟进方式",
    "跟进内容",
    "跟进人",
    "下次跟进时间",
]


def followups_file(tmp_path: Path, rows: list[list[str]], name: str = "跟进记录.csv") -> Path:
    return write_csv(tmp_path / name, HEADERS, rows, encoding="gb18030")


@pytest.fixture
def imported(personas: Personas, tmp_path: Path) -> dict[str, Customer]:
    """The Zoho accounts in 华夏制造, and a company only 华夏金融 works with."""
    start(personas, zoho_file(tmp_path))
    other = customers.customer_create(
        actor=Actor.system("tests"),
        legal_name="金融独家有限公司",
        start_relationship=False,
        similar_override_reason="test",
    )
    customers.relationship_start(
        actor=Actor.system("tests"), customer_id=other.pk, bu_id=personas.units["fin"].pk
    )
    return {
        "land": Customer.objects.get(legal_name="华润置地有限公司"),
        "group": Customer.objects.get(legal_name="华润集团有限公司"),
        "other": other,
    }


ROWS = [
    ["f1", "zcrm_2", "", "2026-03-01 10:00", "电话", "约了下周拜访", "mfg_am", "2026-03-08"],
    ["f2", "zcrm_2", "", "2026/3/5", "上门拜访", "现场交流需求", "", ""],
    ["f3", "", "华润集团有限公司", "2026年2月1日", "飞鸽传书", "集团层面沟通", "", ""],
    ["f4", "zcrm_99", "", "2026-03-01", "电话", "无此客户", "", ""],
    ["f5", "zcrm_2", "", "明天", "电话", "日期不对", "", ""],
    ["f6", "zcrm_2", "", "2099-01-01", "电话", "未来的跟进", "", ""],
    ["f7", "zcrm_2", "", "2026-03-01", "电话", "", "", ""],
    ["f8", "zcrm_2", "", "2026-02-30", "电话", "不存在的日期", "", ""],
    ["f9", "", "金融独家有限公司", "2026-03-01", "电话", "别的单位的客户", "", ""],
    ["f10", "zcrm_2", "", "2026-03-02", "meeting", "季度会", "fin_am", ""],
]


@pytest.mark.django_db
def test_a_followup_file_imports_with_authors_warnings_and_a_report(
    personas: Personas, tmp_path: Path, imported: dict[str, Customer]
) -> None:
    with translation.override("en"):  # the report's reasons are in the importer's language
        job = start(personas, followups_file(tmp_path, ROWS), kind="zoho", entity="followups")
    assert job.status == "done", job.error
    assert job.encoding == "gb18030"
    assert (job.created, job.updated, job.rejected) == (4, 0, 6)
    land, group = imported["land"], imported["group"]
    mine = {f.content: f for f in FollowUp.objects.filter(bu=personas.units["mfg"])}
    assert set(mine) == {"约了下周拜访", "现场交流需求", "集团层面沟通", "季度会"}
    first = mine["约了下周拜访"]
    assert (first.customer, first.kind, first.owner) == (land, "call", personas.mfg_am)
    assert timezone.localtime(first.occurred_at).replace(tzinfo=None) == dt.datetime(2026, 3, 1, 10)
    assert first.next_due == dt.date(2026, 3, 8)
    assert mine["现场交流需求"].kind == "visit"
    assert mine["现场交流需求"].owner == personas.mfg_manager  # no author: the importer
    assert (mine["集团层面沟通"].customer, mine["集团层面沟通"].kind) == (group, "note")
    assert mine["季度会"].owner == personas.mfg_manager  # fin_am is not in 华夏制造

    reasons = {i.row: (i.imported, i.reason) for i in RowIssue.objects.filter(job=job)}
    assert reasons[4][0] and "飞鸽传书" in reasons[4][1]  # imported, with a warning
    assert reasons[11][0] and "fin_am" in reasons[11][1]
    rejected = {row: reason for row, (imported_, reason) in reasons.items() if not imported_}
    assert sorted(rejected) == [5, 6, 7, 8, 9, 10]
    assert "neither in this source nor in the master" in rejected[5]
    assert "2026-03-01" in rejected[6]
    assert "future" in rejected[7]
    assert "required" in rejected[8]
    assert "does not exist" in rejected[9]
    assert "华夏制造 has no relationship" in rejected[10]
    assert not FollowUp.objects.filter(customer=imported["other"]).exists()

    # As logging one by hand: the relationship's last follow-up is the latest imported.
    relationship = CustomerRelationship.objects.get(customer=land, bu=personas.units["mfg"])
    assert timezone.localtime(relationship.last_followup_at).date() == dt.date(2026, 3, 5)
    # Lineage, one change record for the batch and one event.
    record = SourceRecord.objects.get(entity="followups", external_id="f1")
    assert (record.followup, record.customer, record.row) == (first, land, 2)
    audit = ChangeRecord.objects.get(verb="import_batch", object_id=str(job.pk))
    assert sorted(audit.changes["followups_created"]) == sorted(f.pk for f in mine.values())
    event = OutboxEvent.objects.get(name="customers.followups_imported")
    assert sorted(event.payload["followup_ids"]) == sorted(f.pk for f in mine.values())


@pytest.mark.django_db
def test_importing_the_same_ids_again_updates_them(
    personas: Personas, tmp_path: Path, imported: dict[str, Customer]
) -> None:
    start(personas, followups_file(tmp_path, ROWS[:2]), kind="zoho", entity="followups")
    changed = [[*ROWS[0][:5], "约了下周二拜访", *ROWS[0][6:]], ROWS[1], ROWS[1]]
    again = start(
        personas,
        followups_file(tmp_path, changed, name="again.csv"),
        kind="zoho",
        entity="followups",
    )
    assert (again.created, again.updated, again.rejected) == (0, 3, 0)
    assert FollowUp.objects.filter(customer=imported["land"]).count() == 2
    followup = SourceRecord.objects.get(entity="followups", external_id="f1").followup
    assert followup is not None and followup.content == "约了下周二拜访"
    change = ChangeRecord.objects.get(verb="import", object_id=str(followup.pk))
    assert change.changes["content"] == ["约了下周拜访", "约了下周二拜访"]


@pytest.mark.django_db
def test_who_may_not_log_follow_ups_may_not_import_them(
    personas: Personas, tmp_path: Path, imported: dict[str, Customer]
) -> None:
    """A data clerk may import customers but not follow-ups: refused at the start, before a
    job exists, rather than a job that fails on its first batch."""
    system = Actor.system("tests")
    clerk_role = role_create(
        actor=system,
        name="clerk",
        code="clerk",
        permissions=perms("integration", "customers"),
        data_scope="team",
    )
    clerk = user_create(
        actor=system,
        username="clerk",
        password="x-Secret-2026",
        bu_id=personas.units["mfg"].pk,
        role_id=clerk_role.pk,
    )
    source = ImportSource.objects.create(name="纷享销客", kind="fxiaoke")
    with pytest.raises(PermissionDenied):
        services.import_start(
            actor=Actor(clerk),
            source_id=source.pk,
            bu_id=personas.units["mfg"].pk,
            entity="followups",
            path=followups_file(tmp_path, ROWS[:1]),
            filename="跟进记录.csv",
            run=False,
        )
    assert not ImportJob.objects.filter(entity="followups").exists()


def test_dates_and_types_as_offices_write_them() -> None:
    for text in ("2026-03-01", "2026/3/1", "2026.03.01", "2026年3月1日", "2026-03-01T00:00:00"):
        assert timezone.localtime(parse_when(text, "t")).date() == dt.date(2026, 3, 1)
    assert timezone.localtime(parse_when("2026-03-01 14:30", "t")).hour == 14
    assert [kind_of(v) for v in ("", "电话", "Visit", "会议", "WeChat", "email", "飞鸽")] == [
        "note",
        "call",
        "visit",
        "meeting",
        "wechat",
        "email",
        None,
    ]


@pytest.mark.django_db
def test_the_upload_page_offers_follow_ups(personas: Personas) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(personas.mfg_manager)
    page = client.get(reverse("integration:new")).content.decode()
    assert 'value="followups"' in page


@pytest.mark.django_db
def test_follow_ups_name_the_company_contacts_they_were_with(
    personas: Personas, tmp_path: Path, imported: dict[str, Customer]
) -> None:
    land = imported["land"]
    system = Actor.system("tests")
    wang = customers.contact_create(actor=system, customer_id=land.pk, name="王伟")
    li = customers.contact_create(actor=system, customer_id=land.pk, name="李娜")
    customers.contact_create(actor=system, customer_id=imported["group"].pk, name="赵六")
    headers = [*HEADERS, "联系人"]
    rows = [
        [*ROWS[0], "王伟、李娜"],
        [*ROWS[1], "赵六"],  # 赵六 works for the parent company, not this one
    ]
    with translation.override("en"):
        job = start(
            personas,
            write_csv(tmp_path / "with_contacts.csv", headers, rows),
            kind="zoho",
            entity="followups",
        )
    assert job.mapping["contacts"] == "联系人"
    first = FollowUp.objects.get(content="约了下周拜访")
    assert set(first.contacts.all()) == {wang, li}
    second = FollowUp.objects.get(content="现场交流需求")
    assert not second.contacts.exists()
    [warning] = RowIssue.objects.filter(job=job, imported=True)
    assert warning.row == 3 and "赵六" in warning.reason
    # Imported again with one contact: the follow-up's contacts are what the file says.
    again = start(
        personas,
        write_csv(tmp_path / "again.csv", headers, [[*ROWS[0], "李娜"]]),
        kind="zoho",
        entity="followups",
    )
    assert again.updated == 1
    assert list(first.contacts.all()) == [li]
