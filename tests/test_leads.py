"""Leads (issue "Sales across the group", point 1): capture through the form, the API and
imports; personal data encrypted and masked; territories and round-robin assignment;
qualification; conversion that links to an existing customer instead of copying it."""

from __future__ import annotations

import datetime as dt
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from groupcrm.audit.models import ChangeRecord
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, PermissionDenied, ValidationError
from groupcrm.core.events import outbox_drain
from groupcrm.core.models import Notification, OutboxEvent
from groupcrm.core.testing.battery import ScopedBattery, api_client, ui_client
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import services as customer_services
from groupcrm.customers.models import Contact, Customer, CustomerRelationship
from groupcrm.customers.normalize import make_uscc
from groupcrm.sales.leads import assignment, services
from groupcrm.sales.leads.models import AssignmentRule, Lead
from groupcrm.sales.models import Opportunity

pytestmark = pytest.mark.usefixtures("default_pipeline")
SYSTEM = Actor.system("tests")
BASE = "/api/v1/sales/leads"


def uscc(seed: int | None = None) -> str:
    return make_uscc(random.Random(seed))


def lead(
    personas: Personas, unit: str = "mfg", owner: str | None = "mfg_am", **fields: Any
) -> Lead:
    who = owner or f"{unit}_manager"
    return services.lead_create(
        actor=personas.actor(who),
        bu_id=personas.units[unit].pk,
        owner_id=personas.users[owner].pk if owner else None,
        company_name=fields.pop("company_name", "苏州远景智造科技有限公司"),
        **fields,
    )


def golden(name: str, code: str | None = None) -> Customer:
    return customer_services.customer_create(
        actor=SYSTEM,
        legal_name=name,
        uscc=code,
        start_relationship=False,
        similar_override_reason="test data",
    )


def next_month() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=30)


# --- capture ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_lead_keeps_phone_and_email_encrypted_and_shows_them_masked(
    personas: Personas,
) -> None:
    row = lead(personas, contact_name="王经理", phone="138 0013 8000", email="Wang@Example.COM")
    raw = connection.cursor()
    raw.execute("SELECT phone, email FROM leads_lead WHERE id = %s", [row.pk])
    phone, email = raw.fetchone()
    assert "13800138000" not in phone and "example" not in email
    row.refresh_from_db()
    assert (row.phone, row.email) == ("+8613800138000", "Wang@example.com")
    api, auth = api_client(personas, "mfg_am")
    body = api.get(f"{BASE}/{row.pk}", **auth).json()
    assert (body["phone"], body["email"]) == ("138****8000", "W***@example.com")
    page = ui_client(personas, "mfg_am").get(reverse("leads:detail", args=[row.pk]))
    assert b"138****8000" in page.content and b"13800138000" not in page.content
    record = ChangeRecord.objects.filter(object_type="leads.lead", object_id=str(row.pk)).first()
    assert record is not None and "phone" not in record.changes


@pytest.mark.django_db
def test_bad_input_is_refused_field_by_field_and_nothing_is_written(personas: Personas) -> None:
    before = Lead.objects.count()
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        lead(
            personas,
            company_name="",
            uscc="91350100M000100Y4X",
            phone="12",
            email="x@",
            industry="ZZ",
        )
    assert set(exc.value.fields) >= {"company_name", "uscc", "phone", "email", "industry"}
    assert Lead.objects.count() == before


@pytest.mark.django_db
def test_an_account_manager_owns_the_leads_they_capture(personas: Personas) -> None:
    row = services.lead_create(actor=personas.actor("mfg_am"), company_name="杭州云帆物流有限公司")
    assert row.owner_id == personas.mfg_am.pk and row.bu_id == personas.units["mfg"].pk


