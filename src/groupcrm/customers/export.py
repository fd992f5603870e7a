"""CSV and XLSX export of the customer list and of contact lists: the list's own filters
and scope, personal data masked as on screen, an access record per export (design.md §7).

One writer serves both lists and both ways out: a download at once for a small set, or
a file written by a background job (integration.exports) for a large one. Rows are read
in chunks of ids, so neither path holds the whole table in memory."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import FileResponse, HttpResponse, QueryDict, StreamingHttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from groupcrm.audit.models import AccessRecord
from groupcrm.audit.services import access_record
from groupcrm.core import pii
from groupcrm.core.actor import Actor
from groupcrm.core.errors import ValidationError
from groupcrm.core.permissions import DataScope
from groupcrm.customers.models import Contact, Customer, CustomerRelationship
from groupcrm.customers.reference import industry_label
from groupcrm.customers.search import PHONE_LIKE
from groupcrm.customers.selectors import (
    MASKS,
    SORTS,
    CustomerFilters,
    Ranked,
    contact_list,
    customer_list,
    masked,
    reclaim_dates,
    relationship_list,
    relationships_by_customer,
)

BATCH = 1000
FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CUSTOMER_FILTERS = tuple(f.name for f in fields(CustomerFilters))
ID_FILTERS = ("bu_id", "owner_id", "customer_id")

Rows = Iterator[list[object]]


class TooManyRows(ValidationError):
    """More rows than a download at once may carry; the UI turns this into a job."""

    code = "too_many_rows"


@dataclass(frozen=True)
class Sheet:
    """One exportable list: who may export it, how to find its ids, how to write rows."""

    entity: str
    module: str
    object_type: str
    title: Promise
    filters: tuple[str, ...]
    header: Callable[[], list[str]]
    ids: Callable[[Actor, Mapping[str, str]], list[int]]
    rows: Callable[[Actor, list[int]], Rows]


# --- customers ---------------------------------------------------------------------------


def _customer_header() -> list[str]:
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


def _customers(actor: Actor, filters: Mapping[str, str]) -> Any:
    return customer_list(actor=actor, filters=CustomerFilters.from_query(filters))


def _customer_ids(actor: Actor, filters: Mapping[str, str]) -> list[int]:
    items = _customers(actor, filters)
    return items.pks() if isinstance(items, Ranked) else list(items.values_list("pk", flat=True))


def _owner(rel: CustomerRelationship) -> str:
    return (rel.owner.display_name or rel.owner.username) if rel.owner else _("pool")


def _customer_rows(actor: Actor, ids: list[int]) -> Rows:
    language = get_language() or "zh-hans"
    found = Customer.objects.in_bulk(ids)
    rels = relationships_by_customer(actor=actor, customer_ids=ids)
    key_contacts: dict[int, Contact] = {}
    if actor.can("contacts", "view"):
        for contact in Contact.objects.filter(
            customer_id__in=ids, status=Contact.Status.ACTIVE
        ).order_by("customer_id", "role", "pk"):
            key_contacts.setdefault(contact.customer_id, contact)
    tags: dict[int, list[str]] = {}
    for customer_id, name in Customer.tags.through.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "tag__name"
    ):
        tags.setdefault(customer_id, []).append(name)
    for c in (found[pk] for pk in ids if pk in found):
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


# --- contacts ----------------------------------------------------------------------------


def _contact_header() -> list[str]:
    return [
        _("ID"),
        _("Customer ID"),
        _("Customer"),
        _("Name"),
        _("Job title"),
        _("Department"),
        _("Role in the decision"),
        _("Status"),
        *(str(Contact._meta.get_field(name).verbose_name) for name in MASKS),
        _("Preferred channel"),
    ]


def _contact_ids(actor: Actor, filters: Mapping[str, str]) -> list[int]:
    """With ``customer_id``: that customer's contact list (the 360° page); otherwise the
    contacts of the customers the customer list's filters find.

    Contacts are shared group-wide on screen, but taking them out in bulk is limited to
    customers the exporter's units work with, unless their export right is group-wide."""
    actor.require("contacts", "view")
    if "customer_id" in filters:
        items = contact_list(actor=actor, customer_id=int(filters["customer_id"]))
    else:
        customers = _customers(actor, filters)
        within = customers.pks() if isinstance(customers, Ranked) else customers.values("pk")
        items = Contact.objects.filter(customer_id__in=within).order_by(
            "customer__legal_name", "customer_id", "status", "role", "name", "pk"
        )
    if actor.widest_scope("contacts", "export") != DataScope.GROUP:
        engaged = CustomerRelationship.objects.visible_to(actor, "view")
        items = items.filter(Exists(engaged.filter(customer=OuterRef("customer_id"))))
    return list(items.values_list("pk", flat=True))


def _contact_rows(actor: Actor, ids: list[int]) -> Rows:
    found = Contact.objects.select_related("customer").in_bulk(ids)
    for c in (found[pk] for pk in ids if pk in found):
        shown = masked(c)
        yield [
            c.pk,
            c.customer_id,
            c.customer.legal_name,
            c.name,
            c.title,
            c.department,
            c.get_role_display(),
            c.get_status_display(),
            *(shown[name] for name in MASKS),
            c.get_preferred_channel_display() if c.preferred_channel else "",
        ]


