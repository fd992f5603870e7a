"""Customers imported a batch at a time (design.md §4.6: bulk paths are not side doors).

Each row is validated and normalised by the customer master's own functions, the ones
manual entry uses (``clean_customer``, ``derive_customer``), then the batch is written
with one statement per table: golden records, relationships, lineage, provenance, and
the audit chain (one record per batch for what it created, one per changed record).
Per row, a service call costs tens of statements and about 40 ms; a batch of a
thousand rows costs a few dozen statements.

What differs from entering the same rows by hand, and why:
- Similar names are not checked at entry (an import always overrode that check with
  "imported from …"); the batch dedup finds near-duplicates and queues them for review.
- New records are announced by one ``customers.imported`` event per batch, not one
  ``customers.created`` each: nothing follows a record that did not exist, and a million
  events would keep the worker busy for nothing. Updates still publish
  ``customers.updated`` per record, because followers are told of changes.
- An owner who would exceed the unit's pool rule gets no more customers: the rest go to
  the unit's public pool, with a warning on the row.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.audit.models import ChangeRecord
from groupcrm.audit.services import audit_action, audit_many, diff, snapshot
from groupcrm.core.actor import Actor
from groupcrm.core.bulk import copy_rows, insert_rows, new_objects, reserve_ids
from groupcrm.core.errors import DomainError, PermissionDenied, ValidationError
from groupcrm.core.events import publish, publish_many
from groupcrm.customers import search
from groupcrm.customers.models import ChangeRequest, Customer, CustomerRelationship
from groupcrm.customers.normalize import normalize_company_name, normalize_uscc, parse_regions
from groupcrm.customers.reference import DIVISIONS, is_industry
from groupcrm.customers.selectors import MASKS
from groupcrm.customers.services import (
    clean_customer,
    derive_customer,
    pool_rule,
    reached,
    set_tags,
)
from groupcrm.integration.models import ImportJob, SourceRecord
from groupcrm.integration.survivorship import Survival
from groupcrm.org.models import Membership, User

GRADES = {
    "战略": "strategic",
    "strategic": "strategic",
    "重点": "key",
    "key": "key",
    "成长": "growth",
    "growth": "growth",
    "基础": "basic",
    "basic": "basic",
}
# Written by ``derive_customer``: saved whenever a row changes the record.
DERIVED = (
    "name_key",
    "base_key",
    "pinyin",
    "initials",
    "province",
    "city",
    "district",
    "quality_issues",
    "quality_score",
)


@dataclass
class Row:
    """One file row on its way into the master."""

    number: int
    values: dict[str, str]
    external_id: str
    owner: str
    fields: dict[str, Any]
    tags: list[str] | None = None
    region: tuple[str, str, str] | None = None
    customer: Customer | None = None
    # An earlier row of the same batch with the same id or credit code: this row
    # updates the record that one creates.
    same_as: Row | None = None
    outcome: str = ""
    # Values that could not be used although the row was imported, said on its report.
    notes: list[str] = field(default_factory=list)


@dataclass
class BatchResult:
    outcomes: Counter[str] = field(default_factory=Counter)
    # (row number, row values, why): rejected rows, and warnings on imported ones.
    rejected: list[tuple[int, dict[str, str], DomainError]] = field(default_factory=list)
    warnings: list[tuple[int, dict[str, str], str]] = field(default_factory=list)


def mapped(job: ImportJob, values: dict[str, str]) -> dict[str, str]:
    """The row's values by target field, through the job's column mapping."""
    return {
        target: values.get(column, "").strip() for target, column in job.mapping.items() if column
    }


def _number(value: str, name: str, integer: bool = False) -> Any:
    cleaned = re.sub(r"[,，\s]", "", value)
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationError({name: _("Enter a number.")}) from None
    if integer and number != number.to_integral_value():
        raise ValidationError({name: _("Enter a whole number.")})
    return int(number) if integer else number


@functools.lru_cache(maxsize=1024)
def _industry(value: str) -> str:
    """A division code, or the division whose Chinese or English name matches (a file
    repeats a few values: each is looked up once)."""
    code = value.split()[0]
    if is_industry(code):
        return code
    lowered = value.lower()
    for code, (_section, zh, en) in DIVISIONS.items():
        if value == zh or lowered == en.lower() or (len(value) >= 2 and value in zh):
            return code
    return ""


def kept_values(job: ImportJob, values: dict[str, str]) -> dict[str, str]:
    """A row as it may be stored (rejected-row report, lineage): the columns that feed a
    contact's personal fields are masked, like everywhere else outside a reveal."""
    if job.entity != ImportJob.Entity.CONTACTS:
        return values
    masked = dict(values)
    for target, mask in MASKS.items():
        column = job.mapping.get(target, "")
        if masked.get(column):
            masked[column] = mask(masked[column])
    return masked


