"""Writes on the cross-cutting tables: notifications and dead-letter retries."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.audit.services import audit_action
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, NotFound, ValidationError
from groupcrm.core.events import wake_worker
from groupcrm.core.models import Notification, OutboxEvent, SavedView


def notification_create(
    *, user_id: int, title: str, body: str = "", link: str = "", event: OutboxEvent | None = None
) -> Notification:
    """Idempotent per (user, event): a redelivered event notifies once."""
    if event is None:
        return Notification.objects.create(user_id=user_id, title=title, body=body, link=link)
    notification, _created = Notification.objects.get_or_create(
        user_id=user_id, event=event, defaults={"title": title, "body": body, "link": link}
    )
    return notification


@transaction.atomic
def notification_mark_read(*, actor: Actor, pk: int | None = None) -> int:
    """Mark one (or, without ``pk``, all) of the actor's own notifications read."""
    unread = Notification.objects.filter(user_id=actor.user_id, read_at__isnull=True)
    if pk is not None:
        if not Notification.objects.filter(user_id=actor.user_id, pk=pk).exists():
            raise NotFound()
        unread = unread.filter(pk=pk)
    return unread.update(read_at=timezone.now())


@transaction.atomic
def outbox_retry(*, actor: Actor, event_id: str) -> OutboxEvent:
    actor.require("system", "admin")
    try:
        event = OutboxEvent.objects.select_for_update().get(pk=event_id)
    except (OutboxEvent.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if event.status != OutboxEvent.Status.DEAD:
        raise Conflict(_("Only dead-letter events can be retried."))
    event.status = OutboxEvent.Status.PENDING
    event.attempts = 0
    event.next_attempt_at = None
    event.save(update_fields=["status", "attempts", "next_attempt_at"])
    audit_action(
        actor=actor, obj=event, verb="outbox_retry", changes={"status": ["dead", "pending"]}
    )
    transaction.on_commit(wake_worker)
    return event


@transaction.atomic
def saved_view_save(*, actor: Actor, page: str, name: str, query: str) -> SavedView:
    """Save (or overwrite, by name) the actor's filter of a list page."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("This field is required.")})
    if len(name) > 60:
        raise ValidationError({"name": _("At most 60 characters.")})
    if len(query) > 1000:
        raise ValidationError({"query": _("These filters are too long to save.")})
    view, _created = SavedView.objects.update_or_create(
        user_id=actor.user_id, page=page, name=name, defaults={"query": query.lstrip("?")}
    )
    return view


@transaction.atomic
def saved_view_delete(*, actor: Actor, pk: int) -> None:
    if not SavedView.objects.filter(user_id=actor.user_id, pk=pk).delete()[0]:
        raise NotFound()
