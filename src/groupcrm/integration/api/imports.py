"""Imports, sources and their mappings, data quality: the REST face of the import pipeline.

Every handler calls the selectors and services the import pages call. Data quality
lives here too (``/imports/quality``): it is the integration app's page."""

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Router
from ninja.files import UploadedFile
from ninja.pagination import paginate
from ninja.responses import Status

from groupcrm.core.api_support import PagePagination, actor_of
from groupcrm.core.errors import ValidationError
from groupcrm.customers import export
from groupcrm.integration import quality, reader, selectors, services
from groupcrm.integration.schemas import (
    Entity,
    ImportJobOut,
    JobStatus,
    MappingSuggestionOut,
    QualityOut,
    RecordQualityOut,
    RowIssueOut,
    SourceIn,
    SourceOut,
)

router = Router(tags=["integration"])


@contextmanager
def _stored(upload: UploadedFile) -> Iterator[Path]:
    """The upload in a temporary file that keeps its suffix (the reader picks CSV or
    XLSX by it), removed on the way out whatever happens."""
    # The reader refuses the same size; checked first so a huge upload is not copied again.
    if upload.size is not None and upload.size > reader.MAX_BYTES:
        raise ValidationError(
            {"file": _("The file is larger than 2 GB: split it into smaller files.")}
        )
    with tempfile.NamedTemporaryFile(suffix=Path(upload.name or "").suffix.lower()) as tmp:
        for chunk in upload.chunks():
            tmp.write(chunk)
        tmp.flush()
        yield Path(tmp.name)


def _mapping(text: str) -> dict[str, str] | None:
    """The optional mapping form field: a JSON object of target field → column name."""
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationError(
            {"mapping": _("Send the mapping as a JSON object of field name → column name.")}
        )
    return value


# --- sources and mappings -----------------------------------------------------------------


@router.get("/sources", response=list[SourceOut])
def source_list(request: HttpRequest) -> Any:
    """The systems data comes from, with their saved column mappings."""
    return selectors.source_list(actor=actor_of(request))


@router.post("/sources", response={201: SourceOut})
def source_create(request: HttpRequest, payload: SourceIn) -> Any:
    return Status(201, services.source_create(actor=actor_of(request), **payload.model_dump()))


@router.post("/mapping-suggestions", response=MappingSuggestionOut)
def mapping_suggestions(
    request: HttpRequest,
    file: File[UploadedFile],
    source_id: Form[int],
    entity: Form[Entity],
) -> Any:
    """The file's headers and encoding, the mapping an import would use, and its problems.
    Nothing is stored."""
    with _stored(file) as path:
        return selectors.mapping_suggestion(
            actor=actor_of(request), source_id=source_id, entity=entity, path=path
        )


# --- data quality -------------------------------------------------------------------------


@router.get("/quality", response=QualityOut)
def quality_overview(request: HttpRequest) -> Any:
    """The data-quality page's figures: per unit and per account manager in your scope,
    the 90-day trend of the nightly snapshots, and the worst records to fix."""
    return quality.quality_overview(actor=actor_of(request))


@router.get("/quality/customers/{customer_id}", response=RecordQualityOut)
def customer_quality(request: HttpRequest, customer_id: int) -> Any:
    """One customer's data quality by dimension: completeness, validity, freshness and
    duplicate suspicion, with what to fix."""
    return quality.customer_quality(actor=actor_of(request), pk=customer_id)


# --- jobs ---------------------------------------------------------------------------------


@router.post("", response={202: ImportJobOut})
def import_create(
    request: HttpRequest,
    file: File[UploadedFile],
    source_id: Form[int],
    bu_id: Form[int],
    entity: Form[Entity],
    dry_run: Form[bool] = True,
    mapping: Form[str] = "",
) -> Any:
    """Check the file and its mapping, keep a copy, and queue the import (or dry run)."""
    actor = actor_of(request)
    chosen = _mapping(mapping)
    unit = selectors.import_unit_get(actor=actor, pk=bu_id)
    with _stored(file) as path:
        job = services.import_start(
            actor=actor,
            source_id=source_id,
            bu_id=unit.pk,
            entity=entity,
            path=path,
            filename=file.name or path.name,
            dry_run=dry_run,
            mapping=chosen,
        )
    return Status(202, job)


@router.get("", response=list[ImportJobOut])
@paginate(PagePagination)
def import_list(
    request: HttpRequest,
    status: JobStatus | None = None,
    source_id: int | None = None,
    entity: Entity | None = None,
) -> Any:
    return selectors.import_job_list(
        actor=actor_of(request), status=status or "", source_id=source_id, entity=entity or ""
    )


@router.get("/{job_id}", response=ImportJobOut)
def import_get(request: HttpRequest, job_id: int) -> Any:
    return selectors.import_job_get(actor=actor_of(request), pk=job_id)


@router.get("/{job_id}/issues", response=list[RowIssueOut])
@paginate(PagePagination)
def import_issues(request: HttpRequest, job_id: int) -> Any:
    """Rejected rows and warnings (``imported: true``), in file order."""
    job = selectors.import_job_get(actor=actor_of(request), pk=job_id)
    return selectors.row_issues(job=job)


@router.get("/{job_id}/report.xlsx")
def import_report(request: HttpRequest, job_id: int) -> HttpResponse:
    """The rejected-rows workbook the job page offers; every download is logged."""
    actor = actor_of(request)
    job = selectors.import_job_get(actor=actor, pk=job_id)
    services.report_downloaded(actor=actor, job=job)
    response = HttpResponse(
        selectors.import_report_xlsx(job=job), content_type=export.CONTENT_TYPES["xlsx"]
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.xlsx"'
    return response


@router.post("/{job_id}/run-again", response={202: ImportJobOut})
def import_run_again(request: HttpRequest, job_id: int) -> Any:
    """After a dry run: a new job importing the same file for real. After an
    interruption: the same job, resumed after its last committed batch."""
    actor = actor_of(request)
    job = selectors.import_job_get(actor=actor, pk=job_id)
    return Status(202, services.import_again(actor=actor, job=job))
