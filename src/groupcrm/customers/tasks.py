"""Periodic jobs of the customer master: each calls a service."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from groupcrm.customers.digest import digest_send
from groupcrm.customers.services import pool_reclaim


@db_periodic_task(crontab(hour="1", minute="5"))
def reclaim_to_pool() -> int:
    """Return customers without follow-up for too long to their unit's public pool."""
    return pool_reclaim()


@db_periodic_task(crontab(hour="7", minute="30"))
def send_follow_digest() -> int:
    return digest_send()
