"""Batch duplicate detection over the customer master and over contacts, and the review
queues' decisions (design.md §6; engine in ``integration.dedup``).

Customers and contacts run through one code path (``_run``): rows, labels from earlier
merges, the engine, storing the pairs and auto-merging. Merges not undone are the labels
that improve the next run's model; "not a duplicate" decisions are remembered on their
pair and never queued again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.audit.services import audit_action
from groupcrm.core.actor import Actor
from groupcrm.core.errors import NotFound, PermissionDenied, ValidationError
from groupcrm.core.events import publish
from groupcrm.core.permissions import DataScope
from groupcrm.customers.merge import CONTACTS, contact_merge, customer_merge
from groupcrm.customers.models import Contact, Customer, MergeRecord
from groupcrm.customers.services import ensure_steward, stewarded
from groupcrm.integration.dedup import DedupConfig, FieldSpec, Pair, find_pairs, frame
from groupcrm.integration.models import ContactPair, DuplicatePair, PairDecision

CUSTOMERS = "customers"

CUSTOMER_CONFIG = DedupConfig(
    fields=[
        FieldSpec("name", "company_name"),
        FieldSpec("uscc", "identifier"),
        # A contact's mobile, as its blind index: equal exactly when the numbers are; a
        # company's records may hold different contacts' numbers.
        FieldSpec("phone", "phone"),
        FieldSpec("address", "address"),
        FieldSpec("website", "text"),
    ],
    threshold=0.5,
)
CONTACT_CONFIG = DedupConfig(
    fields=[
        FieldSpec("name", "person_name"),
        # Blind indexes (HMAC of the normalised value): equal exactly when the values are;
        # a person's records may hold an old and a new number.
        FieldSpec("mobile", "phone"),
        FieldSpec("email", "email"),
        # The customer's tree path: the same customer agrees fully, the same group partly.
        FieldSpec("company", "hierarchy"),
    ],
    blocking=[["mobile"], ["email"], ["company:root", "name:pinyin"]],
    threshold=0.5,
)

Row = dict[str, Any]


def customer_rows() -> list[Row]:
    """The active golden records as the engine sees them; phones only as blind indexes,
    so matching never decrypts personal data."""
    return _customer_rows(Customer.objects.filter(status=Customer.Status.ACTIVE))


def _customer_rows(customers: QuerySet[Customer]) -> list[Row]:
    phones: dict[int, str] = {}
    for customer_id, index in (
        Contact.objects.filter(customer__in=customers)
        .exclude(mobile_index="")
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
        for pk, name, uscc, address, website in customers.values_list(
            "pk", "legal_name", "uscc", "address", "website"
        )
    ]


def contact_rows() -> list[Row]:
    """Contacts in post as the engine sees them: the name, the blind indexes of mobile
    and email (never the encrypted values) and the customer's place in its group."""
    return [
        {"id": pk, "name": name, "mobile": mobile, "email": email, "company": path}
        for pk, name, mobile, email, path in Contact.objects.filter(
            status=Contact.Status.ACTIVE
        ).values_list("pk", "name", "mobile_index", "email_index", "customer__path")
    ]


def _merges(entity: str) -> list[MergeRecord]:
    kind = Q(snapshot__entity=CONTACTS) if entity == CONTACTS else ~Q(snapshot__has_key="entity")
    return list(MergeRecord.objects.filter(kind, unmerged_at__isnull=True).order_by("pk"))


def customer_labels() -> tuple[list[Row], list[tuple[str, str]]]:
    """Merges reviewers made (not undone): the merged records as they were, and the
    (survivor, merged record) pairs known to be duplicates."""
    merges = _merges(CUSTOMERS)
    before = {int(pk): row for m in merges for pk, row in m.snapshot["losers"].items()}
    rows = _customer_rows(Customer.objects.filter(pk__in=before))
    for row in rows:
        # A merged record gave up its USCC (it is unique): the snapshot still has it.
        row["uscc"] = before[row["id"]].get("uscc") or ""
    return rows, [(str(m.survivor_id), str(i)) for m in merges for i in m.losers]


def contact_labels() -> tuple[list[Row], list[tuple[str, str]]]:
    """The same for contacts; a merged contact is gone, its row is in the snapshot."""
    merges = _merges(CONTACTS)
    paths = dict(
        Customer.objects.filter(
            pk__in={r["customer_id"] for m in merges for r in m.snapshot["losers"].values()}
        ).values_list("pk", "path")
    )
    rows = [
        {
            "id": int(pk),
            "name": row["name"],
            "mobile": row["mobile_index"],
            "email": row["email_index"],
            "company": paths.get(row["customer_id"], ""),
        }
        for m in merges
        for pk, row in m.snapshot["losers"].items()
    ]
    pairs = [(str(m.snapshot["survivor_contact"]), str(i)) for m in merges for i in m.losers]
    return rows, pairs


