"""Undoing a merge: refused (409, nothing written) when the kept record was merged on since
or a credit code was taken meanwhile; leads, referrals and conflicts follow a merge and
its undo; rows deleted at merge come back exactly, timestamps included."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from groupcrm.core.testing.personas import Personas
from groupcrm.customers import merge
from groupcrm.customers.models import (
    Collaborator,
    Contact,
    Customer,
    CustomerRelationship,
    Follow,
    MergeRecord,
)
from groupcrm.customers.normalize import make_uscc
from groupcrm.sales.conflicts.models import Conflict
from groupcrm.sales.leads.models import Lead, Referral
from tests import test_merge
from tests.test_merge import make

# test_merge's two records of one company, everything attached, as this module's fixture.
records = test_merge.pair


def unchanged(keep: Customer, dupe: Customer) -> dict[str, Any]:
    """What an unmerge would change: the merged record, where its contacts are, the record."""
    return {
        "dupe": Customer.objects.filter(pk=dupe.pk).values("status", "merged_into", "uscc").get(),
        "keep": Customer.objects.filter(pk=keep.pk).values().get(),
        "contacts": list(Contact.objects.order_by("pk").values_list("pk", "customer_id")),
        "undone": list(MergeRecord.objects.order_by("pk").values_list("pk", "unmerged_at")),
    }


@pytest.mark.django_db
def test_undo_refused_once_the_kept_record_was_merged_again(
    personas: Personas, records: tuple[Customer, Customer]
) -> None:
    keep, dupe = records
    admin = personas.actor("admin")
    # The kept record has its own code: the merged one's is simply cleared, and free.
    Customer.objects.filter(pk=keep.pk).update(uscc=make_uscc(random.Random(3)))
    first = merge.customer_merge(actor=admin, survivor_id=keep.pk, loser_ids=[dupe.pk])
    later = make("华润置地集团有限公司")
    merge.customer_merge(actor=admin, survivor_id=later.pk, loser_ids=[keep.pk])
    before = unchanged(later, dupe)
    page = Client()
    page.force_login(personas.admin)
    response = page.post(f"/customers/merges/{first.pk}/unmerge/")
    assert response.status_code == 409
    assert "请先撤销那次合并" in response.content.decode()
    assert unchanged(later, dupe) == before
    assert before["dupe"]["status"] == "merged"


@pytest.mark.django_db
def test_undo_refused_when_the_credit_code_was_taken_since(
    personas: Personas, records: tuple[Customer, Customer]
) -> None:
    keep, dupe = records
    # The kept record has its own code, so the merged one's is simply cleared.
    Customer.objects.filter(pk=keep.pk).update(uscc=make_uscc(random.Random(3)))
    record = merge.customer_merge(
        actor=personas.actor("admin"), survivor_id=keep.pk, loser_ids=[dupe.pk]
    )
    newcomer = make("华润置地新设公司", uscc=dupe.uscc)  # an import or a hand entry
    before = unchanged(keep, dupe)
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('admin')}"}
    response = client.post(f"/api/v1/customers/merges/{record.pk}/unmerge", **auth)
    assert response.status_code == 409, response.content
    problem = response.json()
    assert problem["code"] == "uscc_taken" and problem["holder_id"] == newcomer.pk
    assert dupe.uscc in problem["detail"] and newcomer.legal_name in problem["detail"]
    assert unchanged(keep, dupe) == before


@pytest.mark.django_db
def test_leads_referrals_and_conflicts_follow_the_merge_and_its_undo(
    personas: Personas, records: tuple[Customer, Customer]
) -> None:
    keep, dupe = records
    mfg, fin = personas.units["mfg"], personas.units["fin"]
    lead = Lead.objects.create(
        bu=mfg, company_name=dupe.legal_name, status="converted", converted_customer=dupe
    )
    referral = Referral.objects.create(
        customer=dupe,
        lead=lead,
        from_bu=mfg,
        from_user=personas.mfg_am,
        to_bu=fin,
        referrer_percent=Decimal("10"),
        status="accepted",
    )
    conflict = Conflict.objects.create(
        customer=dupe,
        group_root=dupe,
        raised_by=personas.mfg_am,
        raised_bu=mfg,
        other_bu=fin,
        pair_key=Conflict.pair_of(mfg.pk, fin.pk),
        reason="同一集团",
    )

    def pointing() -> tuple[int | None, ...]:
        lead.refresh_from_db()
        referral.refresh_from_db()
        conflict.refresh_from_db()
        return (
            lead.converted_customer_id,
            referral.customer_id,
            conflict.customer_id,
            conflict.group_root_id,
        )

    record = merge.customer_merge(
        actor=personas.actor("admin"), survivor_id=keep.pk, loser_ids=[dupe.pk]
    )
    assert pointing() == (keep.pk,) * 4
    merge.customer_unmerge(actor=personas.actor("admin"), merge_id=record.pk)
    assert pointing() == (dupe.pk,) * 4


@pytest.mark.django_db
def test_a_merge_that_would_double_an_open_conflict_is_refused(
    personas: Personas, records: tuple[Customer, Customer]
) -> None:
    keep, dupe = records
    mfg, fin = personas.units["mfg"], personas.units["fin"]
    for customer in (keep, dupe):
        Conflict.objects.create(
            customer=customer,
            group_root=customer,
            raised_by=personas.mfg_am,
            raised_bu=mfg,
            other_bu=fin,
            pair_key=Conflict.pair_of(mfg.pk, fin.pk),
            reason="同一集团",
        )
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('admin')}"}
    response = client.post(
        f"/api/v1/customers/{keep.pk}/merge",
        {"loser_ids": [dupe.pk]},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "merge_link_clash"
    assert Customer.objects.get(pk=dupe.pk).status == "active"
    assert not MergeRecord.objects.exists()


@pytest.mark.django_db
def test_rows_deleted_at_merge_come_back_exactly(
    personas: Personas, records: tuple[Customer, Customer]
) -> None:
    keep, dupe = records
    old = timezone.now() - dt.timedelta(days=300, microseconds=1234)
    CustomerRelationship.objects.filter(customer=dupe).update(created_at=old, updated_at=old)
    Follow.objects.filter(customer=dupe).update(created_at=old)

    def rows() -> dict[str, list[dict[str, Any]]]:
        return {
            "relationships": list(
                CustomerRelationship.objects.filter(customer=dupe).order_by("pk").values()
            ),
            "collaborators": list(
                Collaborator.objects.filter(relationship__customer=dupe).order_by("pk").values()
            ),
            "follows": list(Follow.objects.filter(customer=dupe).order_by("pk").values()),
        }

    before = rows()
    record = merge.customer_merge(
        actor=personas.actor("admin"), survivor_id=keep.pk, loser_ids=[dupe.pk]
    )
    # The mfg relationship (with its collaborator) and the follow were deleted.
    assert len(record.snapshot["relationships_deleted"]) == 1
    assert len(record.snapshot["follows_deleted"]) == 1
    merge.customer_unmerge(actor=personas.actor("admin"), merge_id=record.pk)
    assert rows() == before
