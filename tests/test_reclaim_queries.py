"""The day a relationship returns to the pool, for whole lists at once: the opportunity
facts the pool rules need are read in one grouped query, not one or two per row."""

from __future__ import annotations

import datetime as dt
import random
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from groupcrm.core.actor import Actor
from groupcrm.core.testing.battery import ui_client
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import selectors, services
from groupcrm.customers.models import CustomerRelationship, PoolRule
from groupcrm.customers.normalize import make_uscc
from groupcrm.sales import services as sales_services
from groupcrm.sales.models import Opportunity

pytestmark = pytest.mark.usefixtures("default_pipeline")
SYSTEM = Actor.system("tests")
NUMBERS = count()


def owned(personas: Personas, days_ago: int) -> CustomerRelationship:
    """A customer of 华夏制造 owned by its account manager since ``days_ago``; every third
    one has an open opportunity, every third one a lost one."""
    n = next(NUMBERS)
    customer = services.customer_create(
        actor=SYSTEM,
        legal_name=f"回收查询测试{n:04d}有限公司",
        uscc=make_uscc(random.Random(n)),
        start_relationship=False,
        similar_override_reason="test data",
    )
    rel = services.relationship_start(
        actor=SYSTEM,
        customer_id=customer.pk,
        bu_id=personas.units["mfg"].pk,
        owner_id=personas.mfg_am.pk,
    )
    since = timezone.now() - dt.timedelta(days=days_ago)
    CustomerRelationship.objects.filter(pk=rel.pk).update(claimed_at=since, last_followup_at=since)
    if n % 3:
        opp = sales_services.opportunity_create(
            actor=personas.actor("mfg_am"),
            customer_id=customer.pk,
            bu_id=personas.units["mfg"].pk,
            name="项目",
            amount="100000",
            expected_close=timezone.localdate() + dt.timedelta(days=30),
        )
        if n % 3 == 2:
            Opportunity.objects.filter(pk=opp.pk).update(
                status="lost", closed_at=timezone.now() - dt.timedelta(days=2)
            )
    return rel


def add_relationships(personas: Personas, n: int) -> None:
    for i in range(n):
        owned(personas, days_ago=1 + 5 * i)


@pytest.fixture
def rule(personas: Personas) -> PoolRule:
    return PoolRule.objects.create(
        bu=personas.units["mfg"],
        reclaim_after_days=30,
        exempt_open_opportunity=True,
        reclaim_without_opportunity_days=10,
    )


def queries(run: object) -> int:
    with CaptureQueriesContext(connection) as captured:
        run()  # type: ignore[operator]
    return len(captured)


@pytest.mark.django_db
def test_the_relationship_list_page_reads_opportunities_once(
    personas: Personas, rule: PoolRule
) -> None:
    client = ui_client(personas, "mfg_am")
    url = reverse("customers:relationships")

    def page() -> None:
        assert client.get(url, HTTP_ACCEPT_LANGUAGE="en").status_code == 200

    add_relationships(personas, 3)
    page()  # warm the session and permission caches
    few = queries(page)
    add_relationships(personas, 12)
    assert queries(page) == few


@pytest.mark.django_db
def test_my_relationships_reads_opportunities_once(personas: Personas, rule: PoolRule) -> None:
    actor = personas.actor("mfg_am")
    add_relationships(personas, 3)
    few = queries(lambda: selectors.my_relationships(actor=actor))
    add_relationships(personas, 12)
    assert queries(lambda: selectors.my_relationships(actor=actor)) == few


@pytest.mark.django_db
def test_the_pool_job_reads_rules_and_opportunities_once(
    personas: Personas, rule: PoolRule
) -> None:
    PoolRule.objects.filter(pk=rule.pk).update(reclaim_after_days=0)
    for _ in range(3):
        owned(personas, days_ago=1)
    few = queries(services.pool_reclaim)
    for _ in range(12):
        owned(personas, days_ago=1)
    assert queries(services.pool_reclaim) == few


@pytest.mark.django_db
def test_batched_dates_are_those_of_each_relationship_alone(
    personas: Personas, rule: PoolRule
) -> None:
    for days_ago in (1, 5, 12, 25, 40, 70):
        owned(personas, days_ago)
    dates = selectors.my_relationships(actor=personas.actor("mfg_am"))
    assert len(dates) == 6 and any(due for _, due in dates) and any(not due for _, due in dates)
    for rel, due in dates:
        alone = services.reclaim_plan(CustomerRelationship.objects.get(pk=rel.pk), rule)
        assert due == (alone.on if alone else None)
