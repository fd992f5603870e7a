"""Follow-ups (跟进记录) imported a batch at a time, for the job's unit.

A CRM migration brings several follow-ups per customer, so they are written like
customers (``bulk.customer_batch``): each row is validated by the customer master's own
``clean_followup``, the one manual entry uses, and the batch is written with one
statement per table. What differs from logging one by hand, and why:
- The author is the person named in the file when they are a member of the job's unit
  (or below), else the person importing (said on the row): history keeps who wrote it.
- The unit must already work with the customer (a relationship, as when logging by
  hand): a follow-up of a unit that does not know the customer is refused, not a new
  relationship in disguise.
- Follow-ups are announced by one ``customers.followups_imported`` event per batch, and
  audited by one change record per batch on the job; a follow-up updated by importing
  its id again is audited on its own, field by field.
- A type that is not one of groupcrm's is kept as a note, with a warning on the row.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from groupcrm.audit.services import audit_action, audit_update, snapshot
from groupcrm.core.actor import Actor
from groupcrm.core.errors import PermissionDenied, ValidationError
from groupcrm.core.events import publish
from groupcrm.customers.models import Contact, Customer, CustomerRelationship, FollowUp
from groupcrm.customers.services import clean_followup
from groupcrm.integration.bulk import (
    BatchResult,
    Companies,
    Owners,
    already_imported,
    lineage,
    mapped,
    with_companies,
)
from groupcrm.integration.models import ImportJob

# 2026-03-01, 2026/3/1, 2026.3.1, 2026年3月1日, each optionally with a time (XLSX cells
# arrive as ISO date-times).
_WHEN = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[ T]+(\d{1,2})[:：](\d{2})(?:[:：](\d{2})(?:\.\d+)?)?)?$"
)
# How other systems name the kinds of follow-up (电话拜访 is a call, 上门拜访 a visit).
_KIND_WORDS = {
    "电话": FollowUp.Kind.CALL,
    "电话拜访": FollowUp.Kind.CALL,
    "call": FollowUp.Kind.CALL,
    "拜访": FollowUp.Kind.VISIT,
    "上门拜访": FollowUp.Kind.VISIT,
    "面谈": FollowUp.Kind.VISIT,
    "会议": FollowUp.Kind.MEETING,
    "meeting": FollowUp.Kind.MEETING,
    "event": FollowUp.Kind.MEETING,
    "邮件": FollowUp.Kind.EMAIL,
    "email": FollowUp.Kind.EMAIL,
    "微信": FollowUp.Kind.WECHAT,
    "短信": FollowUp.Kind.WECHAT,
    "备注": FollowUp.Kind.NOTE,
    "其他": FollowUp.Kind.NOTE,
    "task": FollowUp.Kind.NOTE,
}
# Several contacts in one cell: 王伟、李娜 / 王伟,李娜 / 王伟;李娜.
_NAMES = re.compile(r"[,，、;；/]")


def parse_when(value: str, name: str) -> dt.datetime:
    """A date or date-time as offices write it, in the group's time zone."""
    match = _WHEN.match(value.strip())
    if not match:
        raise ValidationError({name: _("Enter a date such as 2026-03-01 or 2026-03-01 14:30.")})
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        return timezone.make_aware(dt.datetime(year, month, day, hour, minute, second))
    except ValueError:
        raise ValidationError({name: _("This date does not exist.")}) from None


def kind_of(value: str) -> str | None:
    """groupcrm's kind for a type as written in a file (code, label in either language,
    or another system's word); ``None`` when it is not known."""
    key = value.strip().lower()
    if not key:
        return FollowUp.Kind.NOTE
    if key in FollowUp.Kind.values:
        return key
    if key in _KIND_WORDS:
        return _KIND_WORDS[key]
    for code, label in FollowUp.Kind.choices:
        for language in ("zh-hans", "en"):
            with translation.override(language):
                if key == str(label).lower():
                    return code
    return None


@dataclass
class FollowUpRow:
    number: int
    values: dict[str, str]
    external_id: str
    customer: Customer
    author_id: int
    fields: dict[str, Any]
    # The company's contacts the row names; None when the file has no such column.
    contact_ids: list[int] | None = None
    followup: FollowUp | None = None


def _parse(
    job: ImportJob,
    number: int,
    values: dict[str, str],
    customer: Customer,
    authors: Owners,
    contacts: dict[tuple[int, str], int],
    result: BatchResult,
) -> FollowUpRow:
    data = mapped(job, values)
    kind = kind_of(data.get("kind", ""))
    if kind is None:
        result.warnings.append(
            (
                number,
                values,
                _("Type “%(value)s” is unknown: kept as a note.") % {"value": data["kind"]},
            )
        )
        kind = FollowUp.Kind.NOTE
    if not data.get("occurred_at"):
        raise ValidationError({"occurred_at": _("This field is required.")})
    raw: dict[str, Any] = {
        "kind": kind,
        "content": data.get("content", ""),
        "occurred_at": parse_when(data["occurred_at"], "occurred_at"),
        "next_due": (
            timezone.localtime(parse_when(data["next_due"], "next_due")).date()
            if data.get("next_due")
            else None
        ),
        **{name: data.get(name, "") for name in ("outcome", "next_step", "location")},
    }
    errors: dict[str, Any] = {}
    fields = clean_followup(customer, raw, errors)
    if errors:
        raise ValidationError(errors)
    author_id = authors(data.get("author", ""))
    if author_id is None:
        if data.get("author"):
            result.warnings.append(
                (
                    number,
                    values,
                    _("“%(name)s” is not a member of %(unit)s: the follow-up is yours.")
                    % {"name": data["author"], "unit": job.bu.name},
                )
            )
        author_id = job.owner_id
    row = FollowUpRow(
        number, values, data.get("external_id", "")[:100], customer, author_id, fields
    )
    if job.mapping.get("contacts"):
        row.contact_ids = []
        for name in (n.strip() for n in _NAMES.split(data.get("contacts", ""))):
            if (customer.pk, name) in contacts:
                row.contact_ids.append(contacts[customer.pk, name])
            elif name:
                result.warnings.append(
                    (
                        number,
                        values,
                        _("“%(name)s” is not among the company's contacts: not linked.")
                        % {"name": name},
                    )
                )
    return row