@dataclass(frozen=True)
class Target:
    """What one kind of record needs to go through the batch."""

    pair_model: type[PairDecision]
    config: DedupConfig
    rows: Callable[[], list[Row]]
    labels: Callable[[], tuple[list[Row], list[tuple[str, str]]]]
    better: Callable[[PairDecision], int]


def _better_customer(pair: PairDecision) -> int:
    """The record to keep: the more complete one, else the older one."""
    a, b = pair.left, pair.right  # type: ignore[attr-defined]
    return a.pk if (a.quality_score, -a.pk) >= (b.quality_score, -b.pk) else b.pk


def _better_contact(pair: PairDecision) -> int:
    """The contact to keep: the one with more ways to reach the person, else the older."""

    def filled(c: Contact) -> tuple[int, int]:
        ways = [c.mobile_index, c.phone_index, c.email_index, c.title, c.department]
        return sum(bool(w) for w in ways), -c.pk

    a, b = pair.left, pair.right  # type: ignore[attr-defined]
    return a.pk if filled(a) >= filled(b) else b.pk


TARGETS: dict[str, Target] = {
    CUSTOMERS: Target(
        DuplicatePair, CUSTOMER_CONFIG, customer_rows, customer_labels, _better_customer
    ),
    CONTACTS: Target(ContactPair, CONTACT_CONFIG, contact_rows, contact_labels, _better_contact),
}


def _require_steward(actor: Actor, entity: str) -> Target:
    actor.require("customers", "admin")
    if actor.widest_scope("customers", "admin") != DataScope.GROUP:
        raise PermissionDenied(_("Only a group-wide data steward runs the batch dedup."))
    if entity not in TARGETS:
        raise ValidationError({"entity": _("Choose one of the offered values.")})
    return TARGETS[entity]


def dedup_start(*, actor: Actor, entity: str) -> None:
    """Queue a batch run in the background (the same checks, said before queueing)."""
    from groupcrm.integration.tasks import dedup_task

    _require_steward(actor, entity)
    dedup_task(actor.user_id, entity)


def dedup_run(*, actor: Actor, entity: str) -> dict[str, int]:
    """Score every customer (or every contact) and refresh the review queue. Decided
    pairs stay decided; pairs above DEDUP_AUTO_MERGE_THRESHOLD merge at once (into the
    better record)."""
    target = _require_steward(actor, entity)
    rows = target.rows()
    active = {str(row["id"]) for row in rows}
    if len(rows) < 2:
        return {"pairs": 0, "new": 0, "auto_merged": 0, "labels": 0}
    known_rows, labels = target.labels()
    # Merged records take part in training only (as the labels' other half).
    rows += [row for row in known_rows if str(row["id"]) not in active]
    pairs = [
        pair
        for pair in find_pairs(frame(rows, "id", target.config), target.config, labels)
        if pair.left in active and pair.right in active
    ]
    started = timezone.now()
    new, merged = _store_pairs(actor, entity, pairs)
    # Pending pairs this run no longer predicts (records changed since) leave the queue.
    target.pair_model.objects.filter(
        status=PairDecision.Status.PENDING, found_at__lt=started
    ).delete()
    return {"pairs": len(pairs), "new": new, "auto_merged": merged, "labels": len(labels)}


STORE_CHUNK = 5000


def _store_pairs(actor: Actor, entity: str, pairs: list[Pair]) -> tuple[int, int]:
    """Queue the pairs (refreshing pending ones, leaving decided ones alone) and merge
    those above the auto-merge threshold. Returns (new pairs, merges). A run over a
    large master finds hundreds of thousands of pairs: they are written a chunk at a
    time, with one read, one insert and one update per chunk."""
    target = TARGETS[entity]
    model = target.pair_model
    new = 0
    now = timezone.now()
    for start in range(0, len(pairs), STORE_CHUNK):
        chunk = {
            tuple(sorted((int(p.left), int(p.right)))): p
            for p in pairs[start : start + STORE_CHUNK]
        }
        lefts = {left for left, _right in chunk}
        known = {
            (row.left_id, row.right_id): row
            for row in model.objects.filter(left_id__in=lefts, right_id__in={r for _l, r in chunk})
            if (row.left_id, row.right_id) in chunk
        }
        with transaction.atomic():
            fresh = [
                model(
                    left_id=left,
                    right_id=right,
                    probability=pair.probability,
                    reasons=pair.reasons,
                    cluster=pair.cluster,
                )
                for (left, right), pair in chunk.items()
                if (left, right) not in known
            ]
            model.objects.bulk_create(fresh, batch_size=1000, ignore_conflicts=True)
            pending = [row for row in known.values() if row.status == model.Status.PENDING]
            for row in pending:
                pair = chunk[(row.left_id, row.right_id)]
                row.probability, row.reasons, row.cluster = (
                    pair.probability,
                    pair.reasons,
                    pair.cluster,
                )
                row.found_at = now
            model.objects.bulk_update(
                pending, ["probability", "reasons", "cluster", "found_at"], batch_size=1000
            )
        new += len(fresh)
    return new, _auto_merge(actor, entity, pairs)


