"""The quote list as a CSV or XLSX download: the list's own filters (current versions
unless asked) and the viewer's scope, an access record per export (design.md §7). Needs
``quotes.export``; the download itself is the sales lists' (leads.export)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from groupcrm.core.actor import Actor
from groupcrm.customers.export import Rows, Sheet, as_query, sheet_download
from groupcrm.sales.quotes.selectors import QuoteFilters, quote_list


def _header() -> list[str]:
    return [
        _("Number"),
        _("Version"),
        _("Customer"),
        _("Opportunity"),
        _("Unit"),
        _("Owner"),
        _("Status"),
        _("Net (CNY)"),
        _("Tax (CNY)"),
        _("Total incl. tax (CNY)"),
        _("Quote date"),
        _("Valid until"),
    ]


def _ids(actor: Actor, filters: Mapping[str, str]) -> list[int]:
    found = quote_list(actor=actor, filters=QuoteFilters.from_query(as_query(filters)))
    return list(found.values_list("pk", flat=True))


def _rows(actor: Actor, ids: list[int]) -> Rows:
    found = quote_list(actor=actor, filters=QuoteFilters(all_versions=True)).in_bulk(ids)
    for q in (found[pk] for pk in ids if pk in found):
        yield [
            q.number,
            q.version,
            q.customer.legal_name,
            q.opportunity.name,
            q.bu.name,
            (q.owner.display_name or q.owner.username) if q.owner else "",
            q.get_status_display(),
            q.net_total,
            q.tax_total,
            q.gross_total,
            q.quote_date.strftime("%Y-%m-%d"),
            q.valid_until.strftime("%Y-%m-%d"),
        ]


SHEET = Sheet(
    entity="quotes",
    module="quotes",
    object_type="quotes.quote",
    title=gettext_lazy("Quotes"),
    filters=tuple(f.name for f in fields(QuoteFilters)),
    header=_header,
    ids=_ids,
    rows=_rows,
)


def quote_export(*, actor: Actor, fmt: str, query: Mapping[str, str]) -> HttpResponse:
    """The filtered quote list as CSV or XLSX (422 for another format or too many rows)."""
    return sheet_download(actor=actor, sheet=SHEET, fmt=fmt, query=query)