@pytest.mark.django_db
def test_api_creates_lists_and_patches_leads(personas: Personas) -> None:
    api, auth = api_client(personas, "mfg_lead")
    response = api.post(
        BASE,
        {"company_name": "无锡恒通电子有限公司", "phone": "13900139000", "province": "江苏省"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["source"] == "api" and body["owner_id"] is None and body["phone"] == "139****9000"
    listed = api.get(f"{BASE}?unassigned=true", **auth).json()
    assert body["id"] in {item["id"] for item in listed["items"]}
    response = api.patch(
        f"{BASE}/{body['id']}",
        {"owner_id": personas.mfg_am.pk, "city": "无锡市"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200 and response.json()["owner_id"] == personas.mfg_am.pk
    response = api.post(
        BASE, {"company_name": "x", "bogus": 1}, content_type="application/json", **auth
    )
    assert response.status_code == 422
    response = api.post(
        BASE,
        {"company_name": "南京某某有限公司", "uscc": "123"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422 and "uscc" in str(response.json())


@pytest.mark.django_db
def test_the_form_creates_a_lead(personas: Personas) -> None:
    client = ui_client(personas, "mfg_am")
    assert client.get(reverse("leads:create")).status_code == 200
    response = client.post(
        reverse("leads:create"),
        {
            "company_name": "宁波海天精工有限公司",
            "bu_id": personas.units["mfg"].pk,
            "owner_id": personas.mfg_am.pk,
            "phone": "13700137000",
            "industry": "34",
        },
    )
    assert response.status_code == 302, response.content
    row = Lead.objects.get(company_name="宁波海天精工有限公司")
    assert (row.source, row.owner_id, row.industry) == ("form", personas.mfg_am.pk, "34")
    assert client.get(reverse("leads:list")).status_code == 200


# --- import -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_creates_valid_rows_and_reports_bad_ones_with_reasons(
    personas: Personas, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    good = uscc(7)
    path.write_bytes(
        (
            "公司名称,统一社会信用代码,联系人,电话,省份,行业,多余列\n"
            f"常州天合光能有限公司,{good},李工,13600136000,江苏省,38,x\n"
            ",,,,,,\n"
            ",,无名,13600136001,,,\n"
            "佛山美的电器有限公司,91350100M000100Y4X,,,广东省,,\n"
            "厦门钨业有限公司,,,电话坏了,福建省,99,\n"
        ).encode("gb18030")
    )
    report = services.lead_import(
        actor=personas.actor("mfg_manager"), path=path, bu_id=personas.units["mfg"].pk
    )
    assert len(report.created) == 1 and report.unknown_columns == ["多余列"]
    rows = {number: errors for number, errors in report.rejected}
    assert set(rows) == {4, 5, 6}
    assert "company_name" in rows[4] and "uscc" in rows[5]
    assert {"phone", "industry"} <= set(rows[6])
    created = Lead.objects.get(pk=report.created[0])
    assert (created.uscc, created.source, created.phone) == (good, "import", "+8613600136000")
    assert Lead.objects.count() == 1


@pytest.mark.django_db
def test_import_page_shows_rejected_rows(personas: Personas) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = ui_client(personas, "mfg_manager")
    upload = SimpleUploadedFile(
        "leads.csv", "company_name,phone\n合肥科大讯飞有限公司,13500135000\n,1\n".encode()
    )
    with translation.override("en"):
        response = client.post(
            reverse("leads:import"), {"file": upload, "bu_id": personas.units["mfg"].pk}
        )
    assert response.status_code == 200
    assert b'data-testid="rejected-rows"' in response.content
    assert Lead.objects.filter(company_name="合肥科大讯飞有限公司").exists()
    bad = SimpleUploadedFile("leads.pdf", b"%PDF-1.4")
    response = client.post(
        reverse("leads:import"), {"file": bad, "bu_id": personas.units["mfg"].pk}
    )
    assert response.status_code == 200 and Lead.objects.count() == 1


# --- assignment ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_territory_rules_come_first_then_round_robin_goes_fairly_round(
    personas: Personas,
) -> None:
    manager = personas.actor("mfg_manager")
    mfg = personas.units["mfg"].pk
    east = assignment.territory_create(
        actor=manager, bu_id=mfg, name="华东制造", provinces="上海市, 江苏", industries=["C"]
    )
    assignment.rule_create(
        actor=manager,
        bu_id=mfg,
        name="华东",
        kind="territory",
        territory_id=east.pk,
        member_ids=[personas.sh_am.pk],
    )
    assignment.rule_create(
        actor=manager,
        bu_id=mfg,
        name="其他",
        kind="round_robin",
        member_ids=[personas.mfg_am.pk, personas.mfg_am2.pk],
    )
    make = lambda **f: lead(personas, owner=None, **f).owner_id  # noqa: E731
    assert make(province="江苏省", industry="34") == personas.sh_am.pk
    assert make(province="江苏省", industry="66") in (personas.mfg_am.pk, personas.mfg_am2.pk)
    owners = [make(province="广东省") for _ in range(4)]
    assert sorted(owners) == sorted([personas.mfg_am.pk, personas.mfg_am2.pk] * 2)
    assert owners[0] != owners[1] and owners[1] != owners[2]
    # A unit without rules keeps its leads in its queue.
    assert lead(personas, unit="fin", owner=None, company_name="厦门国贸有限公司").owner_id is None


@pytest.mark.django_db
def test_rules_need_the_admin_permission_and_valid_members(personas: Personas) -> None:
    with pytest.raises(PermissionDenied):
        assignment.rule_create(
            actor=personas.actor("mfg_am"),
            bu_id=personas.units["mfg"].pk,
            name="x",
            kind="round_robin",
            member_ids=[personas.mfg_am.pk],
        )
    with pytest.raises(ValidationError) as exc:
        assignment.rule_create(
            actor=personas.actor("mfg_manager"),
            bu_id=personas.units["mfg"].pk,
            name="x",
            kind="territory",
            member_ids=[personas.fin_am.pk],
        )
    assert {"member_ids", "territory_id"} <= set(exc.value.fields)
    assert ui_client(personas, "mfg_am").get(reverse("leads:assignment")).status_code == 403
    page = ui_client(personas, "mfg_manager").get(reverse("leads:assignment"))
    assert page.status_code == 200


@pytest.mark.django_db
def test_admin_pages_create_territories_and_rules(personas: Personas) -> None:
    client = ui_client(personas, "mfg_manager")
    mfg = personas.units["mfg"].pk
    response = client.post(
        reverse("leads:territory_create"),
        {"bu_id": mfg, "name": "华南", "provinces": "广东省、广西", "industries": "C, 51"},
    )
    assert response.status_code == 302, response.content
    territory = assignment.Territory.objects.get(name="华南")
    assert territory.provinces == ["广东省", "广西"] and territory.industries == ["C", "51"]
    response = client.post(
        reverse("leads:rule_create"),
        {
            "bu_id": mfg,
            "name": "华南组",
            "kind": "territory",
            "territory_id": territory.pk,
            "member_ids": [personas.mfg_am.pk],
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content
    rule = AssignmentRule.objects.get(name="华南组")
    response = client.post(
        reverse("leads:rule_edit", args=[rule.pk]),
        {
            "name": "华南组",
            "kind": "round_robin",
            "order": 3,
            "member_ids": [personas.mfg_am.pk, personas.mfg_am2.pk],
        },
    )
    assert response.status_code == 302, response.content
    rule.refresh_from_db()
    assert (rule.kind, rule.territory_id, rule.order, rule.is_active) == (
        "round_robin",
        None,
        3,
        False,
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_assignments_take_different_turns(personas: Personas) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass")
    assignment.rule_create(
        actor=personas.actor("mfg_manager"),
        bu_id=personas.units["mfg"].pk,
        name="轮流",
        kind="round_robin",
        member_ids=[personas.mfg_am.pk, personas.mfg_am2.pk],
    )
    barrier = threading.Barrier(4)
    owners: list[int | None] = []

    def create(n: int) -> None:
        barrier.wait()
        try:
            owners.append(lead(personas, owner=None, company_name=f"并发测试{n}有限公司").owner_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(owners) == sorted([personas.mfg_am.pk, personas.mfg_am2.pk] * 2)
    assert AssignmentRule.objects.get(name="轮流").cursor == 4


# --- qualification ------------------------------------------------------------------------


@pytest.mark.django_db
def test_qualify_and_disqualify_with_a_reason(personas: Personas) -> None:
    row = lead(personas)
    actor = personas.actor("mfg_am")
    services.lead_set_status(actor=actor, pk=row.pk, status="working")
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        services.lead_set_status(actor=actor, pk=row.pk, status="disqualified", reason=" ")
    assert "reason" in exc.value.fields
    assert (
        services.lead_set_status(actor=actor, pk=row.pk, status="qualified").status == "qualified"
    )
    with pytest.raises(ValidationError):
        services.lead_set_status(actor=actor, pk=row.pk, status="converted")
    done = services.lead_set_status(
        actor=actor, pk=row.pk, status="disqualified", reason="预算不足"
    )
    assert (done.status, done.disqualify_reason) == ("disqualified", "预算不足")
    client = ui_client(personas, "mfg_am")
    response = client.post(reverse("leads:status", args=[row.pk]), {"status": "working"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.status, row.disqualify_reason) == ("working", "")


# --- conversion ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_converting_a_lead_with_a_known_uscc_links_to_the_customer_instead_of_copying(
    personas: Personas,
) -> None:
    code = uscc(11)
    existing = golden("无锡先导智能装备股份有限公司", code)
    contact = customer_services.contact_create(
        actor=SYSTEM, customer_id=existing.pk, name="周总", mobile="13812345678"
    )
    row = lead(
        personas, company_name="先导智能", uscc=code, contact_name="周总", phone="13812345678"
    )
    customers_before = Customer.objects.count()
    page = ui_client(personas, "mfg_am").get(reverse("leads:convert", args=[row.pk]))
    assert page.status_code == 200 and b'data-testid="uscc-match"' in page.content
    converted = services.lead_convert(
        actor=personas.actor("mfg_am"),
        pk=row.pk,
        create_opportunity=True,
        opportunity_name="产线升级",
        amount="300000",
        expected_close=next_month(),
    )
    assert Customer.objects.count() == customers_before
    assert converted.converted_customer_id == existing.pk
    assert converted.converted_contact_id == contact.pk  # the same person, not a copy
    assert Contact.objects.filter(customer=existing).count() == 1
    opportunity = Opportunity.objects.get(pk=converted.converted_opportunity_id)
    assert (opportunity.customer_id, opportunity.owner_id) == (existing.pk, personas.mfg_am.pk)
    assert CustomerRelationship.objects.filter(customer=existing, bu=personas.units["mfg"]).exists()
    assert OutboxEvent.objects.filter(name="sales.lead_converted").count() == 1
    with pytest.raises(Conflict):
        services.lead_convert(actor=personas.actor("mfg_am"), pk=row.pk)


@pytest.mark.django_db
def test_similar_names_are_offered_as_candidates_and_nothing_is_half_written(
    personas: Personas,
) -> None:
    similar = golden("深圳华强电子有限公司")
    row = lead(
        personas, company_name="深圳华强电子股份有限公司", contact_name="陈工", phone="13912345678"
    )
    counts = (
        Customer.objects.count(),
        Contact.objects.count(),
        CustomerRelationship.objects.count(),
    )
    with pytest.raises(ValidationError) as exc:
        services.lead_convert(actor=personas.actor("mfg_am"), pk=row.pk)
    assert exc.value.code == "similar_customers"
    assert similar.pk in {c["id"] for c in exc.value.extra["similar"]}
    assert (
        Customer.objects.count(),
        Contact.objects.count(),
        CustomerRelationship.objects.count(),
    ) == counts
    page = ui_client(personas, "mfg_am").get(reverse("leads:convert", args=[row.pk]))
    assert b'data-testid="similar-candidates"' in page.content
    assert similar.legal_name.encode() in page.content
    # Picking the candidate links to it.
    response = ui_client(personas, "mfg_am").post(
        reverse("leads:convert", args=[row.pk]), {"customer_id": similar.pk}
    )
    assert response.status_code == 302, response.content
    row.refresh_from_db()
    assert (row.status, row.converted_customer_id) == ("converted", similar.pk)
    assert row.converted_contact.customer_id == similar.pk


@pytest.mark.django_db
def test_a_new_customer_is_created_with_a_reason_when_similar_ones_exist(
    personas: Personas,
) -> None:
    golden("成都天府软件有限公司")
    row = lead(personas, company_name="成都天府软件园有限公司")
    converted = services.lead_convert(
        actor=personas.actor("mfg_am"), pk=row.pk, similar_override_reason="不同公司"
    )
    customer = converted.converted_customer
    assert customer.legal_name == "成都天府软件园有限公司"
    assert CustomerRelationship.objects.get(customer=customer).owner_id == personas.mfg_am.pk


@pytest.mark.django_db
def test_a_failing_opportunity_rolls_the_whole_conversion_back(personas: Personas) -> None:
    row = lead(personas, company_name="青岛海尔智能有限公司", uscc=uscc(3))
    counts = (Customer.objects.count(), CustomerRelationship.objects.count())
    with pytest.raises(ValidationError) as exc:
        services.lead_convert(
            actor=personas.actor("mfg_am"),
            pk=row.pk,
            create_opportunity=True,
            amount="abc",
            expected_close=next_month(),
        )
    assert "amount" in exc.value.fields
    assert (Customer.objects.count(), CustomerRelationship.objects.count()) == counts
    row.refresh_from_db()
    assert row.status == "new"


@pytest.mark.django_db
def test_api_converts_and_reports_similar_customers(personas: Personas) -> None:
    similar = golden("武汉光谷激光技术有限公司")
    row = lead(personas, company_name="武汉光谷激光技术股份有限公司")
    api, auth = api_client(personas, "mfg_am")
    response = api.post(f"{BASE}/{row.pk}/convert", {}, content_type="application/json", **auth)
    assert response.status_code == 422 and response.json()["code"] == "similar_customers"
    response = api.post(
        f"{BASE}/{row.pk}/convert",
        {"customer_id": similar.pk},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200, response.content
    assert response.json()["converted_customer_id"] == similar.pk


@pytest.mark.django_db
def test_the_assigned_owner_is_notified(personas: Personas) -> None:
    assignment.rule_create(
        actor=personas.actor("mfg_manager"),
        bu_id=personas.units["mfg"].pk,
        name="轮流",
        kind="round_robin",
        member_ids=[personas.mfg_am2.pk],
    )
    lead(personas, owner=None, company_name="郑州宇通客车有限公司")
    outbox_drain()
    assert Notification.objects.filter(user=personas.mfg_am2, title__contains="郑州宇通").exists()


# --- the permission battery ---------------------------------------------------------------


class TestLeadBattery(ScopedBattery):
    model = Lead
    ui_list = "leads:list"
    ui_detail = "leads:detail"
    ui_edit = "leads:edit"
    ui_delete = "leads:delete"
    api_base = BASE
    api_patch = {"notes": "补充资料"}

    def make(self, personas: Personas, unit: str, owner: str) -> Lead:
        return lead(personas, unit=unit, owner=owner)

    def edit_form(self, row: Lead) -> dict[str, Any]:
        return {"company_name": row.company_name, "owner_id": row.owner_id, "notes": "电话联系过"}


@pytest.mark.django_db
def test_api_delete_removes_a_lead_but_not_a_converted_one(personas: Personas) -> None:
    row = lead(personas)
    api, auth = api_client(personas, "mfg_am")
    assert api.delete(f"{BASE}/{row.pk}", **auth).status_code == 204
    assert not Lead.objects.filter(pk=row.pk).exists()


@pytest.mark.django_db
def test_the_conversion_page_shows_the_ownership_conflict_notice(personas: Personas) -> None:
    from groupcrm.sales import services as sales_services

    code = uscc(31)
    existing = golden("烟台万华化学有限公司", code)
    sales_services.opportunity_create(
        actor=personas.actor("fin_am"),
        customer_id=existing.pk,
        bu_id=personas.units["fin"].pk,
        name="供应链融资",
        amount="100000",
        expected_close=next_month(),
    )
    row = lead(personas, company_name="万华化学", uscc=code)
    page = ui_client(personas, "mfg_am").get(reverse("leads:convert", args=[row.pk]))
    assert b'data-testid="conflict-notice"' in page.content
    assert f'data-engaged-unit="{personas.units["fin"].pk}"'.encode() in page.content


@pytest.mark.django_db
def test_export_masks_personal_data_logs_access_and_needs_the_permission(
    personas: Personas,
) -> None:
    from groupcrm.audit.models import AccessRecord

    lead(personas, company_name="泉州安踏体育用品有限公司", phone="13812340000")
    lead(personas, unit="fin", owner="fin_am", company_name="福州闽江物流有限公司")
    client = ui_client(personas, "mfg_manager")
    response = client.get(reverse("leads:export") + "?format=csv&status=new")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "泉州安踏体育用品有限公司" in body and "138****0000" in body
    assert "13812340000" not in body and "福州闽江物流" not in body
    assert AccessRecord.objects.filter(
        kind=AccessRecord.Kind.EXPORT, object_type="leads.lead"
    ).exists()
    api, auth = api_client(personas, "mfg_manager")
    response = api.get(f"{BASE}/export?format=xlsx", **auth)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd")
    assert api.get(f"{BASE}/export?format=pdf", **auth).status_code == 422
    am, am_auth = api_client(personas, "mfg_am")
    assert am.get(f"{BASE}/export", **am_auth).status_code == 403
