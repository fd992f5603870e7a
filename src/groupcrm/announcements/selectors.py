"""Reads on announcements.

``announcement_list`` is the management list (scoped by role); ``announcement_feed`` is
what a person is told: current announcements of their own units and every unit above.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from groupcrm.announcements.models import Announcement
from groupcrm.core.actor import Actor
from groupcrm.core.scoping import scoped_get


def announcement_list(
    *, actor: Actor, q: str = "", bu_id: int | None = None
) -> QuerySet[Announcement]:
    items = Announcement.objects.visible_to(actor, "view").select_related("bu", "owner")
    if q:
        items = items.filter(Q(title__icontains=q) | Q(body__icontains=q))
    if bu_id:
        items = items.filter(bu_id=bu_id)
    return items


def announcement_get(*, actor: Actor, pk: int, action: str = "view") -> Announcement:
    return scoped_get(Announcement, actor=actor, pk=pk, action=action)


def announcement_feed(*, actor: Actor, limit: int = 5) -> list[Announcement]:
    unit_ids = {uid for m in actor.memberships for uid in m.bu.ancestor_ids()}
    now = timezone.now()
    return list(
        Announcement.objects.filter(bu_id__in=unit_ids, publish_at__lte=now)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .select_related("bu", "owner")[:limit]
    )
