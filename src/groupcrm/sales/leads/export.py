"""The lead list as a CSV or XLSX download: the same filters and scope as the list,
personal data masked as on screen, an access record per export (design.md §7). The file
writing is the customer export's (customers.export); ``sheet_download`` is the download
the other sales lists (quotes, contracts, receivables) use too."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import fields

from django.db import transaction
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from groupcrm.core.actor import Actor
from groupcrm.customers.export import (
    CONTENT_TYPES,
    Rows,
    Sheet,
    TooManyRows,
    attachment,
    check_format,
    csv_chunks,
    export_logged,
    export_rows,
    filename,
    inline_limit,
    xlsx_write,
)
from groupcrm.sales.leads.models import Lead
from groupcrm.sales.leads.selectors import LeadFilters, lead_list, masked


def _header() -> list[str]:
    return [
        _("ID"),
        _("company name"),
        _("USCC"),
        _("contact name"),
        _("phone"),
        _("email"),
        _("province"),
        _("city"),
        _("industry"),
        _("source"),
        _("status"),
        _("business unit"),
        _("owner"),
        _("created at"),
    ]


def as_query(filters: Mapping[str, str]) -> QueryDict:
    """Export filters as the query a list's ``Filters.from_query`` reads."""
    query = QueryDict(mutable=True)
    query.update(filters)
    return query


def _ids(actor: Actor, filters: Mapping[str, str]) -> list[int]:
    found = lead_list(actor=actor, filters=LeadFilters.from_query(as_query(filters)))
    return list(found.values_list("pk", flat=True))


def _rows(actor: Actor, ids: list[int]) -> Rows:
    leads = Lead.objects.filter(pk__in=ids).select_related("bu", "owner").in_bulk()
    for pk in ids:
        lead = leads[pk]
        shown = masked(lead)
        owner = (lead.owner.display_name or lead.owner.username) if lead.owner else ""
        yield [
            lead.pk,
            lead.company_name,
            lead.uscc,
            lead.contact_name,
            shown["phone"],
            shown["email"],
            lead.province,
            lead.city,
            lead.industry,
            lead.get_source_display(),
            lead.get_status_display(),
            lead.bu.name,
            owner,
            lead.created_at.strftime("%Y-%m-%d %H:%M"),
        ]


SHEET = Sheet(
    entity="leads",
    module="leads",
    object_type="leads.lead",
    title=gettext_lazy("Leads"),
    filters=tuple(f.name for f in fields(LeadFilters)),
    header=_header,
    ids=_ids,
    rows=_rows,
)


def sheet_download(*, actor: Actor, sheet: Sheet, fmt: str, query: Mapping[str, str]) -> HttpResponse:
    """A sales list (``sheet``) as a download, with the list's filters read from ``query``
    and the viewer's scope; needs ``<sheet.module>.export``. More than
    ``EXPORT_INLINE_MAX_ROWS`` rows are refused (422 ``too_many_rows``): narrow the filters.
    Shared by the lead, quote, contract and receivables exports."""
    actor.require(sheet.module, "export")
    check_format(fmt)
    filters = {name: query[name] for name in sheet.filters if query.get(name)}
    ids = sheet.ids(actor, filters)
    if len(ids) > inline_limit():
        raise TooManyRows(
            {"": _("More than %(n)d rows match: narrow the filters.") % {"n": inline_limit()}}
        )
    with transaction.atomic():
        export_logged(actor=actor, sheet=sheet, fmt=fmt, rows=len(ids), filters=filters)
    rows = export_rows(actor, sheet, ids)
    response: HttpResponse
    if fmt == "csv":
        response = StreamingHttpResponse(
            csv_chunks(sheet.header(), rows), content_type=CONTENT_TYPES[fmt]
        )
    else:
        out = io.BytesIO()
        xlsx_write(sheet, rows, out)
        response = HttpResponse(out.getvalue(), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = attachment(
        filename(sheet, fmt), filename(sheet, fmt, ascii_only=True)
    )
    return response


def lead_export(*, actor: Actor, fmt: str, query: Mapping[str, str]) -> HttpResponse:
    """The filtered lead list as a download (``sheet_download``)."""
    return sheet_download(actor=actor, sheet=SHEET, fmt=fmt, query=query)
