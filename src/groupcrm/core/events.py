"""Domain events through a transactional outbox (design.md §4.5).

``publish`` writes the event in the caller's transaction; after commit it asks the
worker to dispatch. ``outbox_dispatch`` (run by the worker, and every minute by a
periodic task in case a wake-up was lost) delivers each event to each subscriber at most
once in effect: a subscriber's work and its EventDelivery row commit together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from groupcrm.core.actor import Actor
from groupcrm.core.models import EventDelivery, OutboxEvent

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Subscriber:
    name: str
    event: str
    handle: Callable[[OutboxEvent], None]


SUBSCRIBERS: dict[str, list[Subscriber]] = {}


def subscriber(
    event: str,
) -> Callable[[Callable[[OutboxEvent], None]], Callable[[OutboxEvent], None]]:
    """Register ``func(event)`` for ``event``. Its name is its idempotency key: keep it."""

    def register(func: Callable[[OutboxEvent], None]) -> Callable[[OutboxEvent], None]:
        name = f"{func.__module__}.{func.__qualname__}"
        subs = SUBSCRIBERS.setdefault(event, [])
        if all(s.name != name for s in subs):
            subs.append(Subscriber(name, event, func))
        return func

    return register


def publish(*, actor: Actor, name: str, payload: dict[str, Any]) -> OutboxEvent:
    [event] = publish_many(actor=actor, events=[(name, payload)])
    return event


def publish_many(
    *, actor: Actor, events: Iterable[tuple[str, dict[str, Any]]]
) -> list[OutboxEvent]:
    """``publish`` for many events (name, payload) with one INSERT: the bulk paths."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("publish must be called inside the service's transaction")
    created = OutboxEvent.objects.bulk_create(
        OutboxEvent(name=name, payload=payload, actor_id=actor.user_id, request_id=actor.request_id)
        for name, payload in events
    )
    if created:
        # One wake-up per committed transaction, however many events it published: the
        # first callback clears the connection's flag and wakes the worker, the rest skip.
        connection = transaction.get_connection()
        connection.outbox_published = True  # type: ignore[attr-defined]
        transaction.on_commit(lambda: _wake_once(connection))
    return created


def _wake_once(connection: Any) -> None:
    if getattr(connection, "outbox_published", False):
        connection.outbox_published = False
        wake_worker()


def wake_worker() -> None:
    from groupcrm.core.tasks import dispatch_outbox_task

    try:
        dispatch_outbox_task()
    except Exception:  # the queue may be down: the periodic sweep delivers later
        log.warning("could not enqueue outbox dispatch; the periodic sweep will", exc_info=True)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 15 * 2 ** max(0, attempts - 1)))


def _claim(event_id: Any, now: Any) -> bool:
    """Take an event for LEASE with a conditional UPDATE: two workers never both win."""
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    return bool(
        OutboxEvent.objects.filter(due, pk=event_id, status=OutboxEvent.Status.PENDING).update(
            next_attempt_at=now + LEASE
        )
    )


def deliver(event: OutboxEvent) -> list[str]:
    """Run every subscriber that has not yet handled ``event``; return the errors."""
    done = set(event.deliveries.values_list("subscriber", flat=True))
    errors = []
    for sub in SUBSCRIBERS.get(event.name, []):
        if sub.name in done:
            continue
        try:
            with transaction.atomic():
                sub.handle(event)
                EventDelivery.objects.create(event=event, subscriber=sub.name)
        except IntegrityError:
            # Another worker delivered it meanwhile; our copy of the work rolled back.
            continue
        except Exception as exc:
            log.exception("subscriber %s failed on %s", sub.name, event.pk)
            errors.append(f"{sub.name}: {exc!r}")
    return errors


def outbox_drain(*, batch: int = 200) -> int:
    """Dispatch until no due event is left (one wake-up may stand for thousands)."""
    total = 0
    while (handled := outbox_dispatch(limit=batch)) == batch:
        total += handled
    return total + handled


def outbox_dispatch(*, limit: int = 200) -> int:
    """Deliver due events; returns how many were handled (delivered or given up)."""
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    ids = list(
        OutboxEvent.objects.filter(due, status=OutboxEvent.Status.PENDING)
        .order_by("occurred_at")
        .values_list("pk", flat=True)[:limit]
    )
    handled = 0
    for event_id in ids:
        if not _claim(event_id, now):
            continue
        event = OutboxEvent.objects.get(pk=event_id)
        errors = deliver(event)
        event.attempts += 1
        if not errors:
            event.status = OutboxEvent.Status.DONE
            event.delivered_at = timezone.now()
            event.last_error = ""
            handled += 1
        elif event.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            event.status = OutboxEvent.Status.DEAD
            event.last_error = "\n".join(errors)
            handled += 1
        else:
            event.next_attempt_at = timezone.now() + backoff(event.attempts)
            event.last_error = "\n".join(errors)
        event.save(
            update_fields=["status", "attempts", "next_attempt_at", "last_error", "delivered_at"]
        )
    return handled