# --- a unit's relationships (我的客户) -------------------------------------------------------


def _relationship_header() -> list[str]:
    return [
        _("ID"),
        _("Customer ID"),
        _("Customer"),
        _("Unit"),
        _("Account manager"),
        _("Stage"),
        _("Unit grade"),
        _("Last follow-up"),
        _("Returns to the pool"),
        _("Protected until"),
    ]


def _relationship_ids(actor: Actor, filters: Mapping[str, str]) -> list[int]:
    """The relationships 我的客户 lists with these filters."""
    items = relationship_list(
        actor=actor,
        mine=filters.get("mine") in ("1", "true", "on"),
        stage=filters.get("stage", ""),
    )
    return list(items.values_list("pk", flat=True))


def _relationship_rows(actor: Actor, ids: list[int]) -> Rows:
    found = CustomerRelationship.objects.select_related("customer", "bu", "owner").in_bulk(ids)
    for rel, returns in reclaim_dates(found[pk] for pk in ids if pk in found):
        followed = timezone.localtime(rel.last_followup_at) if rel.last_followup_at else None
        yield [
            rel.pk,
            rel.customer_id,
            rel.customer.legal_name,
            rel.bu.name,
            _owner(rel),
            rel.get_stage_display(),
            rel.grade,
            followed.strftime("%Y-%m-%d %H:%M") if followed else "",
            returns.isoformat() if returns else "",
            rel.protected_until.isoformat() if rel.protected_until else "",
        ]


SHEETS: dict[str, Sheet] = {
    "customers": Sheet(
        entity="customers",
        module="customers",
        object_type="customers.customer",
        title=gettext_lazy("Customers"),
        filters=CUSTOMER_FILTERS,
        header=_customer_header,
        ids=_customer_ids,
        rows=_customer_rows,
    ),
    "relationships": Sheet(
        entity="relationships",
        module="customers",
        object_type="customers.customerrelationship",
        title=gettext_lazy("Customer relationships"),
        filters=("mine", "stage"),
        header=_relationship_header,
        ids=_relationship_ids,
        rows=_relationship_rows,
    ),
    "contacts": Sheet(
        entity="contacts",
        module="contacts",
        object_type="customers.contact",
        title=gettext_lazy("Contacts"),
        filters=(*CUSTOMER_FILTERS, "customer_id"),
        header=_contact_header,
        ids=_contact_ids,
        rows=_contact_rows,
    ),
}


# --- input -------------------------------------------------------------------------------


def sheet_for(entity: str) -> Sheet:
    if entity not in SHEETS:
        raise ValidationError(
            {"entity": _("Choose customers, contacts or customer relationships.")}
        )
    return SHEETS[entity]


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValidationError({"format": _("Choose csv or xlsx.")})


def picked_filters(entity: str, query: Mapping[str, Any]) -> dict[str, str]:
    """A list page's query string keeps only the list's filters (not page, format…)."""
    names = sheet_for(entity).filters
    return {name: query.get(name, "") for name in names if name in query}


def clean_filters(entity: str, filters: Any) -> dict[str, str]:
    """Filters as the list reads them (text), checked: unknown names, values that are
    not text, whole numbers or true/false, and unknown sorts or statuses are refused."""
    if not isinstance(filters, Mapping):
        raise ValidationError({"filters": _("Enter an object.")})
    allowed = sheet_for(entity).filters
    problems: list[str] = []
    unknown = sorted(str(name) for name in filters if name not in allowed)
    if unknown:
        problems.append(_("Unknown filter: %(names)s.") % {"names": ", ".join(unknown)})
    clean: dict[str, str] = {}
    for name, value in filters.items():
        if name not in allowed:
            continue
        if isinstance(value, bool):
            value = "1" if value else ""
        elif isinstance(value, int | str):
            value = str(value).strip()
        else:
            problems.append(_("%(name)s: enter text, a number or true/false.") % {"name": name})
            continue
        if value:
            clean[name] = value
    for name in ID_FILTERS:
        # isdecimal, not isdigit: int() refuses digits such as ² that isdigit accepts.
        if name in clean and not clean[name].isdecimal():
            problems.append(_("%(name)s: enter a whole number.") % {"name": name})
    if "sort" in clean and clean["sort"] not in SORTS:
        problems.append(_("sort: this value is not one of the allowed choices."))
    if "stage" in clean and clean["stage"] not in CustomerRelationship.Stage.values:
        problems.append(_("stage: this value is not one of the allowed choices."))
    if "status" in clean and clean["status"] not in Customer.Status.values:
        problems.append(_("status: this value is not one of the allowed choices."))
    customer_id = clean.get("customer_id", "")
    if customer_id.isdecimal() and not Customer.objects.filter(pk=int(customer_id)).exists():
        problems.append(_("customer_id: no such customer."))
    if problems:
        raise ValidationError({"filters": problems})
    return clean