def _auto_merge(actor: Actor, entity: str, pairs: list[Pair]) -> int:
    """Merge the pending pairs at or above DEDUP_AUTO_MERGE_THRESHOLD, best first."""
    auto = settings.DEDUP_AUTO_MERGE_THRESHOLD
    if not auto:
        return 0
    target = TARGETS[entity]
    model = target.pair_model
    merged = 0
    retired: set[int] = set()  # merged by this run: their other pairs are moot
    for pair in sorted(pairs, key=lambda p: -p.probability):
        if pair.probability < auto:
            break
        left, right = sorted((int(pair.left), int(pair.right)))
        row = model.objects.filter(left_id=left, right_id=right).first()
        if {left, right} & retired or row is None or row.status != model.Status.PENDING:
            continue
        survivor = target.better(row)
        pair_decide(actor=actor, pk=row.pk, decision="merge", survivor_id=survivor, entity=entity)
        retired.add(right if survivor == left else left)
        merged += 1
    return merged


def review_queue(
    *, actor: Actor, status: str = PairDecision.Status.PENDING, entity: str = CUSTOMERS
) -> QuerySet[Any]:
    """Pairs the actor may decide: both records stewarded by the actor (a unit's data
    steward sees the pairs of customers only its units work with, and of their contacts;
    pairs that reach any other unit go to a group data steward)."""
    actor.require("customers", "admin")
    if entity not in TARGETS:
        raise NotFound()
    if entity == CONTACTS:
        pairs = ContactPair.objects.filter(status=status)
        left, right = "left__customer", "right__customer"
        related = ("left__customer", "right__customer")
    else:
        pairs = DuplicatePair.objects.filter(status=status)
        if status != PairDecision.Status.MERGED:
            # A pair whose record was merged some other way is no longer a question.
            pairs = pairs.exclude(
                Q(left__status=Customer.Status.MERGED) | Q(right__status=Customer.Status.MERGED)
            )
        left, right = "left", "right"
        related = ("left", "right")
    return (
        pairs.filter(stewarded(actor, left), stewarded(actor, right))
        .select_related(*related)
        .order_by("-probability", "pk")
    )


DECISIONS = ("merge", "distinct", "defer")


@transaction.atomic
def pair_decide(
    *,
    actor: Actor,
    pk: int,
    decision: str,
    survivor_id: int | None = None,
    entity: str = CUSTOMERS,
) -> PairDecision:
    """Merge (keeping ``survivor_id``), "not a duplicate" (remembered by later runs) or
    "later". A contact merge removes the merged contact and with it the pair: the merge
    record remembers the decision (and is the label the next run learns from)."""
    if decision not in DECISIONS:
        raise ValidationError({"decision": _("Choose one of the offered values.")})
    open_ = (PairDecision.Status.PENDING, PairDecision.Status.DEFERRED)
    pair = next(
        (
            found
            for status in open_
            if (
                found := review_queue(actor=actor, status=status, entity=entity)
                .filter(pk=pk)
                .first()
            )
        ),
        None,
    )
    if pair is None:
        raise NotFound()
    customers = (
        (pair.left.customer, pair.right.customer) if entity == CONTACTS else (pair.left, pair.right)
    )
    for customer in customers:
        ensure_steward(actor, customer)
    if decision == "merge":
        if survivor_id not in (pair.left_id, pair.right_id):
            raise ValidationError({"survivor_id": _("Keep one of the two records.")})
        loser = pair.right_id if survivor_id == pair.left_id else pair.left_id
        merge = contact_merge if entity == CONTACTS else customer_merge
        merge(
            actor=actor,
            survivor_id=survivor_id,
            loser_ids=[loser],
            reason=_("Duplicate (match probability %(p).2f)") % {"p": pair.probability},
        )
        pair.status = PairDecision.Status.MERGED
    elif decision == "distinct":
        pair.status = PairDecision.Status.DISTINCT
    else:
        pair.status = PairDecision.Status.DEFERRED
    pair.decided_by, pair.decided_at = actor.user, timezone.now()
    if not (entity == CONTACTS and decision == "merge"):  # else the pair went with the contact
        pair.save()
    audit_action(actor=actor, obj=pair, verb=decision, changes={"status": pair.status})
    publish(
        actor=actor,
        name="integration.pair_decided",
        payload={"entity": entity, "pair_id": pk, "decision": decision, "status": pair.status},
    )
    return pair