def parse_row(job: ImportJob, number: int, values: dict[str, str]) -> Row:
    """Map, convert and validate one row exactly as manual entry would (ValidationError
    naming the field otherwise)."""
    data = mapped(job, values)
    external_id = data.pop("external_id", "")[:100]
    data.pop("parent_external_id", None)
    data.pop("parent_name", None)
    owner = data.pop("owner", "")
    raw = {k: v for k, v in data.items() if v}
    if "employees" in raw:
        raw["employees"] = _number(raw["employees"], "employees", integer=True)
    if "annual_revenue" in raw:
        raw["annual_revenue"] = _number(raw["annual_revenue"], "annual_revenue")
    notes = []
    if "industry" in raw:
        given, raw["industry"] = raw["industry"], _industry(raw["industry"])
        if not raw["industry"]:
            notes.append(
                _("Industry “%(value)s” is not in the national classification: left empty.")
                % {"value": given}
            )
    if "group_grade" in raw:
        given, raw["group_grade"] = raw["group_grade"], GRADES.get(raw["group_grade"].lower(), "")
        if not raw["group_grade"]:
            notes.append(_("Group grade “%(value)s” is unknown: left empty.") % {"value": given})
    tags = None
    if "tags" in raw:
        tags = [t for t in re.split(r"[,，;；、]", raw["tags"]) if t.strip()]
        raw["tags"] = tags
    if not raw.get("legal_name"):
        raise ValidationError({"legal_name": _("This field is required.")})
    errors: dict[str, Any] = {}
    fields = clean_customer(raw, errors)
    if errors:
        raise ValidationError(errors)
    if tags is not None:
        tags = fields.pop("tags")
    row = Row(number, values, external_id, owner, {k: v for k, v in fields.items() if v}, tags)
    row.notes = notes
    return row


