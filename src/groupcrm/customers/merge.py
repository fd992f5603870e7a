"""Merging duplicate customers into one survivor, and undoing it (unmerge).

A merge re-points everything attached to the merged records (contacts, relationships,
follow-ups, follows, subsidiaries, source records, and whatever later modules register
with ``register_merge_link``), fills the survivor's empty fields from them, marks them
``merged``, and keeps in a ``MergeRecord`` exactly what moved, so that an unmerge within
``MERGE_RETENTION_DAYS`` puts every record and link back. Everything is audited.

Contacts merge the same way (``contact_merge``/``contact_unmerge``), recorded in the same
``MergeRecord`` (its ``survivor`` is then the surviving contact's customer and its snapshot
says ``"entity": "contacts"``). Contact has no "merged" state, so a merged contact is
deleted once everything pointing at it has moved; its row (personal fields still
encrypted) stays in the snapshot and an unmerge recreates it with the same id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.audit.services import audit_action, to_json
from groupcrm.core import pii
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, NotFound, ValidationError
from groupcrm.core.events import publish
from groupcrm.core.tree import move_subtree
from groupcrm.customers import search
from groupcrm.customers.models import (
    Collaborator,
    Contact,
    Customer,
    CustomerRelationship,
    Follow,
    MergeRecord,
)
from groupcrm.customers.services import derive_customer, ensure_steward, index_contact

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


# Called in the merge's transaction with (survivor, {field filled: id of the merged record
# it came from}, snapshot), where a hook keeps what its undo needs; and in the unmerge's
# with (survivor, the filled fields put back, snapshot).
MergeHook = Callable[[Customer, dict[str, int], dict[str, Any]], None]
UnmergeHook = Callable[[Customer, list[str], dict[str, Any]], None]
MERGE_HOOKS: list[tuple[MergeHook, UnmergeHook]] = []


def register_merge_hook(merged: MergeHook, unmerged: UnmergeHook) -> None:
    """Later modules follow the values a merge fills in (integration: their provenance)."""
    if (merged, unmerged) not in MERGE_HOOKS:
        MERGE_HOOKS.append((merged, unmerged))


def _row(obj: models.Model) -> dict[str, Any]:
    """A row as JSON for a snapshot; encrypted fields stay encrypted in it."""
    return {f.attname: _stored(f, getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def _stored(field: models.Field, value: Any) -> Any:
    if isinstance(field, pii.EncryptedTextField):
        return pii.encrypt(value) if value else value
    return to_json(value)


def _loaded(field: models.Field, value: Any) -> Any:
    """The Python value of a snapshot value written by ``_stored``."""
    if value is None:
        return None
    if isinstance(field, pii.EncryptedTextField):
        return pii.decrypt(value) if value else value
    return field.to_python(value)


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
        ensure_steward(actor, customer)
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
    filled, filled_from = {}, {}
    for loser in losers:
        for name in SURVIVOR_FIELDS:
            if not getattr(survivor, name) and getattr(loser, name) and name not in filled:
                filled[name], filled_from[name] = getattr(loser, name), loser.pk
    Customer.objects.filter(pk__in=[c.pk for c in losers]).update(
        status=Customer.Status.MERGED, merged_into=survivor, uscc=None, updated_at=timezone.now()
    )
    for name, value in filled.items():
        setattr(survivor, name, value)
    snapshot["filled"] = {k: to_json(v) for k, v in filled.items()}
    derive_customer(survivor)  # the filled gaps raise its data quality
    survivor.save()
    for merged, _unmerged in MERGE_HOOKS:
        merged(survivor, filled_from, snapshot)
    record = _merge_recorded(actor, survivor, survivor, losers, snapshot, reason, filled)
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
            try:
                with transaction.atomic():
                    rows.update(**{field: survivor})
            except IntegrityError:
                # A row unique per customer (an open ownership conflict per group and unit
                # pair) that both records have: someone must settle one first.
                raise Conflict(
                    _(
                        "%(name)s and the record kept both have %(rows)s that may exist "
                        "only once; settle them before merging."
                    )
                    % {"rows": model._meta.verbose_name_plural, "name": loser.legal_name},
                    code="merge_link_clash",
                ) from None


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
    record = _undoable(actor, merge_id)
    snap = record.snapshot
    if snap.get("entity") == CONTACTS:
        # The customer page lists every merge into the customer, its contacts' too.
        return contact_unmerge(actor=actor, merge_id=merge_id)
    survivor = Customer.objects.select_for_update().get(pk=record.survivor_id)
    kept = []
    for name, value in snap.get("filled", {}).items():
        if to_json(getattr(survivor, name)) == value:
            setattr(survivor, name, _field_value(name, snap["survivor"].get(name)))
        else:
            kept.append(name)
    derive_customer(survivor)
    survivor.save()
    restored = [name for name in snap.get("filled", {}) if name not in kept]
    for _merged, unmerged in MERGE_HOOKS:
        unmerged(survivor, restored, snap)
    for loser_id, row in snap["losers"].items():
        _loser_restored(int(loser_id), row)
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
        _recreate(CustomerRelationship, item["row"])
        for row in item["collaborators"]:
            _recreate(Collaborator, row)
    for pk, loser_id in snap["follows_moved"]:
        Follow.objects.filter(pk=pk, customer=survivor).update(customer_id=loser_id)
    for row in snap["follows_deleted"]:
        _recreate(Follow, row)
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


def _loser_restored(loser_id: int, row: dict[str, Any]) -> None:
    """Make a merged record active again with its credit code, which the merge cleared and
    another record may have taken since: then a 409 naming that record, never a 500 (the
    caller's transaction undoes whatever the unmerge wrote before)."""
    try:
        with transaction.atomic():
            Customer.objects.filter(pk=loser_id).update(
                status=row["status"], merged_into=None, uscc=row["uscc"], updated_at=timezone.now()
            )
    except IntegrityError:
        holder = Customer.objects.filter(uscc=row["uscc"]).first() if row["uscc"] else None
        if holder is None:
            raise
        raise Conflict(
            _(
                "The credit code %(uscc)s of %(name)s is now used by %(holder)s; change one "
                "of them before undoing this merge."
            )
            % {"uscc": row["uscc"], "name": row["legal_name"], "holder": holder.legal_name},
            code="uscc_taken",
            extra={"customer_id": loser_id, "uscc": row["uscc"], "holder_id": holder.pk},
        ) from None


def _merge_recorded(
    actor: Actor,
    customer: Customer,
    survivor: models.Model,
    losers: list[Any],
    snapshot: dict[str, Any],
    reason: str,
    filled: dict[str, Any],
) -> MergeRecord:
    """The merge record (kept on ``customer``, what an unmerge reads) and the survivor's
    audit record naming what merged into it and which of its fields were filled."""
    record = MergeRecord.objects.create(
        survivor=customer,
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
    return record


def _undoable(actor: Actor, merge_id: int) -> MergeRecord:
    """The merge, locked, if the actor may undo it and it still can be undone."""
    actor.require("customers", "admin")
    record = MergeRecord.objects.select_for_update().filter(pk=merge_id).first()
    if record is None:
        raise NotFound()
    if record.unmerged_at:
        raise Conflict(_("This merge was already undone."), code="already_unmerged")
    # Locked like a merge locks it, so a merge of the survivor cannot slip in meanwhile.
    status = Customer.objects.select_for_update().values_list("status", flat=True)
    if status.get(pk=record.survivor_id) == Customer.Status.MERGED:
        # Its links have moved on to that other record: undoing this one would put
        # nothing back (contacts merged here would come back on a merged record). Said
        # before stewardship: nobody stewards a merged record (it has no relationship).
        raise Conflict(
            _(
                "The record kept by this merge was merged into another since; "
                "undo that merge first."
            ),
            code="survivor_merged",
        )
    ensure_steward(actor, record.survivor)
    limit = record.merged_at + dt.timedelta(days=settings.MERGE_RETENTION_DAYS)
    if timezone.now() > limit:
        raise Conflict(
            _("Merges can be undone for %(n)d days; this one is older.")
            % {"n": settings.MERGE_RETENTION_DAYS},
            code="retention_over",
        )
    return record


def _field_value(name: str, value: Any) -> Any:
    field = Customer._meta.get_field(name)
    return field.to_python(value) if value is not None else (None if field.null else "")


def _restorable(model: type[models.Model], row: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments that recreate a deleted row with its old primary key."""
    return {
        field.attname: _loaded(field, row[field.attname])
        for field in model._meta.concrete_fields
        if field.attname in row
    }


# --- contacts ----------------------------------------------------------------------------

CONTACTS = "contacts"
# Fields the surviving contact takes from a merged one when its own are empty.
CONTACT_FILL_FIELDS = (
    "title",
    "department",
    "mobile",
    "phone",
    "email",
    "wechat_id",
    "id_number",
    "birthday",
    "birthday_lunar",
    "preferred_channel",
)


def _contact_relations() -> tuple[list[models.ManyToOneRel], list[models.ManyToManyRel]]:
    """Every foreign key and many-to-many pointing at Contact, found from the models
    themselves: a merged contact is deleted, so a link forgotten here would be deleted
    with it (CASCADE) or cut (SET_NULL)."""
    keys, many = [], []
    # Hidden relations too: candidate pairs point here with related_name="+".
    for rel in Contact._meta.get_fields(include_hidden=True):
        if not rel.auto_created or rel.concrete:
            continue
        if rel.many_to_many:
            many.append(rel)
        elif rel.one_to_many and not rel.related_model._meta.auto_created:
            keys.append(rel)  # a many-to-many's own through table is handled above
    return keys, many


def _describes_contacts(model: type[models.Model]) -> bool:
    """A row with two keys to contacts (a candidate pair) is about the merged contact
    itself rather than attached to it: re-pointing it would pair the survivor with
    itself, so it is kept in the snapshot and removed instead."""
    keys = [f for f in model._meta.concrete_fields if f.is_relation and f.related_model is Contact]
    return len(keys) > 1


@transaction.atomic
def contact_merge(
    *, actor: Actor, survivor_id: int, loser_ids: list[int], reason: str = ""
) -> MergeRecord:
    """Merge duplicate contacts (one person) into the survivor: everything that points at
    the others moves to it, it fills its empty fields from them, and they are removed;
    ``contact_unmerge`` puts everything back."""
    actor.require("customers", "admin")
    actor.require("contacts", "change")
    survivor = (
        Contact.objects.select_for_update().select_related("customer").filter(pk=survivor_id)
    ).first()
    if survivor is None:
        raise ValidationError({"survivor_id": _("Choose an existing contact to keep.")})
    wanted = set(loser_ids) - {survivor_id}
    losers = list(
        Contact.objects.select_for_update()
        .select_related("customer")
        .filter(pk__in=wanted)
        .order_by("pk")
    )
    if not losers or len(losers) != len(wanted):
        raise ValidationError(
            {"loser_ids": _("Choose one or more other existing contacts to merge into it.")}
        )
    for contact in [survivor, *losers]:
        ensure_steward(actor, contact.customer)
    snapshot: dict[str, Any] = {
        "entity": CONTACTS,
        "survivor_contact": survivor.pk,
        "losers": {str(c.pk): _row(c) for c in losers},
        "links": {},
        "m2m_moved": {},
        "m2m_deleted": {},
        "dropped": {},
    }
    keys, many = _contact_relations()
    for loser in losers:
        for rel in keys:
            _move_contact_key(rel, loser, survivor, snapshot)
        for rel in many:
            _move_contact_many(rel, loser, survivor, snapshot)
    fields = {f.name: f for f in Contact._meta.concrete_fields}
    filled: dict[str, Any] = {}
    for loser in losers:
        for name in CONTACT_FILL_FIELDS:
            if name == "birthday_lunar":
                continue  # travels with the birthday it describes
            if not getattr(survivor, name) and getattr(loser, name) and name not in filled:
                filled[name] = getattr(loser, name)
                if name == "birthday":
                    filled["birthday_lunar"] = loser.birthday_lunar
    snapshot["survivor"] = {n: _stored(fields[n], getattr(survivor, n)) for n in filled}
    snapshot["filled"] = {n: _stored(fields[n], v) for n, v in filled.items()}
    for name, value in filled.items():
        setattr(survivor, name, value)
    index_contact(survivor)
    survivor.save()
    for loser in losers:
        audit_action(actor=actor, obj=loser, verb="merged_into", changes={"into": survivor.pk})
    Contact.objects.filter(pk__in=[c.pk for c in losers]).delete()
    # Which personal fields were filled is named; their values never enter the trail.
    record = _merge_recorded(actor, survivor.customer, survivor, losers, snapshot, reason, filled)
    search.reindex({survivor.customer_id, *(c.customer_id for c in losers)})
    publish(
        actor=actor,
        name="customers.contacts_merged",
        payload={
            "customer_id": survivor.customer_id,
            "contact_id": survivor.pk,
            "merged": [c.pk for c in losers],
            "merge_id": record.pk,
        },
    )
    return record


def _move_contact_key(
    rel: models.ManyToOneRel, loser: Contact, survivor: Contact, snapshot: dict[str, Any]
) -> None:
    model, field = rel.related_model, rel.field.name
    label = model._meta.label
    rows = model._default_manager.filter(**{field: loser})
    if _describes_contacts(model):
        dropped = snapshot["dropped"].setdefault(label, [])
        known = {row["id"] for row in dropped}
        dropped.extend(_row(row) for row in rows.order_by("pk") if row.pk not in known)
        rows.delete()
        return
    ids = list(rows.values_list("pk", flat=True))
    if ids:
        snapshot["links"].setdefault(f"{label}:{field}", {})[str(loser.pk)] = ids
        rows.update(**{field: survivor})


def _move_contact_many(
    rel: models.ManyToManyRel, loser: Contact, survivor: Contact, snapshot: dict[str, Any]
) -> None:
    """Re-point the through rows; where the owner (a follow-up) already names the
    survivor, the loser's row goes and the snapshot remembers it."""
    through = rel.through
    owner, target = rel.field.m2m_field_name(), rel.field.m2m_reverse_field_name()
    key = f"{rel.related_model._meta.label}:{rel.field.name}"
    rows = through._default_manager.filter(**{target: loser})
    with_survivor = through._default_manager.filter(**{target: survivor}).values(owner)
    deleted = list(
        rows.filter(**{f"{owner}__in": with_survivor}).values_list(f"{owner}_id", flat=True)
    )
    moved = list(
        rows.exclude(**{f"{owner}__in": with_survivor}).values_list(f"{owner}_id", flat=True)
    )
    if deleted:
        snapshot["m2m_deleted"].setdefault(key, {})[str(loser.pk)] = sorted(deleted)
        rows.filter(**{f"{owner}_id__in": deleted}).delete()
    if moved:
        snapshot["m2m_moved"].setdefault(key, {})[str(loser.pk)] = sorted(moved)
        rows.filter(**{f"{owner}_id__in": moved}).update(**{target: survivor})


@transaction.atomic
def contact_unmerge(*, actor: Actor, merge_id: int) -> list[str]:
    """Recreate the merged contacts with their ids and put every link back. Returns the
    survivor's fields kept as they are because someone changed them after the merge."""
    record = _undoable(actor, merge_id)
    snap = record.snapshot
    if snap.get("entity") != CONTACTS:
        raise NotFound()
    survivor = Contact.objects.select_for_update().filter(pk=snap["survivor_contact"]).first()
    if survivor is None:
        raise Conflict(
            _("The contact that was kept has been deleted since; the merge cannot be undone."),
            code="survivor_gone",
        )
    fields = {f.name: f for f in Contact._meta.concrete_fields}
    kept = []
    for name, value in snap["filled"].items():
        if getattr(survivor, name) == _loaded(fields[name], value):
            setattr(survivor, name, _loaded(fields[name], snap["survivor"][name]))
        else:
            kept.append(name)
    index_contact(survivor)
    survivor.save()
    restored = [_recreate(Contact, row) for row in snap["losers"].values()]
    _restore_contact_links(snap, survivor.pk)
    record.unmerged_at, record.unmerged_by = timezone.now(), actor.user
    record.save(update_fields=["unmerged_at", "unmerged_by"])
    losers = [c.pk for c in restored]
    audit_action(
        actor=actor, obj=survivor, verb="unmerge", changes={"restored": losers, "kept": kept}
    )
    search.reindex({survivor.customer_id, *(c.customer_id for c in restored)})
    publish(
        actor=actor,
        name="customers.contacts_unmerged",
        payload={
            "customer_id": survivor.customer_id,
            "contact_id": survivor.pk,
            "restored": losers,
            "merge_id": record.pk,
        },
    )
    return kept


def _restore_contact_links(snap: dict[str, Any], survivor_id: int) -> None:
    for key, by_loser in snap["links"].items():
        label, field = key.split(":")
        model = apps.get_model(label)
        for loser_id, ids in by_loser.items():
            model._default_manager.filter(pk__in=ids, **{f"{field}_id": survivor_id}).update(
                **{f"{field}_id": int(loser_id)}
            )
    for moved, key, by_loser in [
        *((True, k, v) for k, v in snap["m2m_moved"].items()),
        *((False, k, v) for k, v in snap["m2m_deleted"].items()),
    ]:
        label, name = key.split(":")
        field = apps.get_model(label)._meta.get_field(name)
        through = field.remote_field.through
        owner, target = field.m2m_field_name(), field.m2m_reverse_field_name()
        for loser_id, owner_ids in by_loser.items():
            if moved:
                through._default_manager.filter(
                    **{f"{owner}_id__in": owner_ids, f"{target}_id": survivor_id}
                ).update(**{f"{target}_id": int(loser_id)})
            else:
                through._default_manager.bulk_create(
                    [
                        through(**{f"{owner}_id": o, f"{target}_id": int(loser_id)})
                        for o in owner_ids
                    ]
                )
    existing = set(
        Contact.objects.filter(
            pk__in={
                row[f.attname]
                for label, rows in snap["dropped"].items()
                for row in rows
                for f in apps.get_model(label)._meta.concrete_fields
                if f.is_relation and f.related_model is Contact
            }
        ).values_list("pk", flat=True)
    )
    for label, rows in snap["dropped"].items():
        model = apps.get_model(label)
        contact_keys = [
            f.attname
            for f in model._meta.concrete_fields
            if f.is_relation and f.related_model is Contact
        ]
        # A pair whose other contact was deleted meanwhile has nothing left to describe.
        for row in rows:
            if all(row[k] in existing for k in contact_keys):
                _recreate(model, row)


def _recreate(model: type[models.Model], row: dict[str, Any]) -> models.Model:
    """Recreate a deleted row exactly, timestamps included (which ``save`` would set)."""
    obj = model(**_restorable(model, row))
    obj.save(force_insert=True)
    stamps = {
        f.attname: _loaded(f, row[f.attname])
        for f in model._meta.concrete_fields
        if (getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)) and f.attname in row
    }
    if stamps:
        model._default_manager.filter(pk=obj.pk).update(**stamps)
    return obj
