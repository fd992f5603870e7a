"""Customer relationship imports: a unit's owner, stage, unit grade, notes and protection
per company, set or updated for the job's unit only; owners outside the unit or over the
pool rule's limit leave the customer in the pool (or with its owner), with a warning;
unknown companies, stages and grades refused row by row; a re-import updates; audit,
events and lineage; permission refused before a job exists; a dry run writes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from groupcrm.audit.models import ChangeRecord
from groupcrm.core.actor import Actor
from groupcrm.core.errors import PermissionDenied
from groupcrm.core.models import OutboxEvent
from groupcrm.core.testing.personas import Personas, perms
from groupcrm.customers import services as customers
from groupcrm.customers.models import Customer, CustomerRelationship, PoolRule
from groupcrm.integration import services
from groupcrm.integration.mapping import suggest
from groupcrm.integration.models import ImportJob, ImportSource, RowIssue, SourceRecord
from groupcrm.integration.relationships import stage_of
from groupcrm.org.models import User
from groupcrm.org.services import membership_add, role_create, user_create
from tests.test_integration import start, write_csv, zoho_file

HEADERS = ["客户编号", "客户名称", "负责人", "阶段", "客户等级", "备注", "保护期至"]


def relationships_file(tmp_path: Path, rows: list[list[str]], name: str = "客户关系.csv") -> Path:
    return write_csv(tmp_path / name, HEADERS, rows, encoding="gb18030")


@pytest.fixture
def imported(personas: Personas, tmp_path: Path) -> dict[str, Customer]:
    """The Zoho accounts in 华夏制造 (华润置地 owned by mfg_am, the others in the pool), a
    company only 华夏金融 works with, and one no unit works with yet."""
    start(personas, zoho_file(tmp_path))
    system = Actor.system("tests")
    other = customers.customer_create(
        actor=system,
        legal_name="金融独家有限公司",
        start_relationship=False,
        similar_override_reason="test",
    )
    customers.relationship_start(
        actor=system,
        customer_id=other.pk,
        bu_id=personas.units["fin"].pk,
        owner_id=personas.fin_am.pk,
    )
    alone = customers.customer_create(
        actor=system,
        legal_name="无人问津有限公司",
        start_relationship=False,
        similar_override_reason="test",
    )
    return {
        "land": Customer.objects.get(legal_name="华润置地有限公司"),
        "group": Customer.objects.get(legal_name="华润集团有限公司"),
        "branch": Customer.objects.get(legal_name="华润置地有限公司上海分公司"),
        "other": other,
        "alone": alone,
    }


ROWS = [
    ["zcrm_2", "", "mfg_am2", "意向", "a", "重点跟进", "2026-12-31"],
    ["", "华润集团有限公司", "fin_am", "成交", "B", "", ""],
    ["", "金融独家有限公司", "mfg_am", "Prospect", "", "", ""],
    ["", "无人问津有限公司", "fin_am", "", "", "集团转来", ""],
    ["zcrm_99", "", "", "意向", "", "", ""],
    ["zcrm_3", "", "", "飞鸽传书", "", "", ""],
    ["zcrm_3", "", "", "", "Z", "", ""],
    ["zcrm_3", "", "", "", "", "", "明年"],
]


def _mine(personas: Personas) -> dict[int, CustomerRelationship]:
    return {r.customer_id: r for r in CustomerRelationship.objects.filter(bu=personas.units["mfg"])}


@pytest.mark.django_db
def test_a_relationship_file_sets_the_units_relationships_with_warnings_and_a_report(
    personas: Personas, tmp_path: Path, imported: dict[str, Customer]
) -> None:
    land, group, other, alone = (imported[k] for k in ("land", "group", "other", "alone"))
    theirs = CustomerRelationship.objects.get(customer=other, bu=personas.units["fin"])
    with translation.override("en"):
        job = start(personas, relationships_file(tmp_path, ROWS), entity="relationships")
    assert job.status == "done", job.error
    assert job.mapping == {
        "customer_external_id": "客户编号",
        "customer_name": "客户名称",
        "owner": "负责人",
        "stage": "阶段",
        "grade": "客户等级",
        "notes": "备注",
        "protected_until": "保护期至",
    }
    assert (job.created, job.updated, job.matched, job.rejected) == (2, 2, 0, 4)
    mine = _mine(personas)
    # Updated: a new owner (a member of the unit), stage, grade as the unit writes it.
    first = mine[land.pk]
    assert (first.owner, first.stage, first.grade, first.notes) == (
        personas.mfg_am2,
        "intent",
        "A",
        "重点跟进",
    )
    assert first.protected_until == dt.date(2026, 12, 31) and first.claimed_at is not None
    # fin_am is not in 华夏制造: the pool relationship stays in the pool, the rest applies.
    assert (mine[group.pk].owner, mine[group.pk].stage, mine[group.pk].grade) == (None, "won", "B")
    # Created: owned by a member, or in the pool when the owner is not one.
    assert (mine[other.pk].owner, mine[other.pk].stage) == (personas.mfg_am, "prospect")
    assert (mine[alone.pk].owner, mine[alone.pk].notes) == (None, "集团转来")
    # Another unit's relationship with the same company is untouched.
    after = CustomerRelationship.objects.get(pk=theirs.pk)
    assert (after.owner, after.stage, after.grade, after.updated_at) == (
        personas.fin_am,
        "prospect",
        "",
        theirs.updated_at,
    )
    assert mine[imported["branch"].pk].stage == "prospect"  # its rows were all rejected

    reasons = {i.row: (i.imported, i.reason) for i in RowIssue.objects.filter(job=job)}
    assert reasons[3][0] and "Account manager not changed" in reasons[3][1]
    assert reasons[5][0] and "Imported into the public pool" in reasons[5][1]
    rejected = {row: reason for row, (imported_, reason) in reasons.items() if not imported_}
    assert sorted(rejected) == [6, 7, 8, 9]
    assert "neither in this source nor in the master" in rejected[6]
    assert "飞鸽传书" in rejected[7] and "Prospect" in rejected[7]
    assert "grade" in rejected[8] and "A, B, C" in rejected[8]
    assert "protected_until" in rejected[9]

    # Changes audited field by field per relationship, new ones once on the job.
    change = ChangeRecord.objects.get(
        verb="import", object_type="customers.customerrelationship", object_id=str(first.pk)
    )
    assert change.changes["owner"] == [personas.mfg_am.pk, personas.mfg_am2.pk]
    assert change.changes["stage"] == ["prospect", "intent"]
    assert change.changes["grade"] == ["", "A"]
    batch = ChangeRecord.objects.get(verb="import_batch", object_id=str(job.pk))
    assert sorted(batch.changes["relationships_created"]) == sorted(
        [mine[other.pk].pk, mine[alone.pk].pk]
    )
    event = OutboxEvent.objects.get(name="customers.relationships_imported")
    assert sorted(event.payload["relationship_ids"]) == sorted(
        [mine[other.pk].pk, mine[alone.pk].pk]
    )
    owner_changed = OutboxEvent.objects.get(
        name="customers.owner_changed", payload__reason="import"
    )
    assert owner_changed.payload["to"] == personas.mfg_am2.pk
    assert OutboxEvent.objects.filter(name="customers.stage_changed").count() == 2
    # Lineage: each imported row kept, linked to its company, in the job of its unit.
    records = SourceRecord.objects.filter(entity="relationships", job=job)
    assert sorted(r.customer_id for r in records) == sorted([land.pk, group.pk, other.pk, alone.pk])


@pytest.mark.django_db
def test_importing_again_updates_instead_of_duplicating(
    personas: Personas, tmp_path: Path, imported: dict[str, Customer]
) -> None:
    start(personas, relationships_file(tmp_path, ROWS[:3]), entity="relationships")
    count = CustomerRelationship.objects.count()
    changed = [[*ROWS[0][:5], "下季度签约", ROWS[0][6]], ROWS[1], ROWS[2], ROWS[2]]
    again = start(
        personas, relationships_file(tmp_path, changed, "again.csv"), entity="relationships"
    )
    # One relationship changed, two as they were; a later row of a company wins.
    assert (again.created, again.updated, again.matched, again.rejected) == (0, 2, 2, 0)
    assert CustomerRelationship.objects.count() == count
    land = CustomerRelationship.objects.get(customer=imported["land"], bu=personas.units["mfg"])
    assert land.notes == "下季度签约"
    change = ChangeRecord.objects.filter(verb="import", object_id=str(land.pk)).latest("id")
    assert change.changes == {"notes": ["重点跟进", "下季度签约"]}


@pytest.mark.django_db
def test_an_owner_at_the_pool_rules_limit_gets_no_more_customers(
    personas: Personas, tmp_path: Path, imported: dict[str, Customer]
) -> None:
    PoolRule.objects.create(bu=personas.units["mfg"], max_owned=1)  # mfg_am owns 华润置地
    rows = [
        ["", "金融独家有限公司", "mfg_am", "", "", "", ""],
        ["", "无人问津有限公司", "mfg_am2", "", "", "", ""],
        ["zcrm_1", "", "mfg_am2", "", "", "", ""],
    ]
    with translation.override("en"):
        job = start(personas, relationships_file(tmp_path, rows), entity="relationships")
    mine = _mine(personas)
    assert mine[imported["other"].pk].owner is None
    assert mine[imported["alone"].pk].owner == personas.mfg_am2
    assert mine[imported["group"].pk].owner is None  # mfg_am2 owns one now
    reasons = {i.row: i.reason for i in RowIssue.objects.filter(job=job, imported=True)}
    assert sorted(reasons) == [2, 4]
    assert "the most the unit allows" in reasons[2] and "public pool" in reasons[2]
    assert "Account manager not changed" in reasons[4]


@pytest.mark.django_db
def test_who_may_not_change_the_units_relationships_may_not_import_them(
    personas: Personas, tmp_path: Path, imported: dict[str, Customer]
) -> None:
    """Refused at the start, before a job exists: a clerk who may create customers but not
    change relationships, and someone who may import into 华夏制造 but whose customer
    grant reaches only their team below it."""
    system = Actor.system("tests")
    may_create = perms("customers", actions=("view", "create"))
    clerk_role, imports_role, team_role = (
        role_create(actor=system, name=code, code=code, permissions=permissions, data_scope=scope)
        for code, permissions, scope in [
            ("clerk", [*perms("integration"), *may_create], "subtree"),
            ("imports", perms("integration"), "subtree"),
            ("team", perms("customers"), "team"),
        ]
    )
    clerk, importer = (
        user_create(
            actor=system,
            username=username,
            password="x-Secret-2026",
            bu_id=personas.units["mfg"].pk,
            role_id=role.pk,
        )
        for username, role in [("clerk", clerk_role), ("importer", imports_role)]
    )
    membership_add(
        actor=system, user_id=importer.pk, bu_id=personas.units["mfg-sh"].pk, role_id=team_role.pk
    )
    source, _created = ImportSource.objects.get_or_create(name="zoho CRM")

    def import_into(user: User, unit: str) -> ImportJob:
        return services.import_start(
            actor=Actor(user),
            source_id=source.pk,
            bu_id=personas.units[unit].pk,
            entity="relationships",
            path=relationships_file(tmp_path, ROWS[2:3]),
            filename="客户关系.csv",
            run=False,
        )

    for user in (clerk, importer):
        with pytest.raises(PermissionDenied):
            import_into(user, "mfg")
    assert not ImportJob.objects.filter(entity="relationships").exists()
    # The team's own relationships the importer may import.
    assert services.import_run(import_into(importer, "mfg-sh").pk).created == 1


@pytest.mark.django_db
def test_a_dry_run_writes_nothing(
    personas: Personas, tmp_path: Path, imported: dict[str, Customer]
) -> None:
    before = list(CustomerRelationship.objects.order_by("pk").values())
    changes, events = ChangeRecord.objects.count(), OutboxEvent.objects.count()
    job = start(personas, relationships_file(tmp_path, ROWS), entity="relationships", dry_run=True)
    assert job.status == "done"
    assert (job.created, job.updated, job.rejected) == (2, 2, 4)  # what would happen
    assert RowIssue.objects.filter(job=job).count() == 6
    assert list(CustomerRelationship.objects.order_by("pk").values()) == before
    assert not SourceRecord.objects.filter(entity="relationships").exists()
    # Only the job's own queuing is recorded.
    assert ChangeRecord.objects.count() - changes == 1
    assert OutboxEvent.objects.count() - events == 1


def test_stages_and_headers_as_other_systems_write_them() -> None:
    assert [stage_of(v) for v in ("潜在", "Interested", "已成交", "lost", "won", "成交?")] == [
        "prospect",
        "intent",
        "won",
        "lost",
        "won",
        None,
    ]
    headers = ["Account Name", "Owner", "Stage", "Rating", "Description", "Id"]
    assert suggest(headers, "relationships") == {
        "customer_external_id": "Id",
        "customer_name": "Account Name",
        "owner": "Owner",
        "stage": "Stage",
        "grade": "Rating",
        "notes": "Description",
    }


@pytest.mark.django_db
def test_the_upload_page_offers_relationships(personas: Personas) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(personas.mfg_manager)
    page = client.get(reverse("integration:new")).content.decode()
    assert 'value="relationships"' in page


@pytest.mark.django_db
def test_the_api_takes_a_relationships_file(
    personas: Personas, tmp_path: Path, imported: dict[str, Customer]
) -> None:
    source = ImportSource.objects.get()
    token = personas.token("mfg_manager")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    with relationships_file(tmp_path, ROWS[:1]).open("rb") as handle:
        response = client.post(
            "/api/v1/imports",
            {
                "file": handle,
                "source_id": source.pk,
                "bu_id": personas.units["mfg"].pk,
                "entity": "relationships",
                "dry_run": "false",
            },
        )
    assert response.status_code == 202, response.content
    job = services.import_run(response.json()["id"])
    assert (job.entity, job.updated, job.rejected) == ("relationships", 1, 0)
    land = CustomerRelationship.objects.get(customer=imported["land"], bu=personas.units["mfg"])
    assert land.owner == personas.mfg_am2 and land.stage == "intent"
