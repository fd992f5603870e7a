"""Periodic jobs of quotes: each calls a service."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from groupcrm.core.actor import Actor
from groupcrm.sales.quotes.services import quotes_expire


@db_periodic_task(crontab(hour="0", minute="20"))
def expire_quotes() -> int:
    """Approved and sent quotes whose validity ended yesterday become expired."""
    return quotes_expire(actor=Actor.system("quotes_expire"))
