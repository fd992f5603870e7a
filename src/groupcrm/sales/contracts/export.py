"""The contract list and the receivables list as CSV or XLSX downloads: the lists' own
filters and the viewer's scope, an access record per export (design.md §7). Needs
``contracts.export``; the download itself is the sales lists' (leads.export)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from decimal import Decimal

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from groupcrm.core.actor import Actor
from groupcrm.customers.export import Rows, Sheet, as_query, sheet_download
from groupcrm.org.models import User
from groupcrm.sales.contracts.selectors import (
    ContractFilters,
    ReceivableFilters,
    contract_list,
    receivable_contracts,
)

CENT = Decimal("0.01")


def _name(user: User | None) -> str:
    return (user.display_name or user.username) if user else ""


def _money(value: object) -> Decimal:
    """Amounts with two decimals, also the computed ones (SQLite gives those as whole
    numbers)."""
    return Decimal(str(value or 0)).quantize(CENT)


def _day(value: object) -> str:
    return value.strftime("%Y-%m-%d") if value else ""  # type: ignore[attr-defined]


# --- contracts --------------------------------------------------------------------------


def _contract_header() -> list[str]:
    return [
        _("Contract number"),
        _("Title"),
        _("Customer"),
        _("Opportunity"),
        _("Unit"),
        _("Owner"),
        _("Status"),
        _("Amount (CNY)"),
        _("Received (CNY)"),
        _("Outstanding (CNY)"),
        _("Signed on"),
        _("Starts on"),
        _("Ends on"),
    ]


def _contract_ids(actor: Actor, filters: Mapping[str, str]) -> list[int]:
    found = contract_list(actor=actor, filters=ContractFilters.from_query(as_query(filters)))
    return list(found.values_list("pk", flat=True))


def _contract_rows(actor: Actor, ids: list[int]) -> Rows:
    found = contract_list(actor=actor).filter(pk__in=ids).in_bulk()
    for c in (found[pk] for pk in ids if pk in found):
        yield [
            c.number,
            c.title,
            c.customer.legal_name,
            c.opportunity.name,
            c.bu.name,
            _name(c.owner),
            c.get_status_display(),
            _money(c.amount),
            _money(c.received),
            _money(c.outstanding),
            _day(c.signed_on),
            _day(c.start_on),
            _day(c.end_on),
        ]


CONTRACTS = Sheet(
    entity="contracts",
    module="contracts",
    object_type="contracts.contract",
    title=gettext_lazy("Contracts"),
    filters=tuple(f.name for f in fields(ContractFilters)),
    header=_contract_header,
    ids=_contract_ids,
    rows=_contract_rows,
)


# --- receivables ------------------------------------------------------------------------


def _receivable_header() -> list[str]:
    return [
        _("Contract number"),
        _("Title"),
        _("Customer"),
        _("Unit"),
        _("Owner"),
        _("Amount (CNY)"),
        _("Received (CNY)"),
        _("Outstanding (CNY)"),
        _("Overdue (CNY)"),
        _("Overdue since"),
    ]


def _receivable_ids(actor: Actor, filters: Mapping[str, str]) -> list[int]:
    found = receivable_contracts(
        actor=actor, filters=ReceivableFilters.from_query(as_query(filters))
    )
    return list(found.values_list("pk", flat=True))


def _receivable_rows(actor: Actor, ids: list[int]) -> Rows:
    found = receivable_contracts(actor=actor).filter(pk__in=ids).in_bulk()
    for c in (found[pk] for pk in ids if pk in found):
        yield [
            c.number,
            c.title,
            c.customer.legal_name,
            c.bu.name,
            _name(c.owner),
            _money(c.amount),
            _money(c.received),
            _money(c.outstanding),
            _money(c.overdue),
            _day(c.oldest_overdue),
        ]


RECEIVABLES = Sheet(
    entity="receivables",
    module="contracts",
    object_type="contracts.receivables",
    title=gettext_lazy("Receivables"),
    filters=tuple(f.name for f in fields(ReceivableFilters)),
    header=_receivable_header,
    ids=_receivable_ids,
    rows=_receivable_rows,
)


def contract_export(*, actor: Actor, fmt: str, query: Mapping[str, str]) -> HttpResponse:
    """The filtered contract list as CSV or XLSX (422 for another format or too many rows)."""
    return sheet_download(actor=actor, sheet=CONTRACTS, fmt=fmt, query=query)


def receivables_export(*, actor: Actor, fmt: str, query: Mapping[str, str]) -> HttpResponse:
    """The filtered receivables list (``overdue=1``: overdue only) as CSV or XLSX."""
    return sheet_download(actor=actor, sheet=RECEIVABLES, fmt=fmt, query=query)
