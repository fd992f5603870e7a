"""Who decides a duplicate: a unit's data steward for customers only its units work with,
a group data steward for everything that reaches another unit (issue: data integration,
"pairs across BUs go to a group data steward role"). Collaborating on another unit's
relationship makes nobody its steward."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from groupcrm.core.actor import Actor
from groupcrm.core.errors import NotFound, PermissionDenied
from groupcrm.customers import services
from groupcrm.customers.merge import customer_merge, customer_unmerge
from groupcrm.customers.models import Customer, CustomerRelationship
from groupcrm.integration.matching import pair_decide, review_queue
from groupcrm.integration.models import DuplicatePair

pytestmark = pytest.mark.django_db


def _customer(name: str, *units) -> Customer:  # type: ignore[no-untyped-def]
    system = Actor.system("tests")
    customer = services.customer_create(
        actor=system, legal_name=name, start_relationship=False, similar_override_reason="test"
    )
    for unit in units:
        services.relationship_start(actor=system, customer_id=customer.pk, bu_id=unit.pk)
    return customer


def _pair(a: Customer, b: Customer) -> DuplicatePair:
    left, right = sorted((a, b), key=lambda c: c.pk)
    return DuplicatePair.objects.create(left=left, right=right, probability=0.97, reasons=[])


@pytest.fixture
def world(personas):  # type: ignore[no-untyped-def]
    mfg, sh, fin = personas.units["mfg"], personas.units["mfg-sh"], personas.units["fin"]
    customers = {
        "mfg_only": _customer("苏州宏达精密机械有限公司", mfg),
        "mfg_team": _customer("苏州宏达精密机械股份有限公司", sh),
        "shared": _customer("苏州宏达机械有限公司", mfg, fin),
        "fin_only": _customer("苏州宏达精密机械(集团)有限公司", fin),
    }
    pairs = {
        "inside": _pair(customers["mfg_only"], customers["mfg_team"]),
        "shared": _pair(customers["mfg_only"], customers["shared"]),
        "across": _pair(customers["mfg_team"], customers["fin_only"]),
    }
    return personas, customers, pairs


def test_a_unit_steward_decides_only_pairs_its_units_alone_work_with(world) -> None:  # type: ignore[no-untyped-def]
    personas, customers, pairs = world
    steward = personas.actor("mfg_manager")
    assert set(review_queue(actor=steward)) == {pairs["inside"]}
    group = set(review_queue(actor=personas.actor("admin")))
    assert group == set(pairs.values())
    for name in ("shared", "across"):
        with pytest.raises(NotFound):
            pair_decide(
                actor=steward,
                pk=pairs[name].pk,
                decision="merge",
                survivor_id=pairs[name].left_id,
            )
    with pytest.raises(PermissionDenied):
        customer_merge(
            actor=steward,
            survivor_id=customers["mfg_only"].pk,
            loser_ids=[customers["shared"].pk],
        )
    assert Customer.objects.filter(status=Customer.Status.MERGED).count() == 0
    pair_decide(
        actor=steward,
        pk=pairs["inside"].pk,
        decision="merge",
        survivor_id=customers["mfg_only"].pk,
    )
    assert Customer.objects.get(pk=customers["mfg_team"].pk).status == Customer.Status.MERGED


def test_collaborating_on_another_units_relationship_gives_no_stewardship(world) -> None:  # type: ignore[no-untyped-def]
    personas, customers, pairs = world
    fin_side = CustomerRelationship.objects.get(
        customer=customers["fin_only"], bu=personas.units["fin"]
    )
    services.collaborator_set(
        actor=personas.actor("admin"),
        relationship_id=fin_side.pk,
        user_id=personas.mfg_manager.pk,
        access="write",
    )
    steward = personas.actor("mfg_manager")
    assert pairs["across"] not in set(review_queue(actor=steward))
    with pytest.raises(PermissionDenied):
        customer_merge(
            actor=steward,
            survivor_id=customers["mfg_team"].pk,
            loser_ids=[customers["fin_only"].pk],
        )


def test_the_api_and_the_page_follow_the_same_rule(world) -> None:  # type: ignore[no-untyped-def]
    personas, customers, pairs = world
    api = Client(HTTP_AUTHORIZATION=f"Bearer {personas.token('mfg_manager')}")
    listed = api.get("/api/v1/duplicates/customers").json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert [item["id"] for item in items] == [pairs["inside"].pk]
    refused = api.post(
        f"/api/v1/duplicates/customers/{pairs['shared'].pk}/decide",
        json.dumps({"decision": "merge", "survivor_id": pairs["shared"].left_id}),
        content_type="application/json",
    )
    assert refused.status_code == 404
    direct = api.post(
        f"/api/v1/customers/{customers['mfg_only'].pk}/merge",
        json.dumps({"loser_ids": [customers["shared"].pk]}),
        content_type="application/json",
    )
    assert direct.status_code == 403
    page = Client()
    page.force_login(personas.mfg_manager)
    html = page.get(f"/customers/{customers['shared'].pk}/").content.decode()
    assert 'id="merges"' not in html


def test_undoing_a_merge_needs_stewardship_of_the_record_it_kept(world) -> None:  # type: ignore[no-untyped-def]
    personas, customers, _pairs = world
    record = customer_merge(
        actor=personas.actor("admin"),
        survivor_id=customers["shared"].pk,
        loser_ids=[customers["mfg_only"].pk],
    )
    with pytest.raises(PermissionDenied):
        customer_unmerge(actor=personas.actor("mfg_manager"), merge_id=record.pk)
    assert Customer.objects.get(pk=customers["mfg_only"].pk).status == Customer.Status.MERGED
    customer_unmerge(actor=personas.actor("admin"), merge_id=record.pk)
    assert Customer.objects.get(pk=customers["mfg_only"].pk).status == Customer.Status.ACTIVE