class Owners:
    """People named in a file (account managers, authors), resolved once per name: a
    user who is a member of the job's unit (or below), else nobody."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.known: dict[str, int | None] = {}

    def __call__(self, value: str) -> int | None:
        if value not in self.known:
            self.known[value] = self._find(value)
        return self.known[value]

    def _find(self, value: str) -> int | None:
        if not value:
            return None
        user = User.objects.filter(
            Q(username__iexact=value) | Q(email__iexact=value) | Q(display_name=value),
            is_active=True,
        ).first()
        member = (
            user is not None
            and Membership.objects.filter(
                user=user, is_active=True, bu__path__startswith=self.job.bu.path
            ).exists()
        )
        return user.pk if user and member else None


def customer_batch(
    job: ImportJob,
    actor: Actor,
    batch: list[tuple[int, dict[str, str]]],
    *,
    survive: Survival,
) -> BatchResult:
    """Import one batch of customer rows inside the caller's transaction. ``survive``
    picks, for an existing record, which incoming values it takes, and remembers where
    every value came from."""
    actor.require("customers", "create")
    result = BatchResult()
    rows = []
    for number, values in batch:
        try:
            rows.append(parse_row(job, number, values))
        except ValidationError as exc:
            result.rejected.append((number, values, exc))
    addresses = [row for row in rows if row.fields.get("address")]
    for row, region in zip(
        addresses, parse_regions([r.fields["address"] for r in addresses]), strict=True
    ):
        row.region = region
    result.warnings += [(row.number, row.values, note) for row in rows for note in row.notes]
    new, existing = _match(job, rows, result)
    created = _create(actor, job, new)
    for row, customer in zip(new, created, strict=True):
        survive.created(customer.pk, {**row.fields, "tags": row.tags or []})
    for row in existing:
        if row.same_as is not None:
            row.customer = row.same_as.customer
    survive.preload(row.customer.pk for row in existing if row.customer)
    updated = _update(actor, existing, survive, result)
    relationships = _relationships(actor, job, [*new, *existing], result)
    survive.remember(lineage(job, ImportJob.Entity.CUSTOMERS, [*new, *existing]))
    if created or relationships:
        # New rows are audited once per batch, on the job (which ids, from which file
        # rows); the lineage keeps each row as it came. Changes to existing records
        # are audited per record, field by field, in ``_update``.
        audit_action(
            actor=actor,
            obj=job,
            verb="import_batch",
            changes={
                "rows": [batch[0][0], batch[-1][0]],
                "customers_created": [c.pk for c in created],
                "relationships_started": relationships,
            },
        )
        publish(
            actor=actor,
            name="customers.imported",
            payload={
                "job_id": job.pk,
                "customer_ids": [c.pk for c in created],
                "relationship_ids": relationships,
            },
        )
    publish_many(
        actor=actor,
        events=(
            ("customers.updated", {"customer_id": customer.pk, "fields": fields})
            for customer, fields in updated
        ),
    )
    result.outcomes.update(row.outcome for row in [*new, *existing])
    return result


def _match(job: ImportJob, rows: list[Row], result: BatchResult) -> tuple[list[Row], list[Row]]:
    """Find each row's golden record: by (source, external id), then by credit code, a row
    with neither by its legal name among the records its source fed, then among the
    batch's own earlier rows. Returns (rows to create, rows that update)."""
    by_source = dict(
        SourceRecord.objects.filter(
            source=job.source,
            entity=ImportJob.Entity.CUSTOMERS,
            external_id__in=[r.external_id for r in rows if r.external_id],
            customer__isnull=False,
        ).values_list("external_id", "customer_id")
    )
    by_uscc = dict(
        Customer.objects.filter(
            uscc__in=[r.fields["uscc"] for r in rows if r.fields.get("uscc")]
        ).values_list("uscc", "pk")
    )
    by_name = _fed_by_name(job, [r for r in rows if not r.external_id and not r.fields.get("uscc")])
    found = Customer.objects.in_bulk([*by_source.values(), *by_uscc.values(), *by_name.values()])
    new: list[Row] = []
    existing: list[Row] = []
    first_of: dict[tuple[str, str], Row] = {}  # earlier rows of this batch by key
    for row in rows:
        keys = [("id", row.external_id)] if row.external_id else []
        if row.fields.get("uscc"):
            keys.append(("uscc", row.fields["uscc"]))
        pk = by_source.get(row.external_id) or by_uscc.get(row.fields.get("uscc"))
        if not keys:
            keys.append(("name", row.fields["legal_name"]))
            pk = by_name.get(row.fields["legal_name"])
        earlier = next((first_of[k] for k in keys if k in first_of), None)
        if pk is not None:
            row.customer = found[pk]
            if row.customer.status != Customer.Status.ACTIVE:
                result.rejected.append(
                    (
                        row.number,
                        row.values,
                        ValidationError({"": _("Only active customers can be worked with.")}),
                    )
                )
                continue
            existing.append(row)
        elif earlier is not None:
            row.same_as = earlier
            existing.append(row)
        else:
            new.append(row)
        for key in keys:
            first_of.setdefault(key, row)
    return new, existing


def _fed_by_name(job: ImportJob, rows: list[Row]) -> dict[str, int]:
    """For rows with neither an id nor a credit code: the record that an earlier row of
    the same source under the same legal name created or fed, when there is exactly one,
    so that importing a corrected spreadsheet without ids again updates it instead of
    adding the company twice. Similar names in other sources are the batch dedup's."""
    names = {row.fields["legal_name"] for row in rows}
    if not names:
        return {}
    found: dict[str, set[int]] = {}
    for name, pk in (
        Customer.objects.filter(
            name_key__in={normalize_company_name(name)[:200] for name in names},  # indexed
            source_records__source=job.source,
            source_records__entity=ImportJob.Entity.CUSTOMERS,
        )
        .exclude(status=Customer.Status.MERGED)
        .values_list("legal_name", "pk")
        .distinct()
    ):
        if name in names:
            found.setdefault(name, set()).add(pk)
    return {name: pks.pop() for name, pks in found.items() if len(pks) == 1}


