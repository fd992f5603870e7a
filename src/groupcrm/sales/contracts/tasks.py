"""Periodic jobs of contracts: each calls a service."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from groupcrm.sales.contracts.services import overdue_detect


@db_periodic_task(crontab(hour="6", minute="10"))
def detect_overdue_payments() -> dict[str, int]:
    """Mark instalments past due as overdue and remind their owners (every morning)."""
    return overdue_detect()
