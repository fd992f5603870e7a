"""Imports: every row goes through the customer master's own services (the same checks
as manual entry), in batches that commit together with the job's progress, so that a
job killed in the middle resumes after its last committed batch and nothing is written
twice. Re-importing a file updates instead of duplicating: rows are matched by
(source, external id), then by credit code."""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import uuid
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.audit.models import AccessRecord
from groupcrm.audit.services import access_record, audit_create
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from groupcrm.core.events import publish
from groupcrm.core.scoping import ensure_in_scope
from groupcrm.customers import services as customers
from groupcrm.integration import (
    bulk,
    contacts,
    followups,
    relationships,
    selectors,
    survivorship,
)
from groupcrm.integration import mapping as mappings
from groupcrm.integration.models import ImportJob, ImportSource, RowIssue, SourceRecord
from groupcrm.integration.reader import (
    FileError,
    open_table,
    uncomputed_columns,
    uncomputed_message,
)
from groupcrm.org.models import BusinessUnit

BATCH = 1000
# Arbitrary constant: the PostgreSQL advisory lock space of running import jobs.
JOB_LOCK_KEY = 7_316_002
# Larger uploads are counted by the job, not in the upload request (gunicorn's timeout).
COUNT_IN_REQUEST = 50 * 1024 * 1024
PROGRESS_FIELDS = ("total_rows", "done_rows", "created", "updated", "matched", "rejected")


def import_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


@transaction.atomic
def source_create(
    *, actor: Actor, name: str, kind: str = "generic", trust: int = 50
) -> ImportSource:
    actor.require("integration", "admin")
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("This field is required.")})
    if kind not in ImportSource.Kind.values:
        raise ValidationError({"kind": _("Choose one of the offered values.")})
    if ImportSource.objects.filter(name=name).exists():
        raise Conflict(_("A source with this name already exists."), code="source_exists")
    source = ImportSource.objects.create(name=name, kind=kind, trust=trust)
    audit_create(actor=actor, obj=source)
    publish(actor=actor, name="integration.source_created", payload={"source_id": source.pk})
    return source


@transaction.atomic
def import_start(
    *,
    actor: Actor,
    source_id: int,
    bu_id: int,
    entity: str,
    path: Path,
    filename: str,
    dry_run: bool = False,
    mapping: dict[str, str] | None = None,
    run: bool = True,
) -> ImportJob:
    """Check the file and its mapping, keep a copy, and queue the job (``run``)."""
    actor.require("integration", "create")
    source = selectors.import_source_for(source_id=source_id, entity=entity)
    unit = BusinessUnit.objects.filter(pk=bu_id, is_active=True).first()
    if unit is None:
        raise ValidationError({"bu_id": _("Choose an active business unit.")})
    # What the rows write is checked again per batch; refusing here saves a failed job.
    if entity == ImportJob.Entity.RELATIONSHIPS:
        relationships.require(actor, unit)
    else:
        actor.require(entity, "create")
    table, _first = selectors.import_table(path)
    total = 0  # counted by the job before it writes anything
    if path.stat().st_size <= COUNT_IN_REQUEST:
        try:
            # Read every row once now: for progress and the ETA, and so that a file
            # that turns unreadable after its first megabyte is refused at once.
            total = 1 + sum(1 for _row in table.rows)
        except FileError as exc:
            raise ValidationError({"file": str(exc)}) from None
    chosen = mapping or mappings.mapping_for(source, entity, table.headers)
    problems = mappings.check(chosen, table.headers, entity)
    if problems:
        raise ValidationError({"mapping": problems}, extra={"headers": table.headers})
    stored = import_dir() / f"{uuid.uuid4().hex}{path.suffix.lower()}"
    shutil.copyfile(path, stored)
    job = ImportJob.objects.create(
        bu=unit,
        owner=actor.user,
        source=source,
        entity=entity,
        filename=filename[:200],
        stored_as=str(stored),
        encoding=table.encoding,
        mapping=chosen,
        headers=table.headers,
        dry_run=dry_run,
        total_rows=total,
    )
    ensure_in_scope(job, actor=actor, action="create")
    if not dry_run and source.mappings.get(entity) != chosen:
        source.mappings = {**source.mappings, entity: chosen}
        source.save(update_fields=["mappings"])
    audit_create(actor=actor, obj=job)
    publish(actor=actor, name="integration.import_queued", payload={"job_id": job.pk})
    if run:
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from groupcrm.integration.tasks import run_import_task

    run_import_task(job_id)


