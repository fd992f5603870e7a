"""CSV and XLSX export of the customer list: the list's own filters and scope, masked
personal data, an access record per export (design.md §7)."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
from collections.abc import Iterator

from django.db import transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from groupcrm.audit.models import AccessRecord
from groupcrm.audit.services import access_record
from groupcrm.core import pii
from groupcrm.core.actor import Actor
from groupcrm.core.errors import ValidationError
from groupcrm.customers.models import Contact, Customer, CustomerRelationship
from groupcrm.customers.reference import industry_label
from groupcrm.customers.search import PHONE_LIKE
from groupcrm.customers.selectors import CustomerFilters, customer_list, relationships_by_customer

MAX_ROWS = 50_000
BATCH = 1000


def _header() -> list[str]:
    return [
        _("ID"),
        _("Legal name"),
        _("Short name"),
        _("Unified social credit code"),
        _("Industry"),
        _("Company size"),
        _("Province"),
        _("City"),
        _("Group grade"),
        _("Status"),
        _("Tags"),
        _("Units and owners"),
        _("Key contact"),
        _("Key contact mobile"),
    ]


def _owner(rel: CustomerRelationship) -> str:
    return (rel.owner.display_name or rel.owner.username) if rel.owner else _("pool")


def _rows(actor: Actor, customers: list[Customer]) -> Iterator[list[object]]:
    language = get_language() or "zh-hans"
    for start in range(0, len(customers), BATCH):
        batch = customers[start : start + BATCH]
        ids = [c.pk for c in batch]
        rels = relationships_by_customer(actor=actor, customer_ids=ids)
        key_contacts: dict[int, Contact] = {}
        if actor.can("contacts", "view"):
            for contact in Contact.objects.filter(
                customer_id__in=ids, status=Contact.Status.ACTIVE
            ).order_by("customer_id", "role", "pk"):
                key_contacts.setdefault(contact.customer_id, contact)
        tags: dict[int, list[str]] = {}
        for customer_id, name in Customer.tags.through.objects.filter(
            customer_id__in=ids
        ).values_list("customer_id", "tag__name"):
            tags.setdefault(customer_id, []).append(name)
        for c in batch:
            contact = key_contacts.get(c.pk)
            yield [
                c.pk,
                c.legal_name,
                c.short_name,
                c.uscc or "",
                industry_label(c.industry, language) if c.industry else "",
                c.get_size_display() if c.size else "",
                c.province,
                c.city,
                c.get_group_grade_display() if c.group_grade else "",
                c.get_status_display(),
                "、".join(tags.get(c.pk, [])),
                "; ".join(f"{r.bu.name}: {_owner(r)}" for r in rels.get(c.pk, [])),
                contact.name if contact else "",
                pii.mask_phone(contact.mobile) if contact else "",
            ]


def _described(filters: CustomerFilters) -> str:
    """The filters for the access log; a searched phone number is masked there too."""
    q = pii.mask_phone(filters.q) if PHONE_LIKE.match(filters.q) else filters.q
    return repr(dataclasses.replace(filters, q=q))


def customer_export(actor: Actor, filters: CustomerFilters, fmt: str) -> HttpResponse:
    actor.require("customers", "export")
    if fmt not in ("csv", "xlsx"):
        raise ValidationError({"format": _("Choose csv or xlsx.")})
    customers = list(customer_list(actor=actor, filters=filters)[: MAX_ROWS + 1])
    if len(customers) > MAX_ROWS:
        raise ValidationError(
            {"": _("More than %(n)d customers match: narrow the filters.") % {"n": MAX_ROWS}}
        )
    with transaction.atomic():
        access_record(
            actor=actor,
            kind=AccessRecord.Kind.EXPORT,
            object_type="customers.customer",
            detail=f"{fmt} · {len(customers)} · {_described(filters)}"[:300],
        )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    rows = _rows(actor, customers)
    if fmt == "csv":
        return _csv(rows, f"customers-{stamp}.csv")
    return _xlsx(rows, f"customers-{stamp}.xlsx")


def _csv(rows: Iterator[list[object]], filename: str) -> StreamingHttpResponse:
    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        # A byte-order mark so that Excel opens the UTF-8 file with Chinese intact.
        yield "\ufeff"
        for row in itertools.chain([_header()], rows):
            writer.writerow(row)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _xlsx(rows: Iterator[list[object]], filename: str) -> HttpResponse:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Customers"))
    sheet.append(_header())
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(
        out.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