# --- writing -----------------------------------------------------------------------------


def export_rows(
    actor: Actor, sheet: Sheet, ids: list[int], progress: Callable[[int], None] | None = None
) -> Rows:
    """The rows of ``ids`` in order, read a chunk at a time; ``progress(done)`` after each."""
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        yield from sheet.rows(actor, chunk)
        if progress:
            progress(start + len(chunk))


def csv_chunks(header: list[str], rows: Rows) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # A byte-order mark so that Excel (set to Chinese) opens the UTF-8 file intact.
    yield "\ufeff"
    for row in itertools.chain([header], rows):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def xlsx_write(sheet: Sheet, rows: Rows, target: Path | IO[bytes]) -> None:
    # Write-only mode streams rows to disk instead of building the sheet in memory.
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    page = book.create_sheet(str(sheet.title))
    page.append(sheet.header())
    for row in rows:
        page.append(row)
    book.save(target)


def write_file(sheet: Sheet, rows: Rows, fmt: str, path: Path) -> None:
    if fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as out:
            out.writelines(csv_chunks(sheet.header(), rows))
    else:
        xlsx_write(sheet, rows, path)


def filename(sheet: Sheet, fmt: str, at: Any = None, *, ascii_only: bool = False) -> str:
    stamp = timezone.localtime(at).strftime("%Y%m%d-%H%M")
    name = sheet.entity if ascii_only else str(sheet.title)
    return f"{name}-{stamp}.{fmt}"


def attachment(name: str, fallback: str) -> str:
    """Content-Disposition per RFC 6266/5987: the UTF-8 name (客户-….csv) for browsers,
    an ASCII fallback for the few clients that do not read ``filename*``."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


def file_response(path: Path, name: str, fallback: str) -> FileResponse:
    """A written export file as a download."""
    response = FileResponse(path.open("rb"), content_type=CONTENT_TYPES[path.suffix[1:]])
    response["Content-Disposition"] = attachment(name, fallback)
    return response


def masked_filters(filters: Mapping[str, str]) -> dict[str, str]:
    """Filters as the access log and the audit trail keep them: a searched phone number
    is masked, as it is everywhere outside the search itself."""
    shown = dict(filters)
    if PHONE_LIKE.match(shown.get("q", "")):
        shown["q"] = pii.mask_phone(shown["q"])
    return shown


def export_logged(
    *, actor: Actor, sheet: Sheet, fmt: str, rows: int, filters: Mapping[str, str], job: str = ""
) -> AccessRecord:
    """The access record of an export; a searched phone number is masked there too."""
    shown = masked_filters(filters)
    described = ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))
    return access_record(
        actor=actor,
        kind=AccessRecord.Kind.EXPORT,
        object_type=sheet.object_type,
        object_id=job,
        detail=f"{fmt} · {rows} · {described}",
    )


def inline_limit() -> int:
    return settings.EXPORT_INLINE_MAX_ROWS


def list_export(*, actor: Actor, entity: str, fmt: str, filters: Mapping[str, Any]) -> HttpResponse:
    """The list as a download at once; more rows than ``EXPORT_INLINE_MAX_ROWS`` raise
    TooManyRows (a background export, integration.exports, takes those)."""
    sheet = sheet_for(entity)
    actor.require(sheet.module, "export")
    check_format(fmt)
    return sheet_response(
        actor=actor,
        sheet=sheet,
        fmt=fmt,
        filters=clean_filters(entity, filters),
        too_many=_("More than %(n)d rows match: narrow the filters or start a background export."),
    )


def sheet_download(
    *, actor: Actor, sheet: Sheet, fmt: str, query: Mapping[str, str]
) -> HttpResponse:
    """Another module's list (``sheet``: leads, quotes, contracts…) as a download, with
    the list's own filters read from ``query`` and the viewer's scope; needs
    ``<sheet.module>.export``. More than ``EXPORT_INLINE_MAX_ROWS`` rows are refused
    (422 ``too_many_rows``): narrow the filters."""
    actor.require(sheet.module, "export")
    check_format(fmt)
    return sheet_response(
        actor=actor,
        sheet=sheet,
        fmt=fmt,
        filters={name: query[name] for name in sheet.filters if query.get(name)},
        too_many=_("More than %(n)d rows match: narrow the filters."),
    )


def as_query(filters: Mapping[str, str]) -> QueryDict:
    """Export filters as the query a list's ``Filters.from_query`` reads."""
    query = QueryDict(mutable=True)
    query.update(filters)
    return query


def sheet_response(
    *, actor: Actor, sheet: Sheet, fmt: str, filters: dict[str, str], too_many: str
) -> HttpResponse:
    """The rows ``filters`` pick, as a CSV stream or an XLSX file, with an access record;
    the caller has checked the permission, the format and the filters. ``too_many`` (with
    ``%(n)d``) says what to do when more rows match than may be downloaded at once."""
    ids = sheet.ids(actor, filters)
    if len(ids) > inline_limit():
        raise TooManyRows({"": too_many % {"n": inline_limit()}})
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