class _DryRun(Exception):
    """Raised to roll a dry run back after it went through every row."""


def import_run(job_id: int, *, progress: Any = None) -> ImportJob:
    """Run (or resume) a job. ``progress(job)`` is called after each committed batch.
    A job another worker is running already is left to it."""
    job = ImportJob.objects.select_related("source", "bu", "owner").get(pk=job_id)
    if job.status == ImportJob.Status.DONE:
        return job
    with job_lock(job) as mine:
        if not mine:
            return job
        return _run(job, progress)


@contextlib.contextmanager
def job_lock(job: ImportJob) -> Iterator[bool]:
    """Whether this process may run the job: one runner at a time, released when the
    runner ends, however it ends (a killed worker's job can be resumed at once).
    PostgreSQL: a session advisory lock (per database), good across machines; SQLite
    (one machine): an exclusive lock on a file beside the job's copy of the upload, whose
    name is unique, so two databases sharing a data folder never share a lock."""
    job_id = job.pk
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [JOB_LOCK_KEY, job_id])
            mine = cursor.fetchone()[0]
        try:
            yield mine
        finally:
            if mine:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [JOB_LOCK_KEY, job_id])
        return
    with Path(f"{job.stored_as}.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def _run(job: ImportJob, progress: Any) -> ImportJob:
    actor = Actor(job.owner, request_id=f"import-{job.pk}")
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, started_at=job.started_at or timezone.now(), error=""
    )
    try:
        if not job.total_rows:
            # A large upload is read through here, before anything is written: a row
            # in another encoding fails the job cleanly.
            job.total_rows = sum(1 for _row in open_table(Path(job.stored_as)).rows)
            ImportJob.objects.filter(pk=job.pk).update(total_rows=job.total_rows)
        table = open_table(Path(job.stored_as))
        if job.dry_run:
            issues: list[RowIssue] = []
            try:
                with transaction.atomic():
                    _run_rows(job, actor, table.rows, issues, progress)
                    raise _DryRun
            except _DryRun:
                pass
            RowIssue.objects.filter(job=job).delete()
            RowIssue.objects.bulk_create(issues)
            ImportJob.objects.filter(pk=job.pk).update(
                **{f: getattr(job, f) for f in PROGRESS_FIELDS},
            )
        else:
            _run_rows(job, actor, table.rows, None, progress)
            if job.entity == ImportJob.Entity.CUSTOMERS:
                _link_parents(job, actor)
    except (FileError, DomainError) as exc:
        # What was committed stays (whole batches); the job says why it stopped and
        # can be resumed after the cause is fixed.
        message = str(exc) if isinstance(exc, FileError) else _issue(job, 0, {}, exc).reason
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, error=message)
        raise ValidationError({"file": message}) from None
    except Exception:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED,
            error=_("The import stopped on an internal error; resume it to go on."),
        )
        raise
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE, finished_at=timezone.now()
    )
    if not job.dry_run:
        # The copy of the upload is no longer needed (a dry run's is: "import for real").
        Path(job.stored_as).unlink(missing_ok=True)
        Path(f"{job.stored_as}.lock").unlink(missing_ok=True)
    job.refresh_from_db()
    return job


def _batches(
    rows: Iterator[tuple[int, dict[str, str]]], after: int
) -> Iterator[list[tuple[int, dict[str, str]]]]:
    rows = ((n, v) for n, v in rows if n > after)
    while batch := list(islice(rows, BATCH)):
        yield batch


