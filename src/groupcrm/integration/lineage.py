"""Lineage on the customer's 360 view: on the timeline, which source fed the record, when,
from which import (design.md §6, SourceRecord); next to each profile field, where its
value came from (FieldSource)."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils.translation import gettext as _

from groupcrm.core.actor import Actor
from groupcrm.customers.models import Customer
from groupcrm.customers.selectors import (
    FieldOrigin,
    TimelineEntry,
    TimelineQuery,
    register_field_origins,
    register_timeline,
)
from groupcrm.integration.models import FieldSource, ImportJob, SourceRecord


@register_timeline
def source_records(actor: Actor, customer: Customer, query: TimelineQuery) -> list[TimelineEntry]:
    """Every arrival of a row that fed the record: the kept one and the earlier ones of
    the same id, each with its import job."""
    if query.kind not in ("", "source") or query.person_id:
        return []
    records = (
        SourceRecord.objects.filter(customer=customer)
        .select_related("source")
        .order_by("-received_at")[: query.limit]
    )
    arrivals = []  # (at, record, job id, row, payload)
    for record in records:
        arrivals.append((record.received_at, record, record.job_id, record.row, record.payload))
        for a in record.earlier:
            at = dt.datetime.fromisoformat(a["received_at"])
            arrivals.append((at, record, a["job_id"], a["row"], a["payload"]))
    arrivals.sort(key=lambda arrival: arrival[0], reverse=True)
    arrivals = arrivals[: query.limit]
    jobs = ImportJob.objects.select_related("bu", "owner").in_bulk({a[2] for a in arrivals if a[2]})
    entries = []
    for at, record, job_id, row, payload in arrivals:
        job = jobs.get(job_id) if job_id else None
        if query.bu_id and (job is None or job.bu_id != query.bu_id):
            continue
        entries.append(
            TimelineEntry(
                at=at,
                kind="source",
                title=_("Data from %(source)s") % {"source": record.source.name},
                body=(
                    _("ID in the source system") + f": {record.external_id}"
                    if record.external_id
                    else _("Row %(row)s of the file") % {"row": row}
                ),
                bu_id=job.bu_id if job else None,
                bu_name=job.bu.name if job else "",
                person_id=job.owner_id if job else None,
                person=(job.owner.display_name or job.owner.username) if job else "",
                link=reverse("integration:job", args=[job.pk]) if job else "",
                detail={"fields": sorted(k for k, v in payload.items() if v)},
            )
        )
    return entries


@register_field_origins
def field_sources(customer: Customer) -> dict[str, FieldOrigin]:
    """Where each profile field's value came from, in one query."""
    return {
        row.field: FieldOrigin(source=row.source.name if row.source else None, at=row.at)
        for row in FieldSource.objects.filter(customer=customer).select_related("source")
    }
