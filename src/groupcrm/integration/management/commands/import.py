"""groupcrm import PATH --source NAME --bu CODE [--entity customers|contacts] [--dry-run]
groupcrm import --resume JOB"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from groupcrm.core.actor import Actor
from groupcrm.core.errors import DomainError
from groupcrm.integration.models import ImportJob, ImportSource
from groupcrm.integration.services import import_run, import_start, source_create
from groupcrm.org.models import BusinessUnit, User


class Command(BaseCommand):
    help = "Import customers or contacts from a CSV or XLSX file, in committed batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, nargs="?")
        parser.add_argument("--source", help="import source name (created if new)")
        parser.add_argument(
            "--kind",
            default="generic",
            choices=ImportSource.Kind.values,
            help="format of a new source: zoho, salesforce, fxiaoke or generic",
        )
        parser.add_argument("--bu", help="code of the unit that receives them")
        parser.add_argument("--entity", default="customers", choices=ImportJob.Entity.values)
        parser.add_argument("--user", default="admin", help="who imports (their rights apply)")
        parser.add_argument(
            "--dry-run", action="store_true", help="check everything, write nothing"
        )
        parser.add_argument("--resume", type=int, metavar="JOB", help="resume an interrupted job")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        job_id = options["resume"] or self._start(options).pk
        try:
            job = import_run(job_id, progress=lambda j: self._progress(j, started))
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        sys.stderr.write("\n")
        self.stdout.write(
            f"job {job.pk} {'(dry run) ' if job.dry_run else ''}{job.status}: "
            f"{job.done_rows} rows, {job.created} created, {job.updated} updated, "
            f"{job.matched} matched, {job.rejected} rejected "
            f"in {time.monotonic() - started:.1f}s"
        )
        for issue in job.issues.order_by("row")[:20]:
            self.stdout.write(f"  row {issue.row}: {issue.reason}")

    def _start(self, options: dict[str, Any]) -> ImportJob:
        if not (options["path"] and options["source"] and options["bu"]):
            raise CommandError("give PATH, --source and --bu (or --resume JOB)")
        user = User.objects.filter(username=options["user"], is_active=True).first()
        unit = BusinessUnit.objects.filter(code=options["bu"]).first()
        if user is None or unit is None:
            raise CommandError("unknown --user or --bu")
        path: Path = options["path"]
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        actor = Actor(user)
        try:
            source = ImportSource.objects.filter(name=options["source"]).first() or source_create(
                actor=actor, name=options["source"], kind=options["kind"]
            )
            return import_start(
                actor=actor,
                source_id=source.pk,
                bu_id=unit.pk,
                entity=options["entity"],
                path=path,
                filename=path.name,
                dry_run=options["dry_run"],
                run=False,
            )
        except DomainError as exc:
            details = "; ".join(" ".join(m) for m in getattr(exc, "fields", {}).values())
            raise CommandError(details or str(exc.message)) from None

    def _progress(self, job: ImportJob, started: float) -> None:
        elapsed = max(time.monotonic() - started, 1e-6)
        rate = job.done_rows / elapsed
        total = max(job.total_rows, job.done_rows, 1)
        width = 30
        filled = width * job.done_rows // total
        eta = (total - job.done_rows) / rate if rate else 0
        sys.stderr.write(
            f"\r[{'#' * filled:<{width}}] {job.done_rows}/{total} rows · {rate:.0f} rows/s"
            f" · ETA {eta:.0f}s · {job.rejected} rejected"
        )
        sys.stderr.flush()
