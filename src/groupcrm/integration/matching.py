"""Batch duplicate detection over the customer master, and the review queue's decisions
(design.md §6; engine in ``integration.dedup``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.audit.services import audit_action
from groupcrm.core.actor import Actor
from groupcrm.core.errors import NotFound, ValidationError
from groupcrm.core.permissions import DataScope
from groupcrm.customers.merge import customer_merge
from groupcrm.customers.models import Contact, Customer, CustomerRelationship
from groupcrm.customers.services import ensure_reach
from groupcrm.integration.dedup import DedupConfig, FieldSpec, find_pairs, frame
from groupcrm.integration.models import DuplicatePair

CUSTOMER_CONFIG = DedupConfig(
    fields=[
        FieldSpec("name", "company_name"),
        FieldSpec("uscc", "identifier"),
        FieldSpec("phone", "identifier"),  # a contact's mobile, as its blind index
        FieldSpec("address", "address"),
        FieldSpec("website", "text"),
    ],
    threshold=0.5,
)


def customer_rows() -> list[dict[str, Any]]:
    """The active golden records as the engine sees them; phones only as blind indexes,
    so matching never decrypts personal data."""
    phones: dict[int, str] = {}
    for customer_id, index in (
        Contact.objects.exclude(mobile_index="")
        .order_by("customer_id", "pk")
        .values_list("customer_id", "mobile_index")
    ):
        phones.setdefault(customer_id, index)
    return [
        {
            "id": pk,
            "name": name,
            "uscc": uscc or "",
            "phone": phones.get(pk, ""),
            "address": address,
            "website": website,
        }
        for pk, name, uscc, address, website in Customer.objects.filter(
            status=Customer.Status.ACTIVE
        ).values_list("pk", "legal_name", "uscc", "address", "website")
    ]


def dedup_customers(*, actor: Actor) -> dict[str, int]:
    """Score the whole master and refresh the review queue. Decided pairs stay decided;
    pairs above DEDUP_AUTO_MERGE_THRESHOLD merge at once (into the better record)."""
    actor.require("customers", "admin")
    if actor.widest_scope("customers", "admin") != DataScope.GROUP:
        raise ValidationError({"": _("Only a group-wide data steward runs the batch dedup.")})
    rows = customer_rows()
    if len(rows) < 2:
        return {"pairs": 0, "new": 0, "auto_merged": 0}
    pairs = find_pairs(frame(rows, "id", CUSTOMER_CONFIG), CUSTOMER_CONFIG)
    new = merged = 0
    auto = settings.DEDUP_AUTO_MERGE_THRESHOLD
    for pair in pairs:
        left, right = sorted((int(pair.left), int(pair.right)))
        with transaction.atomic():
            row, created = DuplicatePair.objects.get_or_create(
                left_id=left,
                right_id=right,
                defaults={
                    "probability": pair.probability,
                    "reasons": pair.reasons,
                    "cluster": pair.cluster,
                },
            )
            if not created and row.status == DuplicatePair.Status.PENDING:
                row.probability, row.reasons, row.cluster = (
                    pair.probability,
                    pair.reasons,
                    pair.cluster,
                )
                row.save(update_fields=["probability", "reasons", "cluster", "found_at"])
            new += created
        if auto and pair.probability >= auto and row.status == DuplicatePair.Status.PENDING:
            survivor = _better(row)
            pair_decide(actor=actor, pk=row.pk, decision="merge", survivor_id=survivor)
            merged += 1
    return {"pairs": len(pairs), "new": new, "auto_merged": merged}


def _better(pair: DuplicatePair) -> int:
    """The record to keep: the more complete one, else the older one."""
    a, b = pair.left, pair.right
    return a.pk if (a.quality_score, -a.pk) >= (b.quality_score, -b.pk) else b.pk


def review_queue(
    *, actor: Actor, status: str = DuplicatePair.Status.PENDING
) -> QuerySet[DuplicatePair]:
    """Pairs the actor may decide: both records within reach (a unit's data steward sees
    the pairs of customers its units work with; pairs across units need a group-wide
    grant)."""
    actor.require("customers", "admin")
    pairs = DuplicatePair.objects.filter(status=status).exclude(
        Q(left__status=Customer.Status.MERGED) | Q(right__status=Customer.Status.MERGED)
    )
    if actor.widest_scope("customers", "admin") != DataScope.GROUP:
        reachable = CustomerRelationship.objects.visible_to(actor, "view")
        pairs = pairs.filter(
            Exists(reachable.filter(customer=OuterRef("left"))),
            Exists(reachable.filter(customer=OuterRef("right"))),
        )
    return pairs.select_related("left", "right").order_by("-probability", "pk")


@transaction.atomic
def pair_decide(
    *, actor: Actor, pk: int, decision: str, survivor_id: int | None = None
) -> DuplicatePair:
    pair = review_queue(actor=actor, status=DuplicatePair.Status.PENDING).filter(pk=pk).first()
    if pair is None:
        pair = review_queue(actor=actor, status=DuplicatePair.Status.DEFERRED).filter(pk=pk).first()
    if pair is None:
        raise NotFound()
    ensure_reach(actor, pair.left, "customers", "admin")
    ensure_reach(actor, pair.right, "customers", "admin")
    if decision == "merge":
        if survivor_id not in (pair.left_id, pair.right_id):
            raise ValidationError({"survivor_id": _("Keep one of the two records.")})
        loser = pair.right_id if survivor_id == pair.left_id else pair.left_id
        customer_merge(
            actor=actor,
            survivor_id=survivor_id,
            loser_ids=[loser],
            reason=_("Duplicate (match probability %(p).2f)") % {"p": pair.probability},
        )
        pair.status = DuplicatePair.Status.MERGED
    elif decision == "distinct":
        pair.status = DuplicatePair.Status.DISTINCT
    elif decision == "defer":
        pair.status = DuplicatePair.Status.DEFERRED
    else:
        raise ValidationError({"decision": _("Choose one of the offered values.")})
    pair.decided_by, pair.decided_at = actor.user, timezone.now()
    pair.save()
    audit_action(actor=actor, obj=pair, verb=decision, changes={"status": pair.status})
    return pair
