"""Reads on imports."""

from __future__ import annotations

from django.db.models import QuerySet

from groupcrm.core.actor import Actor
from groupcrm.core.scoping import scoped_get
from groupcrm.integration.models import ImportJob, ImportSource, RowIssue


def import_job_list(*, actor: Actor) -> QuerySet[ImportJob]:
    return ImportJob.objects.visible_to(actor, "view").select_related("source", "bu", "owner")


def import_job_get(*, actor: Actor, pk: int) -> ImportJob:
    return scoped_get(ImportJob, actor=actor, pk=pk)


def row_issues(*, job: ImportJob) -> QuerySet[RowIssue]:
    """The rows of a job (already fetched through its scope) that were refused or warned."""
    return job.issues.order_by("row")


def source_list(*, actor: Actor) -> QuerySet[ImportSource]:
    actor.require("integration", "view")
    return ImportSource.objects.all()
