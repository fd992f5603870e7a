"""Background exports of the customer and contact lists (issue 4): a job remembers the
list, its filters and who asked; the worker writes the file as that person (their scope,
their masking) in chunks, under a temporary name renamed only when complete, so that a
crash never leaves half a file offered for download. Files are kept
``EXPORT_RETENTION_DAYS`` days; the job then shows as expired."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.audit.models import AccessRecord, ChangeRecord
from groupcrm.audit.services import access_record, audit_record, snapshot
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from groupcrm.core.events import publish
from groupcrm.core.scoping import ensure_in_scope
from groupcrm.customers import export
from groupcrm.integration.models import ExportJob

log = logging.getLogger(__name__)
PART = ".part"


def export_dir() -> Path:
    path = Path(settings.VAR_DIR) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- reads -------------------------------------------------------------------------------


def export_job_list(*, actor: Actor) -> QuerySet[ExportJob]:
    """The actor's own exports: a file made with someone's scope is theirs alone."""
    return ExportJob.objects.visible_to(actor, "view").filter(owner_id=actor.user_id)


def export_job_get(*, actor: Actor, pk: int) -> ExportJob:
    job = export_job_list(actor=actor).filter(pk=pk).first() if str(pk).isdigit() else None
    if job is None:
        raise NotFound()
    return job


# --- writes ------------------------------------------------------------------------------


@transaction.atomic
def export_start(
    *, actor: Actor, entity: str, format: str, filters: object, run: bool = True
) -> ExportJob:
    """Check and queue an export of a list; the worker writes it (``run``) as ``actor``."""
    sheet = export.sheet_for(entity)
    actor.require(sheet.module, "export")
    export.check_format(format)
    clean = export.clean_filters(entity, filters)
    if actor.bu is None:
        raise PermissionDenied(_("Exports belong to a business unit: you have no membership."))
    job = ExportJob.objects.create(
        bu=actor.bu, owner=actor.user, entity=entity, format=format, filters=clean
    )
    ensure_in_scope(job, actor=actor, action="view")
    # The job needs a searched phone number to run; the audit trail keeps it masked.
    changes = {name: [None, value] for name, value in snapshot(job).items()}
    changes["filters"] = [None, export.masked_filters(clean)]
    audit_record(actor=actor, obj=job, action=ChangeRecord.Action.CREATE, changes=changes)
    publish(actor=actor, name="integration.export_queued", payload={"job_id": job.pk})
    if run:
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from groupcrm.integration.tasks import run_export_task

    run_export_task(job_id)


def _update(job: ExportJob, **values: object) -> None:
    for name, value in values.items():
        setattr(job, name, value)
    ExportJob.objects.filter(pk=job.pk).update(**values)


def export_run(job_id: int) -> ExportJob:
    """Write the job's file as the person who asked; a failure is kept on the job."""
    job = ExportJob.objects.select_related("owner").get(pk=job_id)
    if job.status == ExportJob.Status.DONE:
        return job
    actor = Actor(job.owner, request_id=f"export-{job.pk}")
    _update(job, status=ExportJob.Status.RUNNING, done_rows=0, error="")
    final = export_dir() / f"{uuid.uuid4().hex}.{job.format}"
    partial = final.with_name(f"{final.name}{PART}")
    try:
        sheet = export.sheet_for(job.entity)
        actor.require(sheet.module, "export")
        ids = sheet.ids(actor, job.filters)
        _update(job, total_rows=len(ids))
        rows = export.export_rows(actor, sheet, ids, lambda done: _update(job, done_rows=done))
        export.write_file(sheet, rows, job.format, partial)
        partial.rename(final)
        with transaction.atomic():
            _update(
                job,
                status=ExportJob.Status.DONE,
                done_rows=len(ids),
                stored_as=str(final),
                finished_at=timezone.now(),
            )
            export.export_logged(
                actor=actor,
                sheet=sheet,
                fmt=job.format,
                rows=len(ids),
                filters=job.filters,
                job=str(job.pk),
            )
    except Exception as exc:
        # No half file, and no whole file without its job saying so, is ever left.
        partial.unlink(missing_ok=True)
        final.unlink(missing_ok=True)
        if isinstance(exc, DomainError):
            error = str(exc.message)
        else:
            log.exception("export %s failed", job.pk)
            error = _("The export stopped because of an internal error. Please try again.")
        _update(job, status=ExportJob.Status.FAILED, error=error, finished_at=timezone.now())
    return job


def export_file(*, actor: Actor, pk: int) -> tuple[Path, str, str]:
    """The finished file of the actor's own export (path, file name, ASCII fallback);
    handing it out is logged like any export."""
    job = export_job_get(actor=actor, pk=pk)
    if job.expired:
        raise Conflict(
            _("This export has expired: its file was deleted. Export the list again."),
            code="export_expired",
        )
    path = Path(job.stored_as) if job.stored_as else None
    if job.status != ExportJob.Status.DONE or path is None or not path.is_file():
        raise Conflict(_("The export is not ready yet."), code="export_not_ready")
    sheet = export.sheet_for(job.entity)
    with transaction.atomic():
        access_record(
            actor=actor,
            kind=AccessRecord.Kind.EXPORT,
            object_type="integration.exportjob",
            object_id=str(job.pk),
            object_repr=str(job),
            detail="download",
        )
    return (
        path,
        export.filename(sheet, job.format, job.created_at),
        export.filename(sheet, job.format, job.created_at, ascii_only=True),
    )


def export_cleanup(*, now: dt.datetime | None = None) -> int:
    """Delete files older than the retention period (and leftovers of crashed runs);
    their jobs show as expired. Returns how many jobs expired."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.EXPORT_RETENTION_DAYS)
    old = list(
        ExportJob.objects.filter(finished_at__lt=cutoff)
        .exclude(stored_as="")
        .values_list("pk", "stored_as")
    )
    for _pk, stored_as in old:
        Path(stored_as).unlink(missing_ok=True)
    ExportJob.objects.filter(pk__in=[pk for pk, _stored in old]).update(stored_as="")
    for leftover in export_dir().glob(f"*{PART}"):
        if leftover.stat().st_mtime < cutoff.timestamp():
            leftover.unlink(missing_ok=True)
    return len(old)
