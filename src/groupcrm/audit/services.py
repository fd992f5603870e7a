"""Writing change records. Services call these inside their transaction."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from groupcrm.audit.models import AccessRecord, ChangeRecord
from groupcrm.core.actor import Actor
from groupcrm.core.bulk import insert_rows

GENESIS = "0" * 64
# Arbitrary constant: the PostgreSQL advisory lock that serialises appends to the chain.
CHAIN_LOCK_KEY = 7_316_001


def to_json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


def snapshot(obj: models.Model) -> dict[str, Any]:
    """The audited fields of ``obj`` as JSON values (foreign keys as ids)."""
    values = {}
    for name in obj.audit_fields:  # type: ignore[attr-defined]
        field = obj._meta.get_field(name)
        values[name] = to_json(getattr(obj, field.attname))
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _object_bu_id(obj: models.Model, actor: Actor) -> int | None:
    from groupcrm.org.models import BusinessUnit

    if isinstance(obj, BusinessUnit):
        return obj.pk
    if bu_id := getattr(obj, "bu_id", None):
        return bu_id
    return actor.bu.pk if actor.bu else None


def subject_of(obj: models.Model) -> str:
    """``label:pk`` of what ``obj`` belongs to (its ``audit_subject()``), else ""."""
    subject = getattr(obj, "audit_subject", None)
    if subject is None:
        return ""
    target = subject()
    return f"{target._meta.label_lower}:{target.pk}"


def _chain_head() -> str:
    """The hash the next record chains to, with appends serialised until commit."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit records must be written inside the service's transaction")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    # On SQLite, transactions are IMMEDIATE: writers are already serialised.
    prev = ChangeRecord.objects.order_by("-id").values_list("hash", flat=True).first()
    return prev or GENESIS


def _record(
    actor: Actor, obj: models.Model, action: str, changes: dict[str, Any], verb: str, prev: str
) -> ChangeRecord:
    record = ChangeRecord(
        at=timezone.now(),
        actor_id=actor.user_id,
        actor_label=actor.label,
        bu_id=_object_bu_id(obj, actor),
        request_id=actor.request_id,
        ip=actor.ip,
        action=action,
        verb=verb,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        subject=subject_of(obj),
        changes=to_json(changes),
        prev_hash=prev,
    )
    record.hash = record.compute_hash()
    return record


def audit_record(
    *,
    actor: Actor,
    obj: models.Model,
    action: str,
    changes: dict[str, Any],
    verb: str = "",
) -> ChangeRecord:
    """Append one record to the chain. Must run inside the service's transaction so that
    the record exists exactly when the change does."""
    record = _record(actor, obj, action, changes, verb, _chain_head())
    record.save()
    return record


def audit_many(
    *, actor: Actor, entries: Iterable[tuple[models.Model, str, dict[str, Any]]], verb: str = ""
) -> int:
    """Append one record per (object, action, changes) in one chained INSERT: the bulk
    paths (imports) keep a record per row, as the single-row services do."""
    prev = _chain_head()
    records = []
    for obj, action, changes in entries:
        record = _record(actor, obj, action, changes, verb, prev)
        records.append(record)
        prev = record.hash
    insert_rows(records)
    return len(records)


def audit_create(*, actor: Actor, obj: models.Model, verb: str = "") -> ChangeRecord:
    return audit_record(
        actor=actor,
        obj=obj,
        action=ChangeRecord.Action.CREATE,
        changes={k: [None, v] for k, v in snapshot(obj).items()},
        verb=verb,
    )


def audit_update(
    *, actor: Actor, obj: models.Model, before: dict[str, Any], verb: str = ""
) -> ChangeRecord | None:
    """Record what changed since ``before`` (a snapshot); nothing when nothing changed."""
    changes = diff(before, snapshot(obj))
    if not changes:
        return None
    return audit_record(
        actor=actor, obj=obj, action=ChangeRecord.Action.UPDATE, changes=changes, verb=verb
    )


def audit_delete(*, actor: Actor, obj: models.Model, verb: str = "") -> ChangeRecord:
    changes = {k: [v, None] for k, v in snapshot(obj).items()}
    return audit_record(
        actor=actor, obj=obj, action=ChangeRecord.Action.DELETE, changes=changes, verb=verb
    )


def audit_action(
    *, actor: Actor, obj: models.Model, verb: str, changes: dict[str, Any] | None = None
) -> ChangeRecord:
    """A meaningful operation that is not a plain field change (login, token issued…)."""
    return audit_record(
        actor=actor, obj=obj, action=ChangeRecord.Action.ACTION, changes=changes or {}, verb=verb
    )


def audit_verify() -> tuple[int, ChangeRecord | None, str]:
    """Walk the chain in order. Returns (records checked, first broken record, why)."""
    prev = GENESIS
    checked = 0
    for record in ChangeRecord.objects.order_by("id").iterator(chunk_size=2000):
        if record.prev_hash != prev:
            return checked, record, "prev_hash does not match the previous record"
        if record.compute_hash() != record.hash:
            return checked, record, "content does not match its hash"
        prev = record.hash
        checked += 1
    return checked, None, ""


def access_record(
    *,
    actor: Actor,
    kind: str,
    object_type: str,
    object_id: str = "",
    object_repr: str = "",
    detail: str = "",
) -> AccessRecord:
    """Log a reveal of personal data or an export, in the caller's transaction."""
    return AccessRecord.objects.create(
        actor_id=actor.user_id,
        bu_id=actor.bu.pk if actor.bu else None,
        request_id=actor.request_id,
        ip=actor.ip,
        kind=kind,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        detail=detail[:300],
    )
