"""Contacts imported a batch at a time.

Row by row through ``contact_create`` a contact cost a dozen statements (its company's
search text recomputed each time, a change record, an event): about 30 rows/s, so a
group's three million contacts would take days. Here each row is validated by the
customer master's own ``clean_contact``, personal values are encrypted and indexed as
``contact_create`` does, and the batch is written with one statement per table:
- one change record per new contact (personal values never enter it), chained in one
  INSERT, so every contact keeps its own history;
- the search text of each company touched, recomputed once per batch;
- one ``customers.contacts_imported`` event per batch instead of one
  ``customers.contact_added`` per contact (nothing follows a contact that did not exist);
- the lineage, with the columns mapped to personal fields masked.
A contact imported again by its id in the source is updated (and moved to its new
company) through ``contact_update`` / ``contact_move``, each row in its savepoint, as
before: a correction file is small, and its changes are audited field by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from groupcrm.audit.models import ChangeRecord
from groupcrm.audit.services import audit_many, snapshot
from groupcrm.core.actor import Actor
from groupcrm.core.errors import DomainError, PermissionDenied, ValidationError
from groupcrm.core.events import publish
from groupcrm.customers import search
from groupcrm.customers import services as customers
from groupcrm.customers.models import Contact, Customer
from groupcrm.integration.bulk import (
    BatchResult,
    Companies,
    already_imported,
    kept_values,
    lineage,
    mapped,
    with_companies,
)
from groupcrm.integration.models import ImportJob


@dataclass
class ContactRow:
    number: int
    raw: dict[str, str]  # as in the file
    values: dict[str, str]  # as kept: personal columns masked
    external_id: str
    customer: Customer
    fields: dict[str, Any]  # as in the file, for an update through the services
    cleaned: dict[str, Any]  # as a new contact takes them
    contact: Contact | None = None


def _parse(job: ImportJob, number: int, values: dict[str, str], customer: Customer) -> ContactRow:
    data = mapped(job, values)
    external_id = data.pop("external_id", "")[:100]
    for name in ("customer_external_id", "customer_uscc", "customer_name"):
        data.pop(name, None)
    fields = {k: v for k, v in data.items() if v}
    if not fields.get("name"):
        raise ValidationError({"name": _("This field is required.")})
    errors: dict[str, Any] = {}
    cleaned = customers.clean_contact(fields, errors)
    if errors:
        raise ValidationError(errors)
    return ContactRow(
        number, values, kept_values(job, values), external_id, customer, fields, cleaned
    )


def contact_batch(
    job: ImportJob, actor: Actor, batch: list[tuple[int, dict[str, str]]], *, company: Companies
) -> BatchResult:
    """Import one batch of contact rows inside the caller's transaction."""
    actor.require("contacts", "create")
    result = BatchResult()
    found = with_companies(job, batch, company, result)
    reach = customers.reached(actor, (c.pk for _n, _v, c in found), "contacts", "create")
    rows: list[ContactRow] = []
    for number, values, customer in found:
        try:
            if customer.pk not in reach:
                customers.ensure_reach(actor, customer, "contacts", "create")  # says why
            rows.append(_parse(job, number, values, customer))
        except (ValidationError, PermissionDenied) as exc:
            result.rejected.append((number, values, exc))
    kept, known = already_imported(job, ImportJob.Entity.CONTACTS, "contact", rows)
    fresh = [row for row in kept if row.external_id not in known]
    again = _update(actor, [row for row in kept if row.external_id in known], known, result)
    created = _create(actor, fresh)
    lineage(job, ImportJob.Entity.CONTACTS, [*fresh, *again])
    # A row overtaken by a later row of the same id counts as an update.
    result.outcomes.update(created=len(fresh), updated=len(again) + len(rows) - len(kept))
    if created:
        publish(
            actor=actor,
            name="customers.contacts_imported",
            payload={"job_id": job.pk, "contact_ids": [c.pk for c in created]},
        )
    return result


def _create(actor: Actor, rows: list[ContactRow]) -> list[Contact]:
    contacts = []
    for row in rows:
        contact = Contact(customer=row.customer, created_by=actor.user, **row.cleaned)
        customers.index_contact(contact)
        contacts.append(contact)
    Contact.objects.bulk_create(contacts)
    for row, contact in zip(rows, contacts, strict=True):
        row.contact = contact
    audit_many(
        actor=actor,
        entries=(
            (c, ChangeRecord.Action.CREATE, {k: [None, v] for k, v in snapshot(c).items()})
            for c in contacts
        ),
    )
    search.reindex(row.customer.pk for row in rows)
    return contacts


def _update(
    actor: Actor, rows: list[ContactRow], known: dict[str, int], result: BatchResult
) -> list[ContactRow]:
    """Contacts imported again: through the contact services, each row in its savepoint
    (a row they refuse is rejected, the others stay)."""
    done = []
    for row in rows:
        try:
            with transaction.atomic():
                contact = customers.contact_update(
                    actor=actor, pk=known[row.external_id], **row.fields
                )
                if contact.customer_id != row.customer.pk:
                    contact = customers.contact_move(
                        actor=actor, pk=contact.pk, customer_id=row.customer.pk
                    )
        except DomainError as exc:
            result.rejected.append((row.number, row.raw, exc))
        else:
            row.contact = contact
            done.append(row)
    return done