def followup_batch(
    job: ImportJob,
    actor: Actor,
    batch: list[tuple[int, dict[str, str]]],
    *,
    company: Companies,
    authors: Owners,
) -> BatchResult:
    """Import one batch of follow-up rows inside the caller's transaction. ``company``
    finds a row's customer (by its id in the source, credit code or name) or raises
    ValidationError; ``authors`` resolves the file's authors to members of the unit."""
    actor.require("followups", "create")
    result = BatchResult()
    found = with_companies(job, batch, company, result)
    relationships = dict(
        CustomerRelationship.objects.visible_to(actor, "view")
        .filter(bu=job.bu, customer_id__in={customer.pk for _n, _v, customer in found})
        .values_list("customer_id", "pk")
    )
    contacts = {
        (customer_id, name): pk
        for customer_id, name, pk in Contact.objects.filter(
            customer_id__in={customer.pk for _n, _v, customer in found}
        )
        .order_by("-pk")
        .values_list("customer_id", "name", "pk")
    }
    rows: list[FollowUpRow] = []
    for number, values, customer in found:
        try:
            if customer.pk not in relationships:
                raise ValidationError(
                    {
                        "customer": _(
                            "%(unit)s has no relationship with this customer: import the "
                            "customer into this unit first."
                        )
                        % {"unit": job.bu.name}
                    }
                )
            rows.append(_parse(job, number, values, customer, authors, contacts, result))
        except ValidationError as exc:
            result.rejected.append((number, values, exc))
    kept, known = already_imported(job, ImportJob.Entity.FOLLOWUPS, "followup", rows)
    changeable = FollowUp.objects.visible_to(actor, "change").in_bulk(known.values())
    fresh, again = [], []
    for row in kept:
        if row.external_id not in known:
            fresh.append(row)
        elif known[row.external_id] in changeable:
            row.followup = changeable[known[row.external_id]]
            again.append(row)
        else:
            result.rejected.append(
                (row.number, row.values, PermissionDenied(_("You may not change this follow-up.")))
            )
    created = _create(actor, job, fresh)
    _update(actor, job, again)
    _touch(job, [*fresh, *again])
    lineage(job, ImportJob.Entity.FOLLOWUPS, [*fresh, *again])
    # A row overtaken by a later row of the same id counts as an update.
    result.outcomes.update(created=len(fresh), updated=len(again) + len(rows) - len(kept))
    if created:
        audit_action(
            actor=actor,
            obj=job,
            verb="import_batch",
            changes={"rows": [batch[0][0], batch[-1][0]], "followups_created": created},
        )
        publish(
            actor=actor,
            name="customers.followups_imported",
            payload={"job_id": job.pk, "followup_ids": created},
        )
    return result


def _create(actor: Actor, job: ImportJob, rows: list[FollowUpRow]) -> list[int]:
    followups = FollowUp.objects.bulk_create(
        FollowUp(customer=row.customer, bu_id=job.bu_id, owner_id=row.author_id, **row.fields)
        for row in rows
    )
    ids = [followup.pk for followup in followups]
    if FollowUp.objects.visible_to(actor, "create").filter(pk__in=ids).count() != len(ids):
        raise PermissionDenied()  # the batch rolls back: nothing escapes the actor's scope
    for row, followup in zip(rows, followups, strict=True):
        row.followup = followup
    link = FollowUp.contacts.through
    link.objects.bulk_create(
        link(followup_id=row.followup.pk, contact_id=contact_id)  # type: ignore[union-attr]
        for row in rows
        for contact_id in dict.fromkeys(row.contact_ids or ())
    )
    return ids


def _update(actor: Actor, job: ImportJob, rows: list[FollowUpRow]) -> None:
    """A follow-up imported again by its id takes the row's values, audited field by
    field as an edit would be."""
    for row in rows:
        followup = row.followup
        assert followup is not None
        before = snapshot(followup)
        for name, value in row.fields.items():
            setattr(followup, name, value)
        followup.customer = row.customer
        followup.bu_id = job.bu_id
        followup.save()
        if row.contact_ids is not None:
            followup.contacts.set(row.contact_ids)
        audit_update(actor=actor, obj=followup, before=before, verb="import")


def _touch(job: ImportJob, rows: list[FollowUpRow]) -> None:
    """Each relationship's last follow-up moves to its latest imported one (as logging
    one by hand does), in one statement."""
    latest: dict[int, dt.datetime] = {}
    for row in rows:
        when = row.fields["occurred_at"]
        latest[row.customer.pk] = max(when, latest.get(row.customer.pk, when))
    stale = []
    for relationship in CustomerRelationship.objects.filter(
        bu=job.bu, customer_id__in=list(latest)
    ):
        when = latest[relationship.customer_id]
        if relationship.last_followup_at is None or when > relationship.last_followup_at:
            relationship.last_followup_at = when
            stale.append(relationship)
    CustomerRelationship.objects.bulk_update(stale, ["last_followup_at"], batch_size=1000)
