"""Merging duplicate customers into one survivor, and undoing it (unmerge).

A merge re-points everything attached to the merged records (contacts, relationships,
follow-ups, follows, subsidiaries, source records, and whatever later modules register
with ``register_merge_link``), fills the survivor's empty fields from them, marks them
``merged``, and keeps in a ``MergeRecord`` exactly what moved, so that an unmerge within
``MERGE_RETENTION_DAYS`` puts every record and link back. Everything is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.audit.services import audit_action, to_json
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, NotFound, ValidationError
from groupcrm.core.events import publish
from groupcrm.core.tree import move_subtree
from groupcrm.customers import search
from groupcrm.customers.models import (
    Collaborator,
    Customer,
    CustomerRelationship,
    Follow,
    MergeRecord,
)
from groupcrm.customers.services import ensure_reach

# Rows pointing at a customer through a plain foreign key: (app_label.Model, field).
MERGE_LINKS: list[tuple[str, str]] = [
    ("customers.Contact", "customer"),
    ("customers.FollowUp", "customer"),
    ("customers.ChangeRequest", "customer"),
]
# Fields the survivor takes from a merged record when its own are empty.
SURVIVOR_FIELDS = (
    "short_name",
    "uscc",
    "legal_form",
    "industry",
    "size",
    "employees",
    "annual_revenue",
    "address",
    "province",
    "city",
    "district",
    "website",
    "group_grade",
)


def register_merge_link(model_label: str, field: str) -> None:
    """Later modules (integration, sales, service…) add their links to customers here."""
    if (model_label, field) not in MERGE_LINKS:
        MERGE_LINKS.append((model_label, field))


def _row(obj: models.Model) -> dict[str, Any]:
    return {f.attname: to_json(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


@transaction.atomic
def customer_merge(
    *, actor: Actor, survivor_id: int, loser_ids: list[int], reason: str = ""
) -> MergeRecord:
    actor.require("customers", "admin")
    survivor = Customer.objects.select_for_update().filter(pk=survivor_id).first()
    if survivor is None or survivor.status == Customer.Status.MERGED:
        raise ValidationError({"survivor_id": _("Choose an active customer to keep.")})
    losers = list(
        Customer.objects.select_for_update()
        .filter(pk__in=[i for i in loser_ids if i != survivor_id])
        .exclude(status=Customer.Status.MERGED)
        .order_by("-quality_score", "pk")
    )
    if not losers or len(losers) != len(set(loser_ids) - {survivor_id}):
        raise ValidationError(
            {"loser_ids": _("Choose one or more other active customers to merge into it.")}
        )
    for customer in [survivor, *losers]:
        ensure_reach(actor, customer, "customers", "admin")
        if customer is not survivor and survivor.path.startswith(customer.path):
            raise ValidationError(
                {"survivor_id": _("A company cannot be merged into one of its own subsidiaries.")}
            )
    snapshot: dict[str, Any] = {
        "survivor": {f: to_json(getattr(survivor, f)) for f in SURVIVOR_FIELDS},
        "losers": {},
        "links": {},
        "relationships_moved": [],
        "relationships_deleted": [],
        "follows_moved": [],
        "follows_deleted": [],
        "children": [],
    }
    for loser in losers:
        snapshot["losers"][str(loser.pk)] = _row(loser)
        _move_links(loser, survivor, snapshot)
        _move_relationships(loser, survivor, snapshot)
        _move_follows(loser, survivor, snapshot)
        for child in Customer.objects.filter(parent=loser).order_by("pk"):
            snapshot["children"].append([child.pk, loser.pk])
            move_subtree(Customer, child, survivor)
    filled = {}
    for loser in losers:
        for name in SURVIVOR_FIELDS:
            if not getattr(survivor, name) and getattr(loser, name) and name not in filled:
                filled[name] = getattr(loser, name)
    Customer.objects.filter(pk__in=[c.pk for c in losers]).update(
        status=Customer.Status.MERGED, merged_into=survivor, uscc=None, updated_at=timezone.now()
    )
    for name, value in filled.items():
        setattr(survivor, name, value)
    snapshot["filled"] = {k: to_json(v) for k, v in filled.items()}
    survivor.save()
    record = MergeRecord.objects.create(
        survivor=survivor,
        losers=[c.pk for c in losers],
        snapshot=snapshot,
        reason=reason.strip()[:200],
        merged_by=actor.user,
    )
    audit_action(
        actor=actor,
        obj=survivor,
        verb="merge",
        changes={"merged": [c.pk for c in losers], "filled": sorted(filled)},
    )
    for loser in losers:
        audit_action(actor=actor, obj=loser, verb="merged_into", changes={"into": survivor.pk})
    search.reindex([survivor.pk, *[c.pk for c in losers]])
    publish(
        actor=actor,
        name="customers.merged",
        payload={
            "customer_id": survivor.pk,
            "merged": [c.pk for c in losers],
            "merge_id": record.pk,
        },
    )
    return record


def _move_links(loser: Customer, survivor: Customer, snapshot: dict[str, Any]) -> None:
    for label, field in MERGE_LINKS:
        model = apps.get_model(label)
        rows = model._default_manager.filter(**{field: loser})
        ids = list(rows.values_list("pk", flat=True))
        if ids:
            snapshot["links"].setdefault(f"{label}:{field}", {})[str(loser.pk)] = ids
            rows.update(**{field: survivor})


def _move_relationships(loser: Customer, survivor: Customer, snapshot: dict[str, Any]) -> None:
    kept = set(survivor.relationships.values_list("bu_id", flat=True))
    for rel in CustomerRelationship.objects.filter(customer=loser).order_by("pk"):
        if rel.bu_id in kept:
            # The survivor's relationship with this unit stays; this one is kept in the
            # snapshot (with its collaborators) to be recreated by an unmerge.
            snapshot["relationships_deleted"].append(
                {
                    "row": _row(rel),
                    "collaborators": [_row(c) for c in rel.collaborators.all()],
                }
            )
            rel.delete()
        else:
            snapshot["relationships_moved"].append([rel.pk, loser.pk])
            kept.add(rel.bu_id)
    CustomerRelationship.objects.filter(
        pk__in=[pk for pk, owner in snapshot["relationships_moved"] if owner == loser.pk]
    ).update(customer=survivor)


def _move_follows(loser: Customer, survivor: Customer, snapshot: dict[str, Any]) -> None:
    for follow in Follow.objects.filter(customer=loser).order_by("pk"):
        duplicate = Follow.objects.filter(
            customer=survivor, user_id=follow.user_id, bu_id=follow.bu_id
        ).exists()
        if duplicate:
            snapshot["follows_deleted"].append(_row(follow))
            follow.delete()
        else:
            snapshot["follows_moved"].append([follow.pk, loser.pk])
            Follow.objects.filter(pk=follow.pk).update(customer=survivor)


@transaction.atomic
def customer_unmerge(*, actor: Actor, merge_id: int) -> list[str]:
    """Put every merged record and link back. Returns the survivor's fields kept as they
    are because someone changed them after the merge."""
    actor.require("customers", "admin")
    record = MergeRecord.objects.select_for_update().filter(pk=merge_id).first()
    if record is None:
        raise NotFound()
    ensure_reach(actor, record.survivor, "customers", "admin")
    if record.unmerged_at:
        raise Conflict(_("This merge was already undone."), code="already_unmerged")
    limit = record.merged_at + dt.timedelta(days=settings.MERGE_RETENTION_DAYS)
    if timezone.now() > limit:
        raise Conflict(
            _("Merges can be undone for %(n)d days; this one is older.")
            % {"n": settings.MERGE_RETENTION_DAYS},
            code="retention_over",
        )
    snap = record.snapshot
    survivor = Customer.objects.select_for_update().get(pk=record.survivor_id)
    kept = []
    for name, value in snap.get("filled", {}).items():
        if to_json(getattr(survivor, name)) == value:
            setattr(survivor, name, _field_value(name, snap["survivor"].get(name)))
        else:
            kept.append(name)
    survivor.save()
    for loser_id, row in snap["losers"].items():
        Customer.objects.filter(pk=int(loser_id)).update(
            status=row["status"], merged_into=None, uscc=row["uscc"], updated_at=timezone.now()
        )
    for key, by_loser in snap["links"].items():
        label, field = key.split(":")
        model = apps.get_model(label)
        for loser_id, ids in by_loser.items():
            model._default_manager.filter(pk__in=ids, **{f"{field}_id": survivor.pk}).update(
                **{f"{field}_id": int(loser_id)}
            )
    for pk, loser_id in snap["relationships_moved"]:
        CustomerRelationship.objects.filter(pk=pk, customer=survivor).update(customer_id=loser_id)
    for item in snap["relationships_deleted"]:
        CustomerRelationship.objects.create(**_restorable(CustomerRelationship, item["row"]))
        for row in item["collaborators"]:
            Collaborator.objects.create(**_restorable(Collaborator, row))
    for pk, loser_id in snap["follows_moved"]:
        Follow.objects.filter(pk=pk, customer=survivor).update(customer_id=loser_id)
    for row in snap["follows_deleted"]:
        Follow.objects.create(**_restorable(Follow, row))
    for child_id, loser_id in snap["children"]:
        child = Customer.objects.filter(pk=child_id, parent=survivor).first()
        if child is not None:
            move_subtree(Customer, child, Customer.objects.get(pk=loser_id))
    record.unmerged_at, record.unmerged_by = timezone.now(), actor.user
    record.save(update_fields=["unmerged_at", "unmerged_by"])
    losers = [int(i) for i in snap["losers"]]
    audit_action(
        actor=actor, obj=survivor, verb="unmerge", changes={"restored": losers, "kept": kept}
    )
    search.reindex([survivor.pk, *losers])
    publish(
        actor=actor,
        name="customers.unmerged",
        payload={"customer_id": survivor.pk, "restored": losers, "merge_id": record.pk},
    )
    return kept


def _field_value(name: str, value: Any) -> Any:
    field = Customer._meta.get_field(name)
    return field.to_python(value) if value is not None else (None if field.null else "")


def _restorable(model: type[models.Model], row: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments that recreate a deleted row with its old primary key."""
    values = {}
    for field in model._meta.concrete_fields:
        if field.attname in row:
            value = row[field.attname]
            values[field.attname] = field.to_python(value) if value is not None else None
    return values
