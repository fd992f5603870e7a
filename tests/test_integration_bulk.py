"""The bulk helpers the import writes with: objects built from positional values and
rows copied from plain tuples hold what the ordinary constructors and saves give."""

from __future__ import annotations

import pytest

from groupcrm.core.bulk import copy_rows, insert_rows, new_objects, reserve_ids
from groupcrm.core.testing.personas import Personas
from groupcrm.customers.models import Customer, CustomerRelationship


def test_new_objects_match_keyword_construction() -> None:
    values = {"id": 7, "legal_name": "华夏制造有限公司", "uscc": None, "source": "import"}
    fast, other = new_objects(Customer, [values, {**values, "id": 8}])
    slow = Customer(**values)
    for field in Customer._meta.concrete_fields:
        assert getattr(fast, field.attname) == getattr(slow, field.attname), field.name
    # A callable default is called for each object: no list is shared.
    assert fast.quality_issues == [] and fast.quality_issues is not other.quality_issues
    assert fast._state.adding and other.pk == 8


@pytest.mark.django_db
def test_copied_rows_take_the_defaults_of_the_model(personas: Personas) -> None:
    unit = personas.units["mfg"]
    (customer,) = new_objects(
        Customer,
        [{"id": reserve_ids(Customer, 1)[0], "legal_name": "华夏制造有限公司", "path": "x"}],
    )
    insert_rows([customer])
    customer.refresh_from_db()
    assert customer.created_at is not None and customer.updated_at is not None
    (pk,) = reserve_ids(CustomerRelationship, 1)
    copy_rows(CustomerRelationship, ("id", "customer_id", "bu_id"), [(pk, customer.pk, unit.pk)])
    relationship = CustomerRelationship.objects.get(pk=pk)
    assert (relationship.customer_id, relationship.bu_id, relationship.owner_id) == (
        customer.pk,
        unit.pk,
        None,
    )
    assert relationship.stage == CustomerRelationship.Stage.PROSPECT
    assert relationship.grade == "" and relationship.claimed_at is None
    assert relationship.created_at is not None
