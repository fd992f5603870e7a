"""Background import jobs: load by id and call the service."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from groupcrm.integration.services import import_run


@db_task()
def run_import_task(job_id: int) -> int:
    return import_run(job_id).done_rows


@db_task()
def dedup_customers_task(user_id: int) -> dict[str, int]:
    from groupcrm.core.actor import Actor
    from groupcrm.integration.matching import dedup_customers
    from groupcrm.org.models import User

    return dedup_customers(actor=Actor(User.objects.get(pk=user_id), request_id="dedup"))


@db_periodic_task(crontab(hour="2", minute="30"))
def snapshot_data_quality() -> int:
    from groupcrm.integration.quality import quality_snapshot

    return quality_snapshot()
