"""Background jobs: each loads what it needs and calls a service."""

from __future__ import annotations

from django.core.management import call_command
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from groupcrm.core.events import outbox_drain


@db_task()
def dispatch_outbox_task() -> int:
    return outbox_drain()


@db_periodic_task(crontab(minute="*"))
def dispatch_outbox_sweep() -> int:
    """Catches events whose wake-up was lost (worker down, queue unreachable)."""
    return outbox_drain()


@db_periodic_task(crontab(hour="3", minute="17"))
def clear_expired_sessions() -> None:
    call_command("clearsessions")
