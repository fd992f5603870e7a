"""Background import and export jobs: load by id and call the service."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from groupcrm.integration.exports import export_cleanup, export_run
from groupcrm.integration.services import import_run


@db_task()
def run_import_task(job_id: int) -> int:
    return import_run(job_id).done_rows


@db_task()
def dedup_task(user_id: int, entity: str) -> dict[str, int]:
    """A batch dedup run over customers or contacts, as the steward who started it."""
    from groupcrm.core.actor import Actor
    from groupcrm.integration.matching import dedup_run
    from groupcrm.org.models import User

    actor = Actor(User.objects.get(pk=user_id), request_id="dedup")
    return dedup_run(actor=actor, entity=entity)


@db_periodic_task(crontab(hour="2", minute="30"))
def snapshot_data_quality() -> int:
    from groupcrm.integration.quality import quality_snapshot

    return quality_snapshot()


@db_task()
def run_export_task(job_id: int) -> int:
    return export_run(job_id).done_rows


@db_periodic_task(crontab(hour="4", minute="40"))
def remove_expired_exports() -> int:
    return export_cleanup()
