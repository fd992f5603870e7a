"""Reads on the audit trail."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from groupcrm.audit.models import AccessRecord, ChangeRecord
from groupcrm.core.actor import Actor
from groupcrm.org.selectors import unit_path


def change_record_list(
    *,
    actor: Actor,
    actor_id: int | None = None,
    bu_id: int | None = None,
    object_type: str = "",
    object_id: str = "",
    action: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[ChangeRecord]:
    records = ChangeRecord.objects.visible_to(actor, "view").select_related("actor", "bu")
    if actor_id:
        records = records.filter(actor_id=actor_id)
    if bu_id:
        records = records.filter(bu__path__startswith=unit_path(bu_id))
    if object_type:
        records = records.filter(object_type=object_type)
    if object_id:
        records = records.filter(object_id=object_id)
    if action:
        records = records.filter(action=action)
    tz = timezone.get_current_timezone()
    if date_from:
        records = records.filter(at__gte=datetime.combine(date_from, time.min, tz))
    if date_to:
        records = records.filter(at__lt=datetime.combine(date_to + timedelta(days=1), time.min, tz))
    return records.order_by("-id")


def object_history(*, obj: object) -> QuerySet[ChangeRecord]:
    """The history of an object the caller has already fetched through its scope."""
    return (
        ChangeRecord.objects.filter(
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),  # type: ignore[attr-defined]
        )
        .select_related("actor")
        .order_by("-id")
    )


def activity_by_day(*, actor: Actor, days: int = 14) -> list[tuple[date, int]]:
    """Change records per day for the last ``days`` days, zeros included."""
    today = timezone.localdate()
    start = today - timedelta(days=days - 1)
    since = datetime.combine(start, time.min, timezone.get_current_timezone())
    counts = dict(
        ChangeRecord.objects.visible_to(actor, "view")
        .filter(at__gte=since)
        .annotate(day=TruncDate("at"))
        .values_list("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return [
        (start + timedelta(days=i), counts.get(start + timedelta(days=i), 0)) for i in range(days)
    ]


def object_types(*, actor: Actor) -> list[str]:
    return list(
        ChangeRecord.objects.visible_to(actor, "view")
        .order_by("object_type")
        .values_list("object_type", flat=True)
        .distinct()
    )


def access_record_list(
    *, actor: Actor, kind: str = "", actor_id: int | None = None, object_id: str = ""
) -> QuerySet[AccessRecord]:
    """Reveals of personal data and exports in the viewer's audit scope (for the DPO)."""
    records = AccessRecord.objects.visible_to(actor, "view").select_related("actor", "bu")
    if kind:
        records = records.filter(kind=kind)
    if actor_id:
        records = records.filter(actor_id=actor_id)
    if object_id:
        records = records.filter(object_id=object_id)
    return records.order_by("-id")