def _run_rows(
    job: ImportJob,
    actor: Actor,
    rows: Iterator[tuple[int, dict[str, str]]],
    dry_issues: list[RowIssue] | None,
    progress: Any,
) -> None:
    for batch in _batches(rows, 0 if job.dry_run else job.last_row):
        with transaction.atomic():
            if connection.vendor == "postgresql" and dry_issues is None:
                # A batch and the job's progress commit together: if the server fails
                # before the commit reaches disk, both are lost and a resume imports the
                # batch again, so the batch need not wait for the WAL flush (~15 % at
                # 100k rows; docs/performance.md).
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            rows_kept, formulas = _uncomputed_formulas(job, batch)
            if job.entity == ImportJob.Entity.CUSTOMERS:
                issues = _customer_batch(job, actor, rows_kept)
            elif job.entity == ImportJob.Entity.FOLLOWUPS:
                issues = _followup_batch(job, actor, rows_kept)
            elif job.entity == ImportJob.Entity.RELATIONSHIPS:
                issues = _relationship_batch(job, actor, rows_kept)
            else:
                issues = _contact_batch(job, actor, rows_kept)
            refused = {issue.row for issue in issues if not issue.imported}
            for issue in _issues_of(job, formulas):
                issue.imported = issue.imported and issue.row not in refused
                issues.append(issue)
            job.done_rows += len(batch)
            job.total_rows = max(job.total_rows, job.done_rows)
            job.last_row = batch[-1][0]
            if dry_issues is None:
                RowIssue.objects.bulk_create(issues)
                job.save(update_fields=[*PROGRESS_FIELDS, "last_row"])
            else:
                dry_issues.extend(issues)
        if progress:
            progress(job)


def _uncomputed_formulas(
    job: ImportJob, batch: list[tuple[int, dict[str, str]]]
) -> tuple[list[tuple[int, dict[str, str]]], bulk.BatchResult]:
    """An XLSX formula no program has computed reads as empty. A row where one feeds a
    required field is refused, any other row is imported without the value; either way
    its report names the column and what to do. Returns the rows to import."""
    targets = mappings.TARGETS[job.entity]
    field_of = {column: target for target, column in job.mapping.items() if column}
    kept, result = [], bulk.BatchResult()
    for number, values in batch:
        columns = [c for c in uncomputed_columns(values) if c in field_of]
        required = {
            field_of[c]: [uncomputed_message(c)]
            for c in columns
            if targets.get(field_of[c], ("", False))[1]
        }
        if required:
            result.rejected.append((number, values, ValidationError(required)))
            continue
        kept.append((number, values))
        if columns:
            reason = " ".join(uncomputed_message(c) for c in columns)
            result.warnings.append((number, values, reason))
    return kept, result


def _customer_batch(
    job: ImportJob, actor: Actor, batch: list[tuple[int, dict[str, str]]]
) -> list[RowIssue]:
    return _issues_of(
        job, bulk.customer_batch(job, actor, batch, survive=survivorship.Survival(job.source))
    )


def _followup_batch(
    job: ImportJob, actor: Actor, batch: list[tuple[int, dict[str, str]]]
) -> list[RowIssue]:
    return _issues_of(
        job,
        followups.followup_batch(
            job, actor, batch, company=bulk.Companies(job), authors=bulk.Owners(job)
        ),
    )


def _relationship_batch(
    job: ImportJob, actor: Actor, batch: list[tuple[int, dict[str, str]]]
) -> list[RowIssue]:
    return _issues_of(
        job,
        relationships.relationship_batch(
            job, actor, batch, company=bulk.Companies(job), owners=bulk.Owners(job)
        ),
    )


def _issues_of(job: ImportJob, result: bulk.BatchResult) -> list[RowIssue]:
    """A batch's counts onto the job; its rejected rows and warnings as the report's rows."""
    for outcome, count in result.outcomes.items():
        setattr(job, outcome, getattr(job, outcome) + count)
    job.rejected += len(result.rejected)
    issues = [_issue(job, number, values, exc) for number, values, exc in result.rejected]
    issues += [
        RowIssue(
            job=job,
            row=number,
            external_id=values.get(job.mapping.get("external_id", ""), "")[:100],
            reason=reason,
            values=values,
            imported=True,
        )
        for number, values, reason in result.warnings
    ]
    return issues


