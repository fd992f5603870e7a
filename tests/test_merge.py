"""Merging duplicate customers and undoing it: every link moves to the survivor and
back, exactly; identity stays unique; later edits survive an unmerge."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from groupcrm.audit.models import ChangeRecord
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, PermissionDenied, ValidationError
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import merge, services
from groupcrm.customers.models import (
    Collaborator,
    Contact,
    Customer,
    CustomerRelationship,
    Follow,
    FollowUp,
    MergeRecord,
)
from groupcrm.customers.search import search_ids

SYSTEM = Actor.system("tests")


def make(name: str, **fields: object) -> Customer:
    return services.customer_create(
        actor=SYSTEM,
        legal_name=name,
        start_relationship=False,
        similar_override_reason="t",
        **fields,
    )


@pytest.fixture
def pair(personas: Personas) -> tuple[Customer, Customer]:
    """Two records of one company, from 华夏制造 and 华夏金融, with everything attached."""
    keep = make("华润置地有限公司", website="www.crland.com.hk")
    dupe = make("华润置地股份公司", uscc="91350100M000100Y43", address="上海市浦东新区张江路88号")
    child = make("华润置地（苏州）有限公司", parent_id=dupe.pk)
    mfg = services.relationship_start(
        actor=SYSTEM,
        customer_id=keep.pk,
        bu_id=personas.units["mfg"].pk,
        owner_id=personas.mfg_am.pk,
    )
    services.relationship_start(
        actor=SYSTEM,
        customer_id=dupe.pk,
        bu_id=personas.units["mfg"].pk,
        owner_id=personas.mfg_am2.pk,
    )
    fin = services.relationship_start(
        actor=SYSTEM,
        customer_id=dupe.pk,
        bu_id=personas.units["fin"].pk,
        owner_id=personas.fin_am.pk,
    )
    dup_mfg = CustomerRelationship.objects.get(customer=dupe, bu=personas.units["mfg"])
    services.collaborator_set(
        actor=SYSTEM, relationship_id=dup_mfg.pk, user_id=personas.mfg_lead.pk, access="read"
    )
    services.contact_create(actor=SYSTEM, customer_id=dupe.pk, name="王伟", mobile="13800138000")
    services.followup_create(
        actor=personas.actor("fin_am"),
        customer_id=dupe.pk,
        bu_id=fin.bu_id,
        kind="call",
        content="金融回访",
    )
    services.follow_set(actor=personas.actor("fin_manager"), customer_id=dupe.pk, follow=True)
    services.follow_set(actor=personas.actor("fin_manager"), customer_id=keep.pk, follow=True)
    assert mfg and child
    return keep, dupe


@pytest.mark.django_db
def test_merge_moves_everything_and_unmerge_puts_it_back(
    personas: Personas, pair: tuple[Customer, Customer]
) -> None:
    keep, dupe = pair
    before = {
        "contacts": set(Contact.objects.filter(customer=dupe).values_list("pk", flat=True)),
        "followups": set(FollowUp.objects.filter(customer=dupe).values_list("pk", flat=True)),
        "rels": set(
            CustomerRelationship.objects.filter(customer=dupe).values_list(
                "pk", "bu_id", "owner_id"
            )
        ),
        "children": set(Customer.objects.filter(parent=dupe).values_list("pk", flat=True)),
        "collaborators": set(Collaborator.objects.values_list("relationship_id", "user_id")),
        "follows": Follow.objects.count(),
    }
    record = merge.customer_merge(
        actor=personas.actor("admin"), survivor_id=keep.pk, loser_ids=[dupe.pk], reason="同一法人"
    )
    keep.refresh_from_db()
    dupe.refresh_from_db()
    assert dupe.status == "merged" and dupe.merged_into == keep and dupe.uscc is None
    assert keep.uscc == "91350100M000100Y43" and keep.province == "上海市"  # filled from the dupe
    assert keep.website == "www.crland.com.hk"  # its own values win
    assert Contact.objects.filter(customer=keep).count() == 1
    assert FollowUp.objects.filter(customer=keep).count() == 1
    assert set(
        CustomerRelationship.objects.filter(customer=keep).values_list("bu_id", flat=True)
    ) == {
        personas.units["mfg"].pk,
        personas.units["fin"].pk,
    }
    assert (
        CustomerRelationship.objects.get(customer=keep, bu=personas.units["mfg"]).owner
        == personas.mfg_am
    )
    assert Customer.objects.get(legal_name="华润置地（苏州）有限公司").parent == keep
    assert Follow.objects.filter(customer=keep).count() == 1  # the duplicate follow is dropped
    assert search_ids("91350100M000100Y43") == [keep.pk]
    assert ChangeRecord.objects.filter(object_id=str(keep.pk), verb="merge").exists()

    kept = merge.customer_unmerge(actor=personas.actor("admin"), merge_id=record.pk)
    assert kept == []
    keep.refresh_from_db()
    dupe.refresh_from_db()
    assert dupe.status == "active" and dupe.uscc == "91350100M000100Y43" and keep.uscc is None
    assert keep.province == ""
    assert (
        set(Contact.objects.filter(customer=dupe).values_list("pk", flat=True))
        == before["contacts"]
    )
    assert (
        set(FollowUp.objects.filter(customer=dupe).values_list("pk", flat=True))
        == before["followups"]
    )
    assert (
        set(
            CustomerRelationship.objects.filter(customer=dupe).values_list(
                "pk", "bu_id", "owner_id"
            )
        )
        == before["rels"]
    )
    assert (
        set(Customer.objects.filter(parent=dupe).values_list("pk", flat=True)) == before["children"]
    )
    assert (
        set(Collaborator.objects.values_list("relationship_id", "user_id"))
        == before["collaborators"]
    )
    assert Follow.objects.count() == before["follows"]
    assert MergeRecord.objects.get().unmerged_at is not None
    with pytest.raises(Conflict):
        merge.customer_unmerge(actor=personas.actor("admin"), merge_id=record.pk)


@pytest.mark.django_db
def test_an_edit_after_the_merge_survives_the_unmerge(
    personas: Personas, pair: tuple[Customer, Customer]
) -> None:
    keep, dupe = pair
    record = merge.customer_merge(
        actor=personas.actor("admin"), survivor_id=keep.pk, loser_ids=[dupe.pk]
    )
    services.customer_update(
        actor=personas.actor("admin"), pk=keep.pk, address="北京市海淀区中关村大街1号"
    )
    kept = merge.customer_unmerge(actor=personas.actor("admin"), merge_id=record.pk)
    assert "address" in kept
    keep.refresh_from_db()
    assert keep.address == "北京市海淀区中关村大街1号"


@pytest.mark.django_db
def test_merge_refusals(personas: Personas, pair: tuple[Customer, Customer]) -> None:
    keep, dupe = pair
    with pytest.raises(PermissionDenied):
        merge.customer_merge(
            actor=personas.actor("mfg_am"), survivor_id=keep.pk, loser_ids=[dupe.pk]
        )
    with pytest.raises(ValidationError):
        merge.customer_merge(
            actor=personas.actor("admin"), survivor_id=keep.pk, loser_ids=[keep.pk]
        )
    child = Customer.objects.get(legal_name="华润置地（苏州）有限公司")
    with pytest.raises(ValidationError):
        merge.customer_merge(
            actor=personas.actor("admin"), survivor_id=child.pk, loser_ids=[dupe.pk]
        )
    record = merge.customer_merge(
        actor=personas.actor("admin"), survivor_id=keep.pk, loser_ids=[dupe.pk]
    )
    with pytest.raises(ValidationError):  # already merged
        merge.customer_merge(
            actor=personas.actor("admin"), survivor_id=keep.pk, loser_ids=[dupe.pk]
        )
    MergeRecord.objects.filter(pk=record.pk).update(
        merged_at=timezone.now() - dt.timedelta(days=400)
    )
    with pytest.raises(Conflict):
        merge.customer_unmerge(actor=personas.actor("admin"), merge_id=record.pk)


@pytest.mark.django_db
def test_merge_and_unmerge_through_the_api(
    personas: Personas, pair: tuple[Customer, Customer]
) -> None:
    keep, dupe = pair
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('admin')}"}
    response = client.post(
        f"/api/v1/customers/{keep.pk}/merge",
        {"loser_ids": [dupe.pk], "reason": "同一法人"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    merge_id = response.json()["id"]
    assert client.get(f"/api/v1/customers/{keep.pk}/merges", **auth).json()[0]["losers"] == [
        dupe.pk
    ]
    listed = client.get("/api/v1/customers?status=merged", **auth).json()["items"]
    assert [c["id"] for c in listed] == [dupe.pk]
    response = client.post(f"/api/v1/customers/merges/{merge_id}/unmerge", **auth)
    assert response.status_code == 200 and response.json()["kept"] == []
    am = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('mfg_am')}"}
    response = client.post(
        f"/api/v1/customers/{keep.pk}/merge",
        {"loser_ids": [dupe.pk]},
        content_type="application/json",
        **am,
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_merge_and_undo_from_the_360_page(
    personas: Personas, pair: tuple[Customer, Customer]
) -> None:
    keep, dupe = pair
    page = Client()
    page.force_login(personas.admin)
    html = page.get(f"/customers/{keep.pk}/").content.decode()
    assert 'data-testid="merge"' in html
    assert (
        page.post(
            f"/customers/{keep.pk}/merge/", {"loser_id": dupe.pk, "reason": "同一"}
        ).status_code
        == 302
    )
    record = MergeRecord.objects.get()
    assert 'data-testid="unmerge"' in page.get(f"/customers/{keep.pk}/").content.decode()
    assert page.get(f"/customers/{dupe.pk}/").status_code == 200  # a merged record still opens
    assert page.post(f"/customers/merges/{record.pk}/unmerge/").status_code == 302
    assert Customer.objects.get(pk=dupe.pk).status == "active"
    am = Client()
    am.force_login(personas.mfg_am)
    assert 'data-testid="merge"' not in am.get(f"/customers/{keep.pk}/").content.decode()
