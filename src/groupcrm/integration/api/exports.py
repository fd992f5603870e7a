"""Background exports of customer and contact lists: start one, follow it, fetch the file.

A job is its owner's alone (others get 404); it runs with the owner's scope and masking."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router
from ninja.pagination import paginate
from ninja.responses import Status

from groupcrm.core.api_support import PagePagination, actor_of
from groupcrm.customers import export
from groupcrm.integration import exports
from groupcrm.integration.schemas import ExportIn, ExportOut

router = Router(tags=["integration"])


@router.post("", response={202: ExportOut})
def export_create(request: HttpRequest, payload: ExportIn) -> Any:
    """Queue an export of the filtered list (needs customers.export or contacts.export);
    poll GET /exports/{id} until `status` is `done`, then fetch `file_url`."""
    job = exports.export_start(actor=actor_of(request), **payload.model_dump())
    return Status(202, job)


@router.get("", response=list[ExportOut])
@paginate(PagePagination)
def export_list(request: HttpRequest) -> Any:
    """Your own exports, newest first."""
    return exports.export_job_list(actor=actor_of(request))


@router.get("/{job_id}", response=ExportOut)
def export_get(request: HttpRequest, job_id: int) -> Any:
    return exports.export_job_get(actor=actor_of(request), pk=job_id)


@router.get("/{job_id}/file", url_name="export_file")
def export_file(request: HttpRequest, job_id: int) -> HttpResponse:
    """The finished file as an attachment (logged); 409 while it is not ready or after
    it expired."""
    return export.file_response(*exports.export_file(actor=actor_of(request), pk=job_id))