def _create(actor: Actor, job: ImportJob, rows: list[Row]) -> list[Customer]:
    creator = actor.user_id
    customers = new_objects(
        Customer,
        (
            {"id": pk, **row.fields, "source": Customer.Source.IMPORT, "created_by_id": creator}
            for row, pk in zip(rows, reserve_ids(Customer, len(rows)), strict=True)
        ),
    )
    for row, customer in zip(rows, customers, strict=True):
        derive_customer(customer, row.region)
        customer.path, customer.depth = customer.own_segment(), 0
        customer.search_text = search.document(customer, [])
        row.customer, row.outcome = customer, "created"
    insert_rows(customers)
    for row in rows:
        if row.tags:
            set_tags(row.customer, row.tags)  # type: ignore[arg-type]
    search.index_new(customers)
    return customers


def _reachable(actor: Actor, rows: list[Row]) -> set[int]:
    """The records of ``rows`` the actor may change (``reached``): those a unit within
    their scope works with (all with a group-wide grant), and those this import just
    created."""
    if not actor.can("customers", "change"):
        return set()
    ids = {row.customer.pk for row in rows if row.customer and row.same_as is None}
    created = {row.customer.pk for row in rows if row.same_as and row.customer}
    return reached(actor, ids, "customers", "change") | created


def _update(
    actor: Actor, rows: list[Row], survive: Survival, result: BatchResult
) -> list[tuple[Customer, list[str]]]:
    """Apply the winning values of each row to its record; rows of the same record in
    one batch apply in file order. A record no unit of the actor works with is left as
    it is (only engaged units change a golden record), with a warning on the row.
    Returns (record, changed fields) per changed record."""
    reachable = _reachable(actor, rows)
    before: dict[int, dict[str, Any]] = {}
    changed: dict[int, Customer] = {}
    names: set[str] = set()
    for row in rows:
        customer = row.customer
        assert customer is not None
        if customer.pk not in reachable:
            row.outcome = "matched"
            result.warnings.append(
                (
                    row.number,
                    row.values,
                    _(
                        "Matched an existing customer your unit does not work with yet: its "
                        "record was left as it is, and your unit's relationship was started."
                    ),
                )
            )
            continue
        guarded = [
            str(Customer._meta.get_field(name).verbose_name)
            for name in ChangeRequest.APPROVAL_FIELDS
            if row.fields.get(name) and row.fields[name] != getattr(customer, name)
        ]
        if guarded:
            result.warnings.append(
                (
                    row.number,
                    row.values,
                    _(
                        "Not changed: %(fields)s differ from the master record and change only "
                        "through a change request approved by a second person."
                    )
                    % {"fields": "、".join(guarded)},
                )
            )
        changes = survive(customer, row.fields)
        tags_changed = row.tags is not None and sorted(row.tags) != sorted(
            customer.tags.values_list("name", flat=True)
        )
        row.outcome = "updated" if changes or tags_changed else "matched"
        if tags_changed:
            set_tags(customer, row.tags)  # type: ignore[arg-type]
        if not changes:
            continue
        before.setdefault(customer.pk, snapshot(customer))
        for name, value in changes.items():
            setattr(customer, name, value)
        derive_customer(customer, row.region if "address" in changes else None)
        changed[customer.pk] = customer
        names |= changes.keys()
    if not changed:
        return []
    now = timezone.now()
    for customer in changed.values():
        customer.updated_at = now
    Customer.objects.bulk_update(
        list(changed.values()), [*sorted(names), *DERIVED, "updated_at"], batch_size=1000
    )
    search.reindex(changed.keys())
    diffs = {pk: diff(before[pk], snapshot(c)) for pk, c in changed.items()}
    audit_many(
        actor=actor,
        entries=((c, ChangeRecord.Action.UPDATE, diffs[c.pk]) for c in changed.values()),
        verb="import",
    )
    return [(c, sorted(diffs[c.pk])) for c in changed.values() if diffs[c.pk]]


