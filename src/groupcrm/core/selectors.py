"""Reads on the cross-cutting tables."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from groupcrm.core.actor import Actor
from groupcrm.core.models import Notification, OutboxEvent, SavedView


def notification_list(*, actor: Actor, unread: bool = False) -> QuerySet[Notification]:
    items = Notification.objects.filter(user_id=actor.user_id)
    return items.filter(read_at__isnull=True) if unread else items


def unread_count(*, actor: Actor) -> int:
    return Notification.objects.filter(user_id=actor.user_id, read_at__isnull=True).count()


def outbox_list(*, actor: Actor, status: str = "") -> QuerySet[OutboxEvent]:
    actor.require("system", "admin")
    events = OutboxEvent.objects.select_related("actor").order_by("-occurred_at")
    return events.filter(status=status) if status else events


def outbox_status_counts(*, actor: Actor) -> dict[str, int]:
    actor.require("system", "admin")
    return dict(
        OutboxEvent.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )


def saved_view_list(*, actor: Actor, page: str) -> QuerySet[SavedView]:
    return SavedView.objects.filter(user_id=actor.user_id, page=page)
