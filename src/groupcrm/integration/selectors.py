"""Reads on imports."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.core.actor import Actor
from groupcrm.core.errors import ValidationError
from groupcrm.core.scoping import scoped_get
from groupcrm.integration import mapping as mappings
from groupcrm.integration.models import ImportJob, ImportSource, RowIssue
from groupcrm.integration.reader import FileError, Table, open_table
from groupcrm.org.models import BusinessUnit
from groupcrm.org.selectors import units_for

# Rows of the rejected-row report read from the database at a time, and its sheet's part.
REPORT_CHUNK = 2000
REPORT_SHEET = "xl/worksheets/sheet1.xml"


def import_job_list(
    *, actor: Actor, status: str = "", source_id: int | None = None, entity: str = ""
) -> QuerySet[ImportJob]:
    """The jobs the actor may see, newest first, narrowed by the filters given."""
    actor.require("integration", "view")
    jobs = ImportJob.objects.visible_to(actor, "view").select_related("source", "bu", "owner")
    if status:
        jobs = jobs.filter(status=status)
    if source_id is not None:
        jobs = jobs.filter(source_id=source_id)
    if entity:
        jobs = jobs.filter(entity=entity)
    return jobs


def import_job_get(*, actor: Actor, pk: int) -> ImportJob:
    return scoped_get(ImportJob, actor=actor, pk=pk)


def row_issues(*, job: ImportJob) -> QuerySet[RowIssue]:
    """The rows of a job (already fetched through its scope) that were refused or warned."""
    return job.issues.order_by("row")


def source_list(*, actor: Actor) -> QuerySet[ImportSource]:
    actor.require("integration", "view")
    return ImportSource.objects.all()


def import_unit_get(*, actor: Actor, pk: int) -> BusinessUnit:
    """The unit an import goes into, among the upload form's choices (active units where
    the actor may import); any other id is a field error, as a scoped choice is."""
    actor.require("integration", "create")
    unit = units_for(actor=actor, module="integration", action="create").filter(pk=pk).first()
    if unit is None:
        raise ValidationError({"bu_id": _("Choose a unit you may import into.")})
    return unit


@dataclass(frozen=True)
class ImportProgress:
    """How far a job is: ``rate`` (rows per second) and ``eta_seconds`` only while it runs
    and has committed rows to measure by."""

    percent: int
    rate: float | None
    eta_seconds: int | None

    @property
    def eta_minutes(self) -> int | None:
        """The time left in whole minutes, rounded up, for the job page."""
        return None if self.eta_seconds is None else -(-self.eta_seconds // 60)


def import_progress(job: ImportJob, *, now: dt.datetime | None = None) -> ImportProgress:
    percent = job.percent
    if job.status != ImportJob.Status.RUNNING or not job.started_at or not job.done_rows:
        return ImportProgress(percent, None, None)
    elapsed = ((now or timezone.now()) - job.started_at).total_seconds()
    if elapsed <= 0:
        return ImportProgress(percent, None, None)
    rate = job.done_rows / elapsed
    left = max(job.total_rows - job.done_rows, 0)
    return ImportProgress(percent, round(rate, 1), round(left / rate))


def import_source_for(*, source_id: int, entity: str) -> ImportSource:
    """The source an import of ``entity`` reads from; field errors for an unknown entity
    or source (an import and a mapping suggestion check them alike)."""
    if entity not in ImportJob.Entity.values:
        raise ValidationError({"entity": _("Choose one of the offered values.")})
    source = ImportSource.objects.filter(pk=source_id).first()
    if source is None:
        raise ValidationError({"source_id": _("Choose an import source.")})
    return source


def import_table(path: Path) -> tuple[Table, tuple[int, dict[str, str]]]:
    """The uploaded file as a table, and its first row (already read from ``rows``); a
    field error on ``file`` when it cannot be read or holds no rows."""
    try:
        table = open_table(path)
        first = next(table.rows, None)
    except FileError as exc:
        raise ValidationError({"file": str(exc)}) from None
    if first is None:
        raise ValidationError({"file": _("The file has column names but no rows.")})
    return table, first


def mapping_suggestion(*, actor: Actor, source_id: int, entity: str, path: Path) -> dict[str, Any]:
    """What an import of this file would map without a mapping of its own (the source's
    saved mapping for the entity, else one suggested from the headers), and what is wrong
    with it: lets an integrator prepare a mapping before importing."""
    actor.require("integration", "create")
    source = import_source_for(source_id=source_id, entity=entity)
    table, _first = import_table(path)
    # Only the headers and one row are needed; closing the started reader releases the file.
    table.rows.close()
    chosen = mappings.mapping_for(source, entity, table.headers)
    return {
        "headers": table.headers,
        "encoding": table.encoding,
        "mapping": chosen,
        "saved": bool(source.mappings.get(entity)),
        "problems": mappings.check(chosen, table.headers, entity),
        "targets": [
            {"field": field, "label": str(label), "required": required}
            for field, (label, required) in mappings.TARGETS[entity].items()
        ],
    }


def import_report_xlsx(*, job: ImportJob) -> bytes:
    """The refused rows (and warnings) with their values and an error column, as XLSX.

    openpyxl writes the workbook and its header row; the rows, read from the database a
    chunk at a time, go into its sheet as XML written here. openpyxl's own writer takes
    about 27 µs a cell: 30 s for 100,000 rows of 11 columns (2.5 s this way), minutes for
    a wide export, past gunicorn's 60 s timeout. Values are always text, so a value that
    starts with "=" stays what the file held instead of turning into a formula."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.utils import get_column_letter

    issues = row_issues(job=job)
    values = issues.values_list("values", flat=True).iterator(chunk_size=REPORT_CHUNK)
    # The file's columns in its order (PostgreSQL keeps a row's keys in its own order),
    # and any other a row holds (jobs from before the order was kept).
    columns = list(dict.fromkeys([*job.headers, *(k for row_values in values for k in row_values)]))
    book = Workbook(write_only=True)
    header = [_("Row"), _("Error"), _("Imported anyway"), *columns]
    book.create_sheet(_("Rejected rows")).append(header)
    skeleton = io.BytesIO()
    book.save(skeleton)
    letters = [get_column_letter(n) for n in range(1, len(header) + 1)]
    answers = {True: _("yes"), False: _("no")}

    def sheet_row(number: int, row: int, texts: list[Any]) -> bytes:
        # Characters XML cannot hold (a CSV may) are left out; empty cells are not written.
        cells = [f'<row r="{number}"><c r="A{number}"><v>{row}</v></c>']
        cells += [
            f'<c r="{letter}{number}" t="inlineStr"><is><t xml:space="preserve">'
            f"{escape(ILLEGAL_CHARACTERS_RE.sub('', str(text)))}</t></is></c>"
            for letter, text in zip(letters[1:], texts, strict=True)
            if text
        ]
        cells.append("</row>")
        return "".join(cells).encode()

    rows = issues.values_list("row", "reason", "imported", "values")
    out = io.BytesIO()
    with (
        zipfile.ZipFile(skeleton) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for part in source.infolist():
            if part.filename != REPORT_SHEET:
                target.writestr(part, source.read(part))
                continue
            head, tail = source.read(part).split(b"</sheetData>")
            with target.open(part.filename, "w") as sheet:
                sheet.write(head)
                for number, (row, reason, imported, row_values) in enumerate(
                    rows.iterator(chunk_size=REPORT_CHUNK), start=2
                ):
                    texts = [reason, answers[imported], *(row_values.get(c, "") for c in columns)]
                    sheet.write(sheet_row(number, row, texts))
                sheet.write(b"</sheetData>" + tail)
    return out.getvalue()