def _relationships(actor: Actor, job: ImportJob, rows: list[Row], result: BatchResult) -> list[int]:
    """The job's unit starts a relationship with every customer of the batch it does not
    work with yet: owned by the named account manager while the pool rule allows, else
    in the unit's public pool. Returns the new relationships' ids."""
    ids = {row.customer.pk for row in rows if row.customer}
    have = set(
        CustomerRelationship.objects.filter(bu=job.bu, customer_id__in=ids).values_list(
            "customer_id", flat=True
        )
    )
    owners = Owners(job)
    wanted = {row.customer.pk: owners(row.owner) for row in rows if row.customer}  # last wins
    owner_ids = {o for o in wanted.values() if o}
    owned = dict(
        CustomerRelationship.objects.filter(bu=job.bu, owner_id__in=owner_ids)
        .values_list("owner_id")
        .annotate(n=Count("pk"))
    )
    limit = pool_rule(job.bu_id, unit=job.bu).max_owned
    now = timezone.now()
    new: list[tuple[int, int | None, dt.datetime | None]] = []  # customer, owner, claimed
    for row in rows:
        customer = row.customer
        if customer is None or customer.pk in have:
            continue
        have.add(customer.pk)
        owner_id = wanted[customer.pk]
        if row.owner and not owner_id:
            result.warnings.append(
                (
                    row.number,
                    row.values,
                    _(
                        "Imported into the public pool: “%(name)s” is not an active member of "
                        "%(unit)s."
                    )
                    % {"name": row.owner, "unit": job.bu.name},
                )
            )
        if owner_id and owned.get(owner_id, 0) >= limit:
            result.warnings.append(
                (
                    row.number,
                    row.values,
                    _(
                        "Imported into the public pool: %(name)s already owns %(n)d customers "
                        "in %(unit)s, the most the unit allows."
                    )
                    % {"name": row.owner, "n": owned[owner_id], "unit": job.bu.name},
                )
            )
            owner_id = None
        if owner_id:
            owned[owner_id] = owned.get(owner_id, 0) + 1
        new.append((customer.pk, owner_id, now if owner_id else None))
    ids = reserve_ids(CustomerRelationship, len(new))
    copy_rows(
        CustomerRelationship,
        ("id", "customer_id", "bu_id", "owner_id", "claimed_at"),
        [
            (pk, customer_id, job.bu_id, owner_id, claimed_at)
            for pk, (customer_id, owner_id, claimed_at) in zip(ids, new, strict=True)
        ],
    )
    if not ids:
        return ids
    allowed = CustomerRelationship.objects.visible_to(actor, "create").filter(pk__in=ids)
    if allowed.count() != len(ids):
        raise PermissionDenied()  # the batch rolls back: nothing escapes the actor's scope
    return ids


def lineage(job: ImportJob, entity: str, rows: list[Any]) -> dict[int, int]:
    """Keep each row as the source record of what it fed (its ``customer``, and its
    ``contact`` or ``followup`` when it has one): a row with an id in its system updates the record
    kept for that id (the last row of an id wins), a row without one is kept as the row
    of this job. Returns customer id → latest record."""
    rows = sorted(rows, key=lambda row: row.number)
    latest = {row.external_id: row for row in rows if row.external_id}
    kept = {
        record.external_id: record
        for record in SourceRecord.objects.filter(
            source=job.source, entity=entity, external_id__in=list(latest)
        ).only("external_id", "row", "payload", "received_at", "job_id", "earlier")
    }
    known = {external_id: record.pk for external_id, record in kept.items()}
    fresh = [
        row
        for row in rows
        if not row.external_id or (latest[row.external_id] is row and row.external_id not in known)
    ]
    ids = dict(zip(map(id, fresh), reserve_ids(SourceRecord, len(fresh)), strict=True))

    def fed(row: Any) -> tuple[int | None, int | None, int | None]:
        linked = (getattr(row, name, None) for name in ("customer", "contact", "followup"))
        return tuple(obj.pk if obj else None for obj in linked)  # type: ignore[return-value]

    copy_rows(
        SourceRecord,
        (
            "id",
            "source_id",
            "entity",
            "external_id",
            "row",
            "payload",
            "job_id",
            "customer_id",
            "contact_id",
            "followup_id",
        ),
        [
            (
                ids[id(row)],
                job.source_id,
                entity,
                row.external_id,
                row.number,
                row.values,
                job.pk,
                *fed(row),
            )
            for row in fresh
        ],
    )
    now = timezone.now()
    again = [
        SourceRecord(
            pk=known[external_id],
            row=row.number,
            payload=row.values,
            job=job,
            customer_id=fed(row)[0],
            contact_id=fed(row)[1],
            followup_id=fed(row)[2],
            received_at=now,
            earlier=_earlier(kept[external_id], row.values),
        )
        for external_id, row in latest.items()
        if external_id in known
    ]
    SourceRecord.objects.bulk_update(
        again,
        ["row", "payload", "job", "customer", "contact", "followup", "received_at", "earlier"],
        batch_size=1000,
    )
    return {
        row.customer.pk: known.get(row.external_id) or ids[id(row)]
        for row in rows
        if row.customer and (not row.external_id or latest[row.external_id] is row)
    }


