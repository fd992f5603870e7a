"""The demo customers (customers.demo): built through the services, realistic and sound."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Count
from django.utils import timezone

from groupcrm.audit.services import audit_verify
from groupcrm.core.models import OutboxEvent
from groupcrm.customers.demo import HIGHLIGHTED_OWNER, OWNER_QUOTAS, load_customers
from groupcrm.customers.models import Contact, Customer, CustomerRelationship, FollowUp, PoolRule
from groupcrm.customers.normalize import normalize_uscc
from groupcrm.customers.reference import is_industry
from groupcrm.customers.search import search_ids
from groupcrm.org.demo import DEMO_USERS, build_demo
from groupcrm.org.models import Membership


@pytest.mark.django_db
def test_demo_customers_are_realistic_and_sound() -> None:
    build_demo()
    counts = load_customers(count=120)

    customers = Customer.objects.all()
    assert counts["customers"] == customers.count()
    assert 110 <= customers.count() <= 120
    # Credit codes: about nine in ten have one, and every one has a valid check digit.
    usccs = list(customers.exclude(uscc=None).values_list("uscc", flat=True))
    assert len(usccs) >= 0.8 * customers.count()
    assert all(normalize_uscc(code) == code for code in usccs)
    assert not customers.filter(name_key="华夏制造").exists()  # tests use that name
    # Regions parsed from the addresses; industries from the national classification.
    assert all(
        is_industry(code)
        for code in customers.exclude(industry="").values_list("industry", flat=True)
    )
    with_address = customers.exclude(address="")
    assert with_address.exclude(province="").count() == with_address.count()
    assert with_address.exclude(district="").count() >= 0.9 * with_address.count()

    # Group hierarchies, at least one three levels deep (母公司 → 子公司 → 分公司).
    assert counts["groups"] >= 5
    deep = customers.filter(depth__gte=2).first()
    assert deep is not None
    assert deep.parent.parent is not None and deep.parent.parent.parent_id is None
    assert deep.path.startswith(deep.parent.parent.path)

    # Every customer is worked with by one to three units, by members of those units.
    home = {person.username: person.unit for person in DEMO_USERS}
    assert all(home[user] == unit for unit, owners in OWNER_QUOTAS.items() for user, _n in owners)
    per_customer = customers.annotate(n=Count("relationships")).values_list("n", flat=True)
    assert all(1 <= n <= 3 for n in per_customer)
    rels = CustomerRelationship.objects.select_related("bu", "owner")
    for rel in rels.exclude(owner=None):
        assert Membership.objects.filter(
            user=rel.owner, is_active=True, bu__path__startswith=rel.bu.path
        ).exists()
    pool = rels.filter(owner=None)
    assert pool.exists()
    assert pool.exclude(release_reason="").exists()  # returned to the pool, with a reason
    assert set(rels.values_list("stage", flat=True)) >= {"prospect", "intent", "won"}
    assert rels.filter(owner__username=HIGHLIGHTED_OWNER).count() >= 3
    rule = PoolRule.objects.get(bu__code="hx-mfg")
    assert (rule.max_owned, rule.daily_claim_limit, rule.reclaim_after_days) == (150, 10, 45)

    per_customer = customers.annotate(n=Count("contacts")).values_list("n", flat=True)
    assert all(1 <= n <= 4 for n in per_customer)
    assert counts["contacts"] == Contact.objects.count()

    # A year of follow-ups by the owners, none in the future, next steps not before them.
    followups = FollowUp.objects.all()
    assert counts["followups"] == followups.count() >= 300
    now = timezone.now()
    assert not followups.filter(occurred_at__gt=now).exists()
    assert followups.filter(occurred_at__lt=now - dt.timedelta(days=180)).exists()
    for occurred_at, next_due in followups.exclude(next_due=None).values_list(
        "occurred_at", "next_due"
    ):
        assert next_due >= timezone.localtime(occurred_at).date()
    assert not followups.filter(kind="visit", location="").exists()

    # Initials search, the audit chain and the outbox, as in real use.
    hits = search_ids("hxzz")
    assert customers.get(legal_name="华夏智造科技有限公司").pk in hits
    checked, broken, _why = audit_verify()
    assert broken is None and checked > counts["followups"]
    assert (
        OutboxEvent.objects.filter(name="customers.followup_logged").count() == counts["followups"]
    )


@pytest.mark.django_db
def test_demo_pipeline_spans_units_and_stages() -> None:
    from groupcrm.sales.demo import load_pipeline
    from groupcrm.sales.models import Opportunity, StageChange

    build_demo()
    load_customers(count=120)
    counts = load_pipeline(count=60)
    opportunities = Opportunity.objects.all()
    assert counts["opportunities"] == opportunities.count() >= 40
    # Every opportunity is its owner's, in a unit the owner belongs to, across units.
    assert opportunities.values("bu").distinct().count() >= 3
    for opportunity in opportunities.select_related("bu", "owner"):
        assert Membership.objects.filter(
            user=opportunity.owner, bu__path__startswith=opportunity.bu.path
        ).exists()
    # Moved through the services: stage history, some won and some lost, with reasons.
    assert StageChange.objects.exists()
    assert opportunities.filter(status="won").count() == counts["won"] > 0
    lost = opportunities.filter(status="lost")
    assert lost.count() == counts["lost"] and all(o.lost_reason for o in lost)
    # A year of history: created over the past year, closed ones on their own days, stage
    # changes in order after the opportunity's creation.
    now = timezone.now()
    created = sorted(opportunities.values_list("created_at", flat=True))
    assert now - created[0] > dt.timedelta(days=120) and now - created[-1] < dt.timedelta(days=366)
    for closed in opportunities.exclude(status="open"):
        assert closed.created_at <= closed.closed_at <= now
        assert closed.expected_close == timezone.localdate(closed.closed_at)
    for change in StageChange.objects.select_related("opportunity"):
        assert change.opportunity.created_at <= change.at <= now
    assert audit_verify()[1] is None
