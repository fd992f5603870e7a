"""Background import jobs: load by id and call the service."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from groupcrm.integration.services import import_run


@db_task()
def run_import_task(job_id: int) -> int:
    return import_run(job_id).done_rows