def _earlier(record: SourceRecord, values: dict[str, str]) -> list[dict[str, Any]]:
    """``SourceRecord.earlier`` once ``values`` replace the kept row: the kept row goes
    first, unless it said the same (a nightly sync of unchanged data keeps one copy)."""
    if record.payload == values:
        return record.earlier
    arrival = {
        "received_at": record.received_at.isoformat(),
        "job_id": record.job_id,
        "row": record.row,
        "payload": record.payload,
    }
    return [arrival, *record.earlier]


def find_customer(job: ImportJob, external_id: str, name: str) -> Customer | None:
    """A company named in a file: by its id in the job's source, else by its name (the
    legal name, or the same normalised name), never a merged record."""
    if external_id:
        record = (
            SourceRecord.objects.filter(
                source=job.source, entity=ImportJob.Entity.CUSTOMERS, external_id=external_id
            )
            .select_related("customer")
            .first()
        )
        if record and record.customer:
            return record.customer
    if name:
        key = normalize_company_name(name)
        return (
            Customer.objects.filter(Q(legal_name=name) | Q(name_key=key))
            .exclude(status=Customer.Status.MERGED)
            .order_by("pk")
            .first()
        )
    return None


class Companies:
    """The company of a contact or follow-up row: by its id in the job's source, then its
    credit code, then its name; ValidationError when it is nowhere. A file names the
    same companies again and again: ids are looked up a batch at a time (``prefetch``),
    and every answer is kept for the batch."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.known: dict[tuple[str, str, str], Customer | None] = {}
        self.by_id: dict[str, Customer] = {}

    def prefetch(self, external_ids: Iterable[str]) -> None:
        wanted = {e for e in external_ids if e and e not in self.by_id}
        for record in SourceRecord.objects.filter(
            source=self.job.source,
            entity=ImportJob.Entity.CUSTOMERS,
            external_id__in=wanted,
            customer__isnull=False,
        ).select_related("customer"):
            self.by_id[record.external_id] = record.customer  # type: ignore[assignment]

    def __call__(self, external_id: str, uscc: str, name: str) -> Customer:
        if external_id in self.by_id:
            return self.by_id[external_id]
        key = (external_id, uscc, name)
        if key not in self.known:
            self.known[key] = self._find(external_id, uscc, name)
        found = self.known[key]
        if found is None:
            raise ValidationError(
                {
                    "customer": _(
                        "The company of this row is neither in this source nor in the master."
                    )
                }
            )
        return found

    def _find(self, external_id: str, uscc: str, name: str) -> Customer | None:
        if external_id and (found := find_customer(self.job, external_id, "")):
            return found
        if uscc:
            try:
                found = Customer.objects.filter(uscc=normalize_uscc(uscc)).first()
            except ValueError:
                found = None
            if found:
                return found
        return find_customer(self.job, "", name) if name else None


def with_companies(
    job: ImportJob, batch: list[tuple[int, dict[str, str]]], company: Companies, result: BatchResult
) -> list[tuple[int, dict[str, str], Customer]]:
    """Each row with its company (rows whose company is nowhere go to the rejected)."""
    company.prefetch(mapped(job, values).get("customer_external_id", "") for _n, values in batch)
    found = []
    for number, values in batch:
        data = mapped(job, values)
        try:
            customer = company(
                data.get("customer_external_id", ""),
                data.get("customer_uscc", ""),
                data.get("customer_name", ""),
            )
        except ValidationError as exc:
            result.rejected.append((number, values, exc))
        else:
            found.append((number, values, customer))
    return found


def already_imported(
    job: ImportJob, entity: str, link: str, rows: list[Any]
) -> tuple[list[Any], dict[str, int]]:
    """The rows a batch writes (of one id twice, the later row, as across batches), and
    for each id imported before from this source, the pk of what it fed (``link``)."""
    latest = {row.external_id: row for row in rows if row.external_id}
    kept = [row for row in rows if not row.external_id or latest[row.external_id] is row]
    known = dict(
        SourceRecord.objects.filter(
            source=job.source,
            entity=entity,
            external_id__in=list(latest),
            **{f"{link}__isnull": False},
        ).values_list("external_id", f"{link}_id")
    )
    return kept, known
