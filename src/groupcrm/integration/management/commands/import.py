"""groupcrm import PATH --source NAME [--bu CODE] [--dry-run]
    [--entity customers|contacts|relationships|followups]
groupcrm import --resume JOB"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from groupcrm.core.actor import Actor
from groupcrm.core.errors import DomainError
from groupcrm.core.management.acting import acting_actor, domain_error
from groupcrm.integration.models import ImportJob, ImportSource
from groupcrm.integration.selectors import import_job_get
from groupcrm.integration.services import (
    ensure_may_go_on,
    import_run,
    import_start,
    source_create,
)
from groupcrm.org.models import BusinessUnit
from groupcrm.org.selectors import units_for


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
        parser.add_argument(
            "--bu", help="code of the unit that receives them (default: the user's only unit)"
        )
        parser.add_argument("--entity", default="customers", choices=ImportJob.Entity.values)
        parser.add_argument("--user", default="admin", help="who imports (their rights apply)")
        parser.add_argument(
            "--dry-run", action="store_true", help="check everything, write nothing"
        )
        parser.add_argument("--resume", type=int, metavar="JOB", help="resume an interrupted job")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            if options["resume"]:
                # A job the user may see (an unknown id is a message, not a traceback)
                # and import into.
                actor = acting_actor(options["user"])
                job = import_job_get(actor=actor, pk=options["resume"])
                ensure_may_go_on(actor, job)
                job_id = job.pk
            else:
                job_id = self._start(options).pk
            job = import_run(job_id, progress=lambda j: self._progress(j, started))
        except DomainError as exc:
            raise domain_error(exc) from None
        sys.stderr.write("\n")
        summary = (
            _(
                "Import job %(job)d (dry run, %(status)s): %(rows)d rows, %(created)d created, "
                "%(updated)d updated, %(matched)d matched, %(rejected)d rejected in %(seconds).1fs"
            )
            if job.dry_run
            else _(
                "Import job %(job)d (%(status)s): %(rows)d rows, %(created)d created, %(updated)d "
                "updated, %(matched)d matched, %(rejected)d rejected in %(seconds).1fs"
            )
        )
        self.stdout.write(
            summary
            % {
                "job": job.pk,
                "status": job.get_status_display(),
                "rows": job.done_rows,
                "created": job.created,
                "updated": job.updated,
                "matched": job.matched,
                "rejected": job.rejected,
                "seconds": time.monotonic() - started,
            }
        )
        for issue in job.issues.order_by("row")[:20]:
            self.stdout.write(
                "  " + _("row %(row)d: %(reason)s") % {"row": issue.row, "reason": issue.reason}
            )

    def _start(self, options: dict[str, Any]) -> ImportJob:
        if not (options["path"] and options["source"]):
            raise CommandError(_("Give PATH and --source (or --resume JOB)."))
        actor = acting_actor(options["user"])
        unit = self._unit(actor, options["bu"])
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(_("%(path)s: no such file") % {"path": path})
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

    def _unit(self, actor: Actor, code: str | None) -> BusinessUnit:
        """The unit named by ``--bu``; without it, the unit the user works for when there
        is only one (the import itself checks that they may import into it)."""
        if code:
            unit = BusinessUnit.objects.filter(code=code).first()
            if unit is None:
                raise CommandError(_("No unit has the code “%(code)s”.") % {"code": code})
            return unit
        units = {m.bu_id: m.bu for m in actor.memberships}
        if len(units) == 1:
            return next(iter(units.values()))
        choices = units_for(actor=actor, module="integration", action="create")
        if not choices:
            raise CommandError(_("%(user)s may not import into any unit.") % {"user": actor.label})
        raise CommandError(
            _("%(user)s works for %(count)d units: give --bu, one of %(units)s.")
            % {
                "user": actor.label,
                "count": len(units),
                "units": ", ".join(f"{u.code} ({u.name})" for u in choices),
            }
        )

    def _progress(self, job: ImportJob, started: float) -> None:
        elapsed = max(time.monotonic() - started, 1e-6)
        rate = job.done_rows / elapsed
        total = max(job.total_rows, job.done_rows, 1)
        width = 30
        filled = width * job.done_rows // total
        eta = (total - job.done_rows) / rate if rate else 0
        sys.stderr.write(
            f"\r[{'#' * filled:<{width}}] "
            + _(
                "%(done)d/%(total)d rows · %(rate).0f rows/s · ETA %(eta).0fs · "
                "%(rejected)d rejected"
            )
            % {
                "done": job.done_rows,
                "total": total,
                "rate": rate,
                "eta": eta,
                "rejected": job.rejected,
            }
        )
        sys.stderr.flush()
