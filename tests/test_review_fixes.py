"""Fixes from a review of the data-integration work: what a record's quality card may
tell, the pool's export by unit, repeated arrivals of the same row, two rows of one
company in a relationships file, and the duplicate queues' edges."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import services
from groupcrm.customers.merge import customer_merge, customer_unmerge
from groupcrm.customers.models import Customer, CustomerRelationship
from groupcrm.customers.selectors import CustomerFilters, customer_list
from groupcrm.integration.matching import review_queue
from groupcrm.integration.models import DuplicatePair, SourceRecord
from groupcrm.integration.quality import record_quality
from tests.test_integration import start, zoho_file
from tests.test_relationship_import import relationships_file

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")


def _customer(name: str, *units) -> Customer:  # type: ignore[no-untyped-def]
    customer = services.customer_create(
        actor=SYSTEM, legal_name=name, start_relationship=False, similar_override_reason="t"
    )
    for unit in units:
        services.relationship_start(actor=SYSTEM, customer_id=customer.pk, bu_id=unit.pk)
    return customer


def test_the_quality_card_counts_only_follow_ups_the_viewer_may_see(personas: Personas) -> None:
    customer = _customer("泰山重工有限公司", personas.units["fin"])
    long_ago = timezone.now() - dt.timedelta(days=400)
    Customer.objects.filter(pk=customer.pk).update(updated_at=long_ago)
    recently = timezone.now() - dt.timedelta(days=3)
    CustomerRelationship.objects.filter(customer=customer).update(last_followup_at=recently)
    customer.refresh_from_db()
    outside = record_quality(personas.actor("mfg_am"), customer)
    assert outside["last_touched"] == customer.updated_at and outside["fresh"] is False
    inside = record_quality(personas.actor("fin_manager"), customer)
    assert inside["last_touched"] == recently and inside["fresh"] is True


def test_the_pools_unit_filter_applies_to_the_pool(personas: Personas) -> None:
    pooled = _customer("长江钢铁有限公司", personas.units["mfg"])
    _customer("珠江银行有限公司", personas.units["fin"])
    filters = CustomerFilters(pool=True, bu_id=personas.units["mfg"].pk)
    for name in ("mfg_am", "mfg_manager"):
        assert list(customer_list(actor=personas.actor(name), filters=filters)) == [pooled]


def test_the_same_row_imported_again_is_kept_once(personas: Personas, tmp_path: Path) -> None:
    start(personas, zoho_file(tmp_path))
    start(personas, zoho_file(tmp_path))
    record = SourceRecord.objects.get(external_id="zcrm_2")
    assert record.earlier == []


def test_two_rows_of_one_company_in_a_file_add_up(personas: Personas, tmp_path: Path) -> None:
    start(personas, zoho_file(tmp_path))
    rows = [
        ["zcrm_2", "", "mfg_am2", "意向", "", "", ""],
        ["zcrm_2", "", "", "", "", "重点跟进", ""],
    ]
    job = start(personas, relationships_file(tmp_path, rows), entity="relationships")
    assert job.rejected == 0
    land = CustomerRelationship.objects.get(
        customer__legal_name="华润置地有限公司", bu=personas.units["mfg"]
    )
    assert (land.owner, land.stage, land.notes) == (personas.mfg_am2, "intent", "重点跟进")


def test_pairs_with_a_record_merged_since_are_no_suspicion_and_merged_pairs_list(
    personas: Personas,
) -> None:
    mfg = personas.units["mfg"]
    a, b, c = (_customer(n, mfg) for n in ("甲方有限公司", "甲方股份有限公司", "乙方有限公司"))
    left, right = sorted((a.pk, b.pk))
    pending = DuplicatePair.objects.create(left_id=left, right_id=right, probability=0.9)
    customer_merge(actor=personas.actor("admin"), survivor_id=c.pk, loser_ids=[b.pk])
    assert record_quality(personas.actor("admin"), a)["suspected_duplicates"] == 0
    assert pending not in review_queue(actor=personas.actor("admin"))
    DuplicatePair.objects.filter(pk=pending.pk).update(status="merged")
    assert list(review_queue(actor=personas.actor("admin"), status="merged")) == [pending]


def test_a_unit_steward_is_told_to_undo_the_later_merge_first(personas: Personas) -> None:
    mfg = personas.units["mfg"]
    a, b, c = (_customer(n, mfg) for n in ("甲方有限公司", "甲方股份有限公司", "乙方有限公司"))
    steward = personas.actor("mfg_manager")
    first = customer_merge(actor=steward, survivor_id=a.pk, loser_ids=[b.pk])
    customer_merge(actor=steward, survivor_id=c.pk, loser_ids=[a.pk])
    with pytest.raises(Conflict) as refused:
        customer_unmerge(actor=steward, merge_id=first.pk)
    assert refused.value.code == "survivor_merged"
    assert Customer.objects.get(pk=b.pk).status == Customer.Status.MERGED