def _contact_batch(
    job: ImportJob, actor: Actor, batch: list[tuple[int, dict[str, str]]]
) -> list[RowIssue]:
    return _issues_of(job, contacts.contact_batch(job, actor, batch, company=bulk.Companies(job)))


def _issue(job: ImportJob, number: int, values: dict[str, str], exc: DomainError) -> RowIssue:
    fields = getattr(exc, "fields", {})
    if fields:
        reason = "; ".join(
            f"{name}: {' '.join(msgs)}" if name else " ".join(msgs) for name, msgs in fields.items()
        )
    else:
        reason = str(exc.message)
    column = job.mapping.get("external_id", "")
    return RowIssue(
        job=job,
        row=number,
        external_id=values.get(column, "")[:100],
        reason=reason,
        values=bulk.kept_values(job, values),
    )


# --- one row ------------------------------------------------------------------------------


def _link_parents(job: ImportJob, actor: Actor) -> None:
    """Second pass: parents named by id or name, resolved within the file and against
    the existing records, whatever the row order."""
    id_column = job.mapping.get("parent_external_id", "")
    name_column = job.mapping.get("parent_name", "")
    if not id_column and not name_column:
        return
    issues = []
    records = (
        SourceRecord.objects.filter(job=job, customer__isnull=False)
        .select_related("customer")
        .order_by("row", "pk")
    )
    for record in records.iterator(chunk_size=2000):
        number = record.row or 0
        parent_id_value = record.payload.get(id_column, "").strip() if id_column else ""
        parent_name = record.payload.get(name_column, "").strip() if name_column else ""
        if not parent_id_value and not parent_name:
            continue
        parent = bulk.find_customer(job, parent_id_value, parent_name)
        if parent is None:
            issues.append(
                RowIssue(
                    job=job,
                    row=number,
                    external_id=record.external_id,
                    reason=_("Imported, but its parent company “%(parent)s” was not found.")
                    % {"parent": parent_id_value or parent_name},
                    values=record.payload,
                    imported=True,
                )
            )
            continue
        if record.customer.parent_id == parent.pk:
            continue
        try:
            with transaction.atomic():
                customers.customer_move(actor=actor, pk=record.customer_id, parent_id=parent.pk)
        except (ValidationError, PermissionDenied, NotFound) as exc:
            issues.append(
                RowIssue(
                    job=job,
                    row=number,
                    external_id=record.external_id,
                    reason=_issue(job, number, record.payload, exc).reason,
                    values=record.payload,
                    imported=True,
                )
            )
    RowIssue.objects.bulk_create(issues)


def ensure_may_go_on(actor: Actor, job: ImportJob) -> None:
    """Whoever may import into the job's unit may go on with its job (resume it, or
    import a dry run's file for real), not just whoever may see it."""
    actor.require("integration", "create")
    ensure_in_scope(job, actor=actor, action="create")


def import_again(*, actor: Actor, job: ImportJob) -> ImportJob:
    """After a dry run: the same file and mapping for real. After an interruption: go on
    from the last committed batch."""
    ensure_may_go_on(actor, job)
    if job.dry_run:
        if job.status != ImportJob.Status.DONE:
            raise Conflict(
                _("Wait for the dry run to finish, then import for real."), code="dry_run_running"
            )
        return import_start(
            actor=actor,
            source_id=job.source_id,
            bu_id=job.bu_id,
            entity=job.entity,
            path=Path(job.stored_as),
            filename=job.filename,
            mapping=job.mapping,
        )
    if job.status == ImportJob.Status.DONE:
        raise Conflict(_("This import is complete."), code="import_done")
    _enqueue(job.pk)
    job.refresh_from_db()
    return job


@transaction.atomic
def report_downloaded(*, actor: Actor, job: ImportJob) -> None:
    """The rejected-row report leaves the system: an access record, like any export."""
    access_record(
        actor=actor,
        kind=AccessRecord.Kind.EXPORT,
        object_type="integration.importjob",
        object_id=str(job.pk),
        object_repr=job.filename,
        detail="rejected rows report",
    )
