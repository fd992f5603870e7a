"""The customer master: golden records, duplicates, hierarchy, relationships and the
public pool, contacts with protected personal data, follow-ups, search, four-eyes
changes, follows, export — each through the services, the pages and the API."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from groupcrm.audit.models import AccessRecord, ChangeRecord
from groupcrm.core import pii
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, PermissionDenied, ValidationError
from groupcrm.core.events import outbox_dispatch
from groupcrm.core.models import Notification, OutboxEvent
from groupcrm.core.testing.battery import GroupWideBattery, ScopedBattery
from groupcrm.core.testing.battery import api_client as api
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import services
from groupcrm.customers.digest import digest_send
from groupcrm.customers.models import (
    ChangeRequest,
    Contact,
    Customer,
    CustomerRelationship,
    FollowUp,
)
from groupcrm.customers.normalize import make_uscc
from groupcrm.customers.search import search_ids
from groupcrm.customers.selectors import view360

RNG = random.Random(7)
WORDS = itertools.cycle(["精密机械", "新能源", "医药", "物流", "半导体", "食品", "化工", "建设"])
PLACES = itertools.cycle(["东方", "长江", "昆仑", "泰山", "珠江", "黄河", "天山", "峨眉"])
SYSTEM = Actor.system("tests")


def uscc() -> str:
    return make_uscc(RNG)


def company() -> str:
    return f"{next(PLACES)}{next(WORDS)}{RNG.randrange(100, 999)}有限公司"


def golden(name: str | None = None, **fields: Any) -> Customer:
    """A customer without any relationship (made by the system)."""
    return services.customer_create(
        actor=SYSTEM,
        legal_name=name or company(),
        start_relationship=False,
        similar_override_reason="test data",
        **fields,
    )


def engaged(personas: Personas, unit: str, owner: str | None, customer: Customer | None = None):
    customer = customer or golden()
    return services.relationship_start(
        actor=SYSTEM,
        customer_id=customer.pk,
        bu_id=personas.units[unit].pk,
        owner_id=personas.users[owner].pk if owner else None,
    )


def counts() -> tuple[int, ...]:
    return (
        Customer.objects.count(),
        CustomerRelationship.objects.count(),
        Contact.objects.count(),
        FollowUp.objects.count(),
        ChangeRecord.objects.count(),
        OutboxEvent.objects.count(),
    )


# --- permission batteries of the unit-owned models -------------------------------------


class TestRelationshipPermissions(ScopedBattery):
    model = CustomerRelationship
    ui_list = "customers:relationships"
    ui_detail = "customers:relationship"
    ui_edit = "customers:relationship_edit"
    ui_delete = None
    api_base = "/api/v1/relationships"
    api_patch = {"stage": "intent", "notes": "内部备注"}

    def make(self, personas: Personas, unit: str, owner: str) -> CustomerRelationship:
        return engaged(personas, unit, owner)

    def edit_form(self, row: Any) -> dict[str, Any]:
        return {"stage": "won", "grade": "A", "notes": "签约", "protected_until": ""}


class TestFollowUpPermissions(ScopedBattery):
    model = FollowUp
    ui_list = "customers:followups"
    ui_detail = "customers:followup"
    ui_edit = "customers:followup_edit"
    ui_delete = "customers:followup_delete"
    api_base = "/api/v1/followups"
    api_patch = {"content": "改过的内容"}

    def make(self, personas: Personas, unit: str, owner: str) -> FollowUp:
        rel = engaged(personas, unit, owner)
        return services.followup_create(
            actor=personas.actor(owner),
            customer_id=rel.customer_id,
            bu_id=rel.bu_id,
            kind="call",
            content="电话沟通需求",
        )

    def edit_form(self, row: Any) -> dict[str, Any]:
        return {"kind": "visit", "content": "上门拜访", "occurred_at": ""}


# --- golden record: visible group-wide, written only by engaged units -------------------


@pytest.mark.django_db
def test_create_derives_keys_pinyin_region_and_starts_my_relationship(personas: Personas) -> None:
    c = services.customer_create(
        actor=personas.actor("mfg_am"),
        legal_name="华夏制造有限公司",
        uscc=uscc(),
        address="上海市浦东新区世纪大道100号",
        industry="34",
        tags=["上市公司", "上市公司", "国企"],
    )
    assert c.name_key == "华夏制造" and c.initials == "hxzz" and c.pinyin == "huaxiazhizao"
    assert (c.province, c.district) == ("上海市", "浦东新区")
    assert sorted(c.tags.values_list("name", flat=True)) == ["上市公司", "国企"]
    rel = CustomerRelationship.objects.get(customer=c)
    assert rel.owner == personas.mfg_am and rel.bu == personas.units["mfg"] and rel.claimed_at
    assert ChangeRecord.objects.filter(subject=f"customers.customer:{c.pk}").count() == 2
    assert OutboxEvent.objects.filter(name="customers.created").exists()


@pytest.mark.django_db
def test_search_by_initials_pinyin_name_uscc_contact_and_phone(personas: Personas) -> None:
    code = uscc()
    target = golden("华夏制造有限公司", uscc=code)
    golden("东方物流有限公司")
    other = golden("华夏金融控股有限公司")
    services.contact_create(
        actor=SYSTEM, customer_id=other.pk, name="欧阳娜娜", mobile="139 1234 5678"
    )
    assert search_ids("hxzz")[0] == target.pk
    assert search_ids("huaxiazhi")[0] == target.pk
    assert set(search_ids("华夏")) == {target.pk, other.pk}
    assert search_ids("华夏制造")[0] == target.pk
    assert search_ids(code) == [target.pk]
    assert search_ids(code.lower()) == [target.pk]
    assert search_ids("欧阳娜娜") == [other.pk]
    assert search_ids("+86 139-1234-5678") == [other.pk]
    assert search_ids("没有这家") == []
    # Renames keep the index current.
    services.customer_update(actor=SYSTEM, pk=target.pk, short_name="华制")
    client, auth = api(personas, "fin_am")
    body = client.get("/api/v1/customers?q=hxzz", **auth).json()
    assert body["items"][0]["id"] == target.pk and body["items"][0]["short_name"] == "华制"


@pytest.mark.django_db
def test_other_unit_sees_the_golden_record_but_not_our_relationship_or_notes(
    personas: Personas,
) -> None:
    rel = engaged(personas, "mfg", "mfg_am")
    services.relationship_update(
        actor=personas.actor("mfg_am"), pk=rel.pk, stage="intent", notes="底价 8 折，保密"
    )
    services.followup_create(
        actor=personas.actor("mfg_am"),
        customer_id=rel.customer_id,
        kind="visit",
        content="报价细节，仅制造可见",
    )
    client, auth = api(personas, "fin_am")
    data = client.get(f"/api/v1/customers/{rel.customer_id}/view360", **auth).json()
    assert data["customer"]["id"] == rel.customer_id
    [row] = data["relationships"]
    assert row["bu_name"] == "华夏制造" and row["owner_name"] == "mfg_am" and not row["visible"]
    assert "notes" not in row and "stage" not in row
    assert "报价细节" not in str(data) and "底价" not in str(data)
    assert "start_relationship" in data["actions"] and "edit" not in data["actions"]
    page = Client()
    page.force_login(personas.fin_am)
    html = page.get(reverse("customers:detail", args=[rel.customer_id])).content.decode()
    assert "华夏制造" in html and "底价" not in html and "报价细节" not in html
    # The owner's own view has everything.
    mine = view360(actor=personas.actor("mfg_am"), pk=rel.customer_id)
    assert mine["relationships"][0]["notes"] == "底价 8 折，保密"
    assert any(e.kind == "followup" for e in mine["timeline"])


@pytest.mark.django_db
def test_only_engaged_units_change_a_golden_record(personas: Personas) -> None:
    rel = engaged(personas, "mfg", "mfg_am")
    client, auth = api(personas, "fin_am")
    response = client.patch(
        f"/api/v1/customers/{rel.customer_id}",
        {"website": "evil.example.com"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
    assert Customer.objects.get(pk=rel.customer_id).website == ""
    client, auth = api(personas, "mfg_am")
    response = client.patch(
        f"/api/v1/customers/{rel.customer_id}",
        {"website": "www.example.com", "tags": ["重点"]},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200 and response.json()["tags"] == ["重点"]
    nobody, auth = api(personas, "nobody")
    assert nobody.get(f"/api/v1/customers/{rel.customer_id}", **auth).status_code == 403
    assert Client().get(f"/api/v1/customers/{rel.customer_id}").status_code == 401


# --- duplicates ------------------------------------------------------------------------


@pytest.mark.django_db
def test_duplicate_uscc_is_refused_with_the_existing_record_and_nothing_written(
    personas: Personas,
) -> None:
    code = uscc()
    existing = engaged(
        personas, "mfg", "mfg_am", golden("长江精密机械有限公司", uscc=code)
    ).customer
    client, auth = api(personas, "fin_am")
    before = counts()
    response = client.post(
        "/api/v1/customers",
        {"legal_name": "长江机械股份公司", "uscc": code.lower()},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "duplicate_customer" and body["existing"]["id"] == existing.pk
    assert body["existing"]["engaged_units"][0]["bu_name"] == "华夏制造"
    assert "长江精密机械有限公司" in body["detail"]
    assert counts() == before
    # The page shows the same, with a way to the existing record.
    page = Client()
    page.force_login(personas.fin_am)
    html = page.post(
        reverse("customers:create"),
        {"legal_name": "长江机械股份公司", "uscc": code, "source": "manual"},
    ).content.decode()
    assert f'data-existing="{existing.pk}"' in html and counts() == before
    # English too.
    response = client.post(
        "/api/v1/customers",
        {"legal_name": "x公司", "uscc": code},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
        **auth,
    )
    assert "already exists" in response.json()["detail"]


@pytest.mark.django_db
def test_similar_names_warn_and_can_be_overridden_with_a_reason(personas: Personas) -> None:
    golden("华夏制造有限公司")
    client, auth = api(personas, "mfg_am")
    response = client.post(
        "/api/v1/customers",
        {"legal_name": "华夏制造股份有限公司"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422 and response.json()["code"] == "similar_customers"
    assert response.json()["similar"][0]["legal_name"] == "华夏制造有限公司"
    assert "similar_override_reason" in response.json()["errors"]
    response = client.post(
        "/api/v1/customers",
        {"legal_name": "华夏制造股份有限公司", "similar_override_reason": "不同法人，另一家公司"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201
    assert ChangeRecord.objects.filter(verb="similar_override").exists()
    # The same through the page: the reason field appears, then the save goes through.
    page = Client()
    page.force_login(personas.mfg_am)
    html = page.post(
        reverse("customers:create"), {"legal_name": "华夏制造集团有限公司", "source": "manual"}
    ).content.decode()
    assert 'name="similar_override_reason"' in html and 'type="text"' in html
    response = page.post(
        reverse("customers:create"),
        {
            "legal_name": "华夏制造集团有限公司",
            "source": "manual",
            "similar_override_reason": "集团母公司",
        },
    )
    assert response.status_code == 302


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_saves_of_one_uscc_give_one_record(personas: Personas) -> None:
    """Real concurrency needs a server database (SQLite's test database is in memory and
    serialises writers anyway); the unique index decides, the loser gets a 409."""
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass")
    code = uscc()
    results: list[str] = []
    barrier = threading.Barrier(2)

    def save(name: str) -> None:
        barrier.wait()
        try:
            services.customer_create(
                actor=SYSTEM,
                legal_name=name,
                uscc=code,
                start_relationship=False,
                similar_override_reason="race",
            )
            results.append("created")
        except Conflict:
            results.append("conflict")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=save, args=(n,)) for n in ("甲公司有限公司", "乙公司有限公司")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "created"]
    assert Customer.objects.filter(uscc=code).count() == 1


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"legal_name": "坏代码有限公司", "uscc": "91310000MA1FL4XQ3X"}, "uscc"),
        ({"legal_name": "坏代码有限公司", "uscc": "123"}, "uscc"),
        ({"legal_name": "  "}, "legal_name"),
        ({"legal_name": "坏行业有限公司", "industry": "99"}, "industry"),
        ({"legal_name": "坏网站有限公司", "website": "not a site"}, "website"),
        ({"legal_name": "坏父公司有限公司", "parent_id": 999999}, "parent_id"),
        ({"legal_name": "坏字段有限公司", "colour": "red"}, "colour"),
    ],
)
def test_bad_customer_input_names_the_field_and_writes_nothing(
    personas: Personas, payload: dict[str, Any], field: str
) -> None:
    client, auth = api(personas, "mfg_am")
    before = counts()
    response = client.post("/api/v1/customers", payload, content_type="application/json", **auth)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"mobile": "12345"}, "mobile"),
        ({"phone": "电话号码"}, "phone"),
        ({"email": "zhang@localhost"}, "email"),
        ({"email": "no-at-sign"}, "email"),
        ({"birthday": (timezone.localdate() + dt.timedelta(days=3)).isoformat()}, "birthday"),
        ({"id_number": "110101199003070000"}, "id_number"),
        ({"role": "boss"}, "role"),
    ],
)
def test_bad_contact_input_names_the_field_and_writes_nothing(
    personas: Personas, payload: dict[str, Any], field: str
) -> None:
    rel = engaged(personas, "mfg", "mfg_am")
    client, auth = api(personas, "mfg_am")
    before = counts()
    response = client.post(
        f"/api/v1/customers/{rel.customer_id}/contacts",
        {"name": "王伟", **payload},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
        **auth,
    )
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert counts() == before


@pytest.mark.django_db
def test_bad_input_messages_are_translated(personas: Personas) -> None:
    client, auth = api(personas, "mfg_am")
    zh = client.post(
        "/api/v1/customers",
        {"legal_name": "x有限公司", "uscc": "123"},
        content_type="application/json",
        **auth,
    ).json()
    en = client.post(
        "/api/v1/customers",
        {"legal_name": "x有限公司", "uscc": "123"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
        **auth,
    ).json()
    assert en["errors"]["uscc"] != zh["errors"]["uscc"]
    assert "18" in en["errors"]["uscc"][0] and "统一社会信用代码" in zh["errors"]["uscc"][0]


# --- hierarchy -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_hierarchy_rolls_up_and_moves_as_one_subtree_without_cycles(personas: Personas) -> None:
    root = golden("华润集团有限公司")
    sub = golden("华润置地有限公司", parent_id=root.pk)
    branch = golden("华润置地有限公司上海分公司", parent_id=sub.pk)
    services.contact_create(actor=SYSTEM, customer_id=branch.pk, name="李雷")
    other = golden("昆仑能源有限公司")
    engaged(personas, "mfg", "mfg_am", root)
    actor = personas.actor("mfg_am")
    view = view360(actor=actor, pk=root.pk)
    rollups = {r["code"]: r["value"] for r in view["rollups"]}
    assert rollups["subsidiaries"] == 2 and rollups["contacts"] == 1
    with pytest.raises(ValidationError) as exc:
        services.customer_move(actor=actor, pk=root.pk, parent_id=branch.pk)
    assert "parent_id" in exc.value.fields
    services.customer_move(actor=SYSTEM, pk=sub.pk, parent_id=other.pk)
    branch.refresh_from_db()
    assert branch.path.startswith(other.path) and branch.depth == 2
    record = ChangeRecord.objects.filter(object_id=str(sub.pk), verb="move").get()
    assert record.changes["parent"] == [root.pk, other.pk]
    client, auth = api(personas, "analyst")
    tree = client.get(f"/api/v1/customers/{branch.pk}/hierarchy", **auth).json()
    assert tree["root"]["id"] == other.pk and tree["size"] == 3
    assert [a["id"] for a in tree["ancestors"]] == [other.pk, sub.pk]
    assert client.post(
        f"/api/v1/customers/{other.pk}/move",
        {"parent_id": branch.pk},
        content_type="application/json",
        **auth,
    ).status_code in (403, 422)


# --- relationships and the public pool -------------------------------------------------


@pytest.mark.django_db
def test_release_claim_and_the_pool_rules(personas: Personas) -> None:
    rel = engaged(personas, "mfg", "mfg_am")
    with pytest.raises(ValidationError):
        services.relationship_release(actor=personas.actor("mfg_am"), pk=rel.pk, reason=" ")
    services.relationship_release(actor=personas.actor("mfg_am"), pk=rel.pk, reason="客户暂无需求")
    client, auth = api(personas, "mfg_am2")
    pool = client.get("/api/v1/relationships/pool", **auth).json()
    assert [i["id"] for i in pool["items"]] == [rel.pk]
    assert (
        client.get("/api/v1/relationships/pool", **api(personas, "fin_am")[1]).json()["items"] == []
    )
    response = client.post(f"/api/v1/relationships/{rel.pk}/claim", **auth)
    assert response.status_code == 200 and response.json()["owner_id"] == personas.mfg_am2.pk
    # Taken: the next claim is a conflict, not a second owner.
    other, other_auth = api(personas, "mfg_am")
    assert other.post(f"/api/v1/relationships/{rel.pk}/claim", **other_auth).status_code == 409
    # Daily limit and maximum owned, per unit rules.
    services.pool_rule_update(
        actor=personas.actor("mfg_manager"), bu_id=personas.units["mfg"].pk, daily_claim_limit=1
    )
    second = engaged(personas, "mfg", None)
    response = client.post(f"/api/v1/relationships/{second.pk}/claim", **auth)
    assert response.status_code == 409 and response.json()["code"] == "claim_limit"
    assert CustomerRelationship.objects.get(pk=second.pk).owner_id is None
    services.pool_rule_update(
        actor=personas.actor("mfg_manager"),
        bu_id=personas.units["mfg"].pk,
        daily_claim_limit=10,
        max_owned=1,
    )
    response = client.post(f"/api/v1/relationships/{second.pk}/claim", **auth)
    assert response.status_code == 409 and response.json()["code"] == "owner_limit"


@pytest.mark.django_db
def test_owner_must_belong_to_the_unit(personas: Personas) -> None:
    rel = engaged(personas, "mfg", None)
    client, auth = api(personas, "mfg_manager")
    response = client.post(
        f"/api/v1/relationships/{rel.pk}/assign",
        {"owner_id": personas.fin_am.pk},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422 and "owner_id" in response.json()["errors"]
    response = client.post(
        f"/api/v1/relationships/{rel.pk}/assign",
        {"owner_id": personas.sh_am.pk},  # a team below 华夏制造
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_reclaim_returns_overdue_customers_and_tells_the_former_owner(personas: Personas) -> None:
    services.pool_rule_update(
        actor=personas.actor("admin"), bu_id=personas.units["mfg"].pk, reclaim_after_days=30
    )
    stale = engaged(personas, "mfg", "mfg_am")
    fresh = engaged(personas, "mfg", "mfg_am")
    won = engaged(personas, "mfg", "mfg_am")
    long_ago = timezone.now() - dt.timedelta(days=40)
    CustomerRelationship.objects.filter(pk__in=[stale.pk, won.pk]).update(
        claimed_at=long_ago, last_followup_at=long_ago
    )
    CustomerRelationship.objects.filter(pk=won.pk).update(stage="won")
    services.followup_create(
        actor=personas.actor("mfg_am"), customer_id=fresh.customer_id, kind="call", content="回访"
    )
    rows = view360(actor=personas.actor("mfg_am"), pk=fresh.customer_id)["relationships"]
    assert rows[0]["reclaim_on"] == timezone.localdate() + dt.timedelta(days=30)
    assert "30" in rows[0]["reclaim_reason"]
    assert services.pool_reclaim() == 1
    stale.refresh_from_db()
    assert stale.owner_id is None and "30" in stale.release_reason
    assert CustomerRelationship.objects.get(pk=won.pk).owner_id == personas.mfg_am.pk
    outbox_dispatch()
    assert Notification.objects.filter(
        user=personas.mfg_am, title__contains=stale.customer.display_name
    ).exists()
    assert ChangeRecord.objects.filter(object_id=str(stale.pk), verb="reclaim").exists()


# --- contacts and personal data -------------------------------------------------------


@pytest.mark.django_db
def test_contact_pii_is_encrypted_masked_and_revealed_only_with_permission(
    personas: Personas,
) -> None:
    rel = engaged(personas, "mfg", "mfg_am")
    client, auth = api(personas, "mfg_am")
    response = client.post(
        f"/api/v1/customers/{rel.customer_id}/contacts",
        {
            "name": "张伟",
            "role": "decision",
            "mobile": "138 0013 8000",
            "email": "Zhang.Wei@Example.COM",
        },
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["mobile"] == "138****8000" and body["email"] == "Z***@example.com"
    contact = Contact.objects.get(pk=body["id"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT mobile, email FROM customers_contact WHERE id = %s", [contact.pk])
        raw_mobile, raw_email = cursor.fetchone()
    assert "13800138000" not in raw_mobile and "example" not in raw_email
    assert contact.mobile == "+8613800138000" and contact.email == "Zhang.Wei@example.com"
    assert contact.mobile_index == pii.blind_index("phone", "+8613800138000")
    assert not ChangeRecord.objects.filter(changes__icontains="13800138000").exists()
    # An account manager may not reveal: 403, nothing logged.
    response = client.post(
        f"/api/v1/contacts/{contact.pk}/reveal",
        {"field": "mobile"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 403 and not AccessRecord.objects.exists()
    # Another unit's manager sees the contact masked and may not reveal it: 403.
    client, auth = api(personas, "fin_manager")
    assert client.get(f"/api/v1/contacts/{contact.pk}", **auth).json()["mobile"] == "138****8000"
    response = client.post(
        f"/api/v1/contacts/{contact.pk}/reveal",
        {"field": "mobile"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 403 and not AccessRecord.objects.exists()
    # The engaged unit's manager reveals it, and the reveal is logged.
    client, auth = api(personas, "mfg_manager")
    response = client.post(
        f"/api/v1/contacts/{contact.pk}/reveal",
        {"field": "mobile"},
        content_type="application/json",
        **auth,
    )
    assert response.json() == {"field": "mobile", "value": "+8613800138000"}
    record = AccessRecord.objects.get()
    assert record.actor == personas.mfg_manager and record.detail == "mobile"
    # The page never carries the clear number unless revealed.
    page = Client()
    page.force_login(personas.mfg_am)
    assert (
        "13800138000"
        not in page.get(reverse("customers:detail", args=[rel.customer_id])).content.decode()
    )


@pytest.mark.django_db
def test_contact_moves_company_keeping_its_history(personas: Personas) -> None:
    a = engaged(personas, "mfg", "mfg_am").customer
    b = engaged(personas, "mfg", "mfg_am").customer
    contact = services.contact_create(
        actor=personas.actor("mfg_am"), customer_id=a.pk, name="韩梅梅", title="采购经理"
    )
    services.contact_move(actor=personas.actor("mfg_am"), pk=contact.pk, customer_id=b.pk)
    contact.refresh_from_db()
    assert contact.customer_id == b.pk
    history = ChangeRecord.objects.filter(
        object_type="customers.contact", object_id=str(contact.pk)
    )
    assert [r.action for r in history.order_by("id")] == ["create", "update"]
    assert history.get(verb="move").changes["customer"] == [a.pk, b.pk]
    assert search_ids("韩梅梅") == [b.pk]


# --- follow-ups -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_follow_up_updates_the_relationship_and_needs_one(personas: Personas) -> None:
    rel = engaged(personas, "mfg", "mfg_am")
    contact = services.contact_create(actor=SYSTEM, customer_id=rel.customer_id, name="王芳")
    client, auth = api(personas, "mfg_am")
    response = client.post(
        f"/api/v1/customers/{rel.customer_id}/followups",
        {
            "kind": "visit",
            "content": "拜访采购部，确认二季度需求",
            "contact_ids": [contact.pk],
            "location": "上海市浦东新区张江路88号",
            "next_step": "发报价",
            "next_due": (timezone.localdate() + dt.timedelta(days=7)).isoformat(),
        },
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    rel.refresh_from_db()
    assert rel.last_followup_at is not None
    # Another unit has no relationship: refused with a clear message.
    client, auth = api(personas, "fin_am")
    response = client.post(
        f"/api/v1/customers/{rel.customer_id}/followups",
        {"kind": "call", "content": "x"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422 and "bu_id" in response.json()["errors"]
    # Future time, due before the follow-up, contacts of another customer.
    client, auth = api(personas, "mfg_am")
    for payload, field in [
        ({"occurred_at": (timezone.now() + dt.timedelta(days=1)).isoformat()}, "occurred_at"),
        ({"next_due": "2001-01-01"}, "next_due"),
        ({"contact_ids": [999999]}, "contact_ids"),
        ({"content": "  "}, "content"),
    ]:
        response = client.post(
            f"/api/v1/customers/{rel.customer_id}/followups",
            {"kind": "call", "content": "电话", **payload},
            content_type="application/json",
            **auth,
        )
        assert response.status_code == 422 and field in response.json()["errors"], payload


@pytest.mark.django_db
def test_follow_up_from_the_360_page(personas: Personas) -> None:
    rel = engaged(personas, "mfg", "mfg_am")
    page = Client()
    page.force_login(personas.mfg_am)
    response = page.post(
        reverse("customers:followup_create", args=[rel.customer_id]),
        {"kind": "visit", "content": "上门拜访", "location": "苏州工业园区"},
    )
    assert response.status_code == 302
    html = page.get(reverse("customers:detail", args=[rel.customer_id])).content.decode()
    assert "上门拜访" in html and "苏州工业园区" in html
    response = page.post(
        reverse("customers:followup_create", args=[rel.customer_id]), {"kind": "visit"}
    )
    assert response.status_code == 422 and 'data-field="content"' in response.content.decode()


# --- four eyes --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_legal_name_uscc_and_grade_need_a_second_person(personas: Personas) -> None:
    rel = engaged(personas, "mfg", "mfg_am", golden("泰山重工有限公司"))
    code = uscc()
    client, auth = api(personas, "mfg_am")
    response = client.patch(
        f"/api/v1/customers/{rel.customer_id}",
        {
            "legal_name": "泰山重工股份有限公司",
            "uscc": code,
            "group_grade": "key",
            "website": "ts.com",
        },
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["legal_name"] == "泰山重工有限公司" and body["website"] == "ts.com"
    pending = body["pending_change"]
    assert pending["status"] == "pending" and set(pending["changes"]) == {
        "legal_name",
        "uscc",
        "group_grade",
    }
    with pytest.raises(PermissionDenied):
        services.change_request_approve(actor=personas.actor("mfg_am"), pk=pending["id"])
    # A second request while one is pending is refused.
    response = client.patch(
        f"/api/v1/customers/{rel.customer_id}",
        {"group_grade": "basic"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 409
    approver, approver_auth = api(personas, "mfg_manager")
    listed = approver.get("/api/v1/change-requests", **approver_auth).json()["items"]
    assert [r["id"] for r in listed] == [pending["id"]]
    response = approver.post(
        f"/api/v1/change-requests/{pending['id']}/approve",
        {"note": "核对营业执照"},
        content_type="application/json",
        **approver_auth,
    )
    assert response.status_code == 200 and response.json()["status"] == "approved"
    customer = Customer.objects.get(pk=rel.customer_id)
    assert (customer.legal_name, customer.uscc, customer.group_grade) == (
        "泰山重工股份有限公司",
        code,
        "key",
    )
    assert search_ids(code) == [customer.pk]


@pytest.mark.django_db
def test_a_change_request_can_be_rejected_or_withdrawn(personas: Personas) -> None:
    rel = engaged(personas, "mfg", "mfg_am")
    _c, request = services.customer_update(
        actor=personas.actor("mfg_am"), pk=rel.customer_id, group_grade="strategic"
    )
    assert request is not None
    services.change_request_reject(actor=personas.actor("mfg_am"), pk=request.pk)
    assert ChangeRequest.objects.get(pk=request.pk).status == "withdrawn"
    _c, request = services.customer_update(
        actor=personas.actor("mfg_am"), pk=rel.customer_id, group_grade="strategic"
    )
    services.change_request_reject(
        actor=personas.actor("mfg_manager"), pk=request.pk, note="依据不足"
    )
    assert ChangeRequest.objects.get(pk=request.pk).status == "rejected"
    assert Customer.objects.get(pk=rel.customer_id).group_grade == ""


# --- follows and the digest ------------------------------------------------------------------


@pytest.mark.django_db
def test_followers_are_told_of_changes_and_get_a_digest(personas: Personas, smtp_server) -> None:
    rel = engaged(personas, "mfg", "mfg_am")
    services.follow_set(
        actor=personas.actor("fin_am"), customer_id=rel.customer_id, follow=True, digest=True
    )
    services.customer_update(actor=personas.actor("mfg_am"), pk=rel.customer_id, website="www.a.cn")
    services.relationship_update(actor=personas.actor("mfg_am"), pk=rel.pk, stage="won")
    services.relationship_release(actor=personas.actor("mfg_am"), pk=rel.pk, reason="调岗")
    outbox_dispatch()
    titles = list(Notification.objects.filter(user=personas.fin_am).values_list("title", flat=True))
    assert any("变更" in t or "changed" in t for t in titles)
    assert any("负责人" in t or "owner" in t for t in titles)
    # The stage is 华夏制造's business: the 金融 follower is not told.
    assert not any("成交" in t or "Customer”" in t for t in titles)
    assert digest_send() == 1
    [mail] = smtp_server.messages
    assert mail["To"] == "fin_am@example.com"
    assert rel.customer.legal_name in mail.get_payload(decode=True).decode()


# --- list, export, bulk, saved views ----------------------------------------------------


@pytest.mark.django_db
def test_list_filters_export_masks_and_logs(personas: Personas) -> None:
    mine = engaged(personas, "mfg", "mfg_am", golden("长江医药有限公司", group_grade="key"))
    services.contact_create(
        actor=SYSTEM, customer_id=mine.customer_id, name="赵敏", mobile="13912345678"
    )
    engaged(personas, "fin", "fin_am", golden("珠江物流有限公司"))
    page = Client()
    page.force_login(personas.mfg_manager)
    html = page.get(reverse("customers:list"), {"group_grade": "key"}).content.decode()
    assert "长江医药" in html and "珠江物流" not in html
    html = page.get(reverse("customers:list"), {"bu_id": personas.units["fin"].pk}).content.decode()
    assert "珠江物流" not in html  # 金融's relationships are outside this manager's scope
    response = page.get(reverse("customers:export"), {"format": "csv", "q": "长江"})
    body = b"".join(response.streaming_content).decode()
    assert "长江医药有限公司" in body and "139****5678" in body and "13912345678" not in body
    assert AccessRecord.objects.filter(kind="export", actor=personas.mfg_manager).exists()
    response = page.get(reverse("customers:export"), {"format": "xlsx"})
    assert response.status_code == 200 and response.content[:2] == b"PK"
    am = Client()
    am.force_login(personas.mfg_am)
    assert am.get(reverse("customers:export")).status_code == 403


@pytest.mark.django_db
def test_bulk_assign_and_saved_views(personas: Personas) -> None:
    a = engaged(personas, "mfg", None)
    b = engaged(personas, "mfg", "mfg_am")
    c = engaged(personas, "fin", "fin_am")
    page = Client()
    page.force_login(personas.mfg_manager)
    response = page.post(
        reverse("customers:bulk"),
        {
            "ids": [a.customer_id, b.customer_id, c.customer_id],
            "operation": "assign",
            "owner_id": personas.mfg_am2.pk,
        },
    )
    assert response.status_code == 302
    assert CustomerRelationship.objects.get(pk=a.pk).owner_id == personas.mfg_am2.pk
    assert CustomerRelationship.objects.get(pk=b.pk).owner_id == personas.mfg_am2.pk
    assert CustomerRelationship.objects.get(pk=c.pk).owner_id == personas.fin_am.pk
    page.post(
        reverse("customers:saved_view_create"), {"name": "重点客户", "query": "?group_grade=key"}
    )
    assert "重点客户" in page.get(reverse("customers:list")).content.decode()
    response = page.post(reverse("customers:saved_view_create"), {"name": "", "query": "x"})
    assert response.status_code in (302, 422)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["mfg_manager", "mfg_am", "analyst", "admin"])
def test_every_customer_page_renders(personas: Personas, who: str) -> None:
    root = golden("昆仑集团有限公司")
    rel = engaged(personas, "mfg", "mfg_am", golden("昆仑能源有限公司", parent_id=root.pk))
    contact = services.contact_create(actor=SYSTEM, customer_id=rel.customer_id, name="李娜")
    followup = services.followup_create(
        actor=personas.actor("mfg_am"), customer_id=rel.customer_id, kind="call", content="电话"
    )
    services.customer_update(actor=personas.actor("mfg_am"), pk=rel.customer_id, group_grade="key")
    page = Client()
    page.force_login(personas.users[who])
    pk = rel.customer_id
    readable = [
        reverse("customers:list"),
        reverse("customers:list") + "?q=kl&sort=-updated&pool=1&mine=1",
        reverse("customers:detail", args=[pk]),
        reverse("customers:detail", args=[pk]) + "?kind=followup",
        reverse("customers:hierarchy", args=[pk]),
        reverse("customers:history", args=[pk]),
        reverse("customers:relationships"),
        reverse("customers:pool"),
        reverse("customers:followups"),
        reverse("customers:pick") + "?q=昆仑",
    ]
    for url in readable:
        assert page.get(url).status_code == 200, url
    writable = [
        reverse("customers:create"),
        reverse("customers:edit", args=[pk]),
        reverse("customers:move", args=[pk]),
        reverse("customers:relationship", args=[rel.pk]),
        reverse("customers:relationship_edit", args=[rel.pk]),
        reverse("customers:relationship_assign", args=[rel.pk]),
        reverse("customers:relationship_release", args=[rel.pk]),
        reverse("customers:contact_create", args=[pk]),
        reverse("customers:contact_edit", args=[contact.pk]),
        reverse("customers:contact_move", args=[contact.pk]),
        reverse("customers:followup", args=[followup.pk]),
        reverse("customers:followup_edit", args=[followup.pk]),
    ]
    for url in writable:
        status = page.get(url).status_code
        # Read-only roles are refused (403/404), never an error page.
        assert status == 200 if who != "analyst" else status in (200, 403, 404), (url, status)
    approvals = page.get(reverse("customers:changes")).status_code
    assert approvals == (200 if who in ("mfg_manager", "admin") else 403)
    if who == "admin":
        assert page.get(reverse("customers:pool_rule", args=[rel.bu_id])).status_code == 200


@pytest.mark.django_db
def test_a_unit_follows_a_customer_for_all_its_members(personas: Personas) -> None:
    rel = engaged(personas, "fin", "fin_am")
    with pytest.raises(PermissionDenied):  # an own-scope account manager cannot
        services.follow_set(
            actor=personas.actor("mfg_am"),
            customer_id=rel.customer_id,
            follow=True,
            bu_id=personas.units["mfg"].pk,
        )
    services.follow_set(
        actor=personas.actor("mfg_manager"),
        customer_id=rel.customer_id,
        follow=True,
        bu_id=personas.units["mfg"].pk,
    )
    services.customer_update(actor=personas.actor("fin_am"), pk=rel.customer_id, website="x.cn")
    outbox_dispatch()
    told = set(
        Notification.objects.filter(link__contains=f"/customers/{rel.customer_id}/").values_list(
            "user__username", flat=True
        )
    )
    assert {"mfg_manager", "mfg_am", "mfg_am2", "sh_am", "mfg_lead"} <= told
    assert "fin_am" not in told and "nobody" not in told


class TestCustomerPermissions(GroupWideBattery):
    api_list = "/api/v1/customers"
    api_detail = "/api/v1/customers/{row.pk}"
    ui_detail = "customers:detail"
    ui_edit = "customers:edit"
    api_patch = {"website": "www.changed.cn"}

    def make(self, personas: Personas) -> Customer:
        return engaged(personas, "mfg", "mfg_am").customer

    def edit_form(self, row: Any) -> dict[str, Any]:
        return {"legal_name": row.legal_name, "source": "manual", "status": "active", "city": "x"}


class TestContactPermissions(GroupWideBattery):
    api_list = "/api/v1/customers/{row.customer_id}/contacts"
    api_detail = "/api/v1/contacts/{row.pk}"
    ui_detail = "customers:detail"
    ui_edit = "customers:contact_edit"
    api_patch = {"title": "总经理"}

    def make(self, personas: Personas) -> Contact:
        rel = engaged(personas, "mfg", "mfg_am")
        return services.contact_create(
            actor=personas.actor("mfg_am"), customer_id=rel.customer_id, name="周杰"
        )

    def customer_pk(self, row: Any) -> int:
        return row.customer_id

    def edit_form(self, row: Any) -> dict[str, Any]:
        return {"name": "周杰", "role": "technical", "status": "active"}
