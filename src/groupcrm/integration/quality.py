"""Data-quality scores: per record (completeness and validity are the customer's own
``quality_score``; freshness is a follow-up or an update in the last 180 days; a pending
duplicate pair is a suspicion), aggregated per unit and per account manager, with a
daily snapshot for the trend and the list of worst records to fix."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Avg, Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from groupcrm.core.actor import Actor
from groupcrm.customers.models import Customer, CustomerRelationship
from groupcrm.customers.selectors import customer_get, register_panel
from groupcrm.integration.models import DuplicatePair, QualitySnapshot
from groupcrm.org.models import User
from groupcrm.org.selectors import units_for

FRESH_DAYS = 180
# What ``derive_customer`` finds wrong with a record, as people say it.
ISSUES = {
    "missing_uscc": _("No credit code"),
    "missing_industry": _("No industry"),
    "missing_address": _("No address"),
    "missing_size": _("No size"),
    "missing_legal_form": _("No legal form"),
    "unknown_region": _("Address in no known region"),
}
COMPLETENESS = [code for code in ISSUES if code.startswith("missing_")]


def _pending_pairs() -> QuerySet[DuplicatePair]:
    """Pairs waiting for review as the queue shows them: none with a record merged since."""
    merged = Customer.Status.MERGED
    return DuplicatePair.objects.filter(status=DuplicatePair.Status.PENDING).exclude(
        Q(left__status=merged) | Q(right__status=merged)
    )


def _suspects() -> QuerySet[Customer]:
    pending = _pending_pairs()
    return Customer.objects.filter(
        Q(pk__in=pending.values("left_id")) | Q(pk__in=pending.values("right_id"))
    )


def _aggregate(
    relationships: QuerySet[CustomerRelationship], key: str
) -> dict[Any, dict[str, Any]]:
    since = timezone.now() - dt.timedelta(days=FRESH_DAYS)
    suspects = _suspects().values("pk")
    rows = (
        relationships.exclude(customer__status=Customer.Status.MERGED)
        .values(key)
        .annotate(
            records=Count("pk"),
            score=Avg("customer__quality_score"),
            fresh_n=Count(
                "pk", filter=Q(last_followup_at__gte=since) | Q(customer__updated_at__gte=since)
            ),
            complete_n=Count("pk", filter=Q(customer__quality_score=100)),
            suspected=Count("pk", filter=Q(customer__in=suspects)),
        )
    )
    return {
        row[key]: {
            "records": row["records"],
            "score": round(row["score"] or 0, 1),
            "complete": round(100 * row["complete_n"] / row["records"], 1),
            "fresh": round(100 * row["fresh_n"] / row["records"], 1),
            "suspected_duplicates": row["suspected"],
        }
        for row in rows
    }


def record_quality(actor: Actor, customer: Customer) -> dict[str, Any]:
    """One record's data quality by dimension: completeness (the five key fields),
    validity (the address places the company in a region), freshness (a follow-up or an
    update in the last ``FRESH_DAYS`` days) and duplicate suspicion (pairs waiting in the
    review queue). ``score`` is the stored completeness-and-validity score the units'
    figures average; the other two are as of now. Follow-ups count only where the actor
    may see the relationship (a unit's last follow-up is its own)."""
    issues = customer.quality_issues or []
    followed = (
        CustomerRelationship.objects.visible_to(actor, "view")
        .filter(customer=customer)
        .aggregate(latest=Max("last_followup_at"))["latest"]
    )
    touched = max(t for t in (customer.updated_at, followed) if t is not None)
    return {
        "customer_id": customer.pk,
        "score": customer.quality_score,
        "completeness": round(100 * sum(c not in issues for c in COMPLETENESS) / len(COMPLETENESS)),
        "valid": "unknown_region" not in issues,
        "fresh": touched >= timezone.now() - dt.timedelta(days=FRESH_DAYS),
        "last_touched": touched,
        "suspected_duplicates": _suspects_of(customer.pk),
        "issues": [{"code": code, "label": str(ISSUES.get(code, code))} for code in issues],
    }


def _suspects_of(pk: int) -> int:
    return _pending_pairs().filter(Q(left_id=pk) | Q(right_id=pk)).count()


def customer_quality(*, actor: Actor, pk: int) -> dict[str, Any]:
    """``record_quality`` of a customer the actor may see (NotFound otherwise)."""
    return record_quality(actor, customer_get(actor=actor, pk=pk))


def _panel(actor: Actor, customer: Customer) -> dict[str, Any] | None:
    """The 360° page's data-quality card (the page already checked the customer's scope)."""
    return record_quality(actor, customer)


@transaction.atomic
def quality_snapshot(*, day: dt.date | None = None) -> int:
    """Record today's figures per unit and per account manager (the periodic job)."""
    day = day or timezone.localdate()
    QualitySnapshot.objects.filter(day=day).delete()
    snapshots = [
        QualitySnapshot(day=day, bu_id=bu_id, **figures)
        for bu_id, figures in _aggregate(CustomerRelationship.objects.all(), "bu_id").items()
    ]
    snapshots += [
        QualitySnapshot(day=day, owner_id=owner_id, **figures)
        for owner_id, figures in _aggregate(
            CustomerRelationship.objects.exclude(owner=None), "owner_id"
        ).items()
    ]
    QualitySnapshot.objects.bulk_create(snapshots)
    return len(snapshots)


def quality_overview(*, actor: Actor) -> dict[str, Any]:
    """Figures now per unit and per account manager within the actor's scope, the trend of
    the last 90 days, and the worst records to fix."""
    actor.require("customers", "view")
    visible = CustomerRelationship.objects.visible_to(actor, "view")
    units = {u.pk: u for u in units_for(actor=actor, module="customers", action="view")}
    by_unit = _aggregate(visible.filter(bu_id__in=units), "bu_id")
    by_owner = _aggregate(visible.exclude(owner=None), "owner_id")
    people = {u.pk: u for u in User.objects.filter(pk__in=by_owner)}
    since = timezone.localdate() - dt.timedelta(days=90)
    totals: dict[str, list[float]] = {}  # day -> [score × records, records]
    for snap in QualitySnapshot.objects.filter(day__gte=since, bu_id__in=units, owner=None):
        total = totals.setdefault(snap.day.isoformat(), [0.0, 0.0])
        total[0] += snap.score * snap.records
        total[1] += snap.records
    worst = (
        Customer.objects.filter(pk__in=visible.values("customer_id"))
        .exclude(status=Customer.Status.MERGED)
        .order_by("quality_score", "pk")[:20]
    )
    return {
        "units": sorted(
            ({"unit": units[k], **v} for k, v in by_unit.items()), key=lambda r: r["score"]
        ),
        "owners": sorted(
            ({"owner": people[k], **v} for k, v in by_owner.items() if k in people),
            key=lambda r: r["score"],
        ),
        "trend": [
            {"day": day, "count": round(weighted / records, 1) if records else 0}
            for day, (weighted, records) in sorted(totals.items())
        ],
        "worst": list(worst),
    }


register_panel("quality", "integration/_quality_panel.html", _panel)
