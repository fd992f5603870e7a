"""The lead list as a CSV or XLSX download: the same filters and scope as the list,
personal data masked as on screen, an access record per export (design.md §7), through
the customer export's ``sheet_download`` as the other sales lists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from groupcrm.core.actor import Actor
from groupcrm.customers.export import Rows, Sheet, as_query, sheet_download
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


def lead_export(*, actor: Actor, fmt: str, query: Mapping[str, str]) -> HttpResponse:
    """The filtered lead list as a download (``sheet_download``)."""
    return sheet_download(actor=actor, sheet=SHEET, fmt=fmt, query=query)
