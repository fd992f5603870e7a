"""A unit's customer relationships (owner, stage, unit grade, notes…) imported a batch at a
time, for the job's unit.

A BU's system knows, per customer, who looks after it and how far the unit got with it;
a customer import only starts the relationship (with its owner). Rows of this kind set
or update the job's unit's relationship with each company, validated by the customer
master's own ``clean_relationship`` (the one editing a relationship by hand uses) and
written with one statement per table. What differs from editing one by hand, and why:
- The company is found as for contacts and follow-ups (``bulk.Companies``); a missing
  relationship is started, an existing one updated (one per company and unit, so a
  re-import never duplicates). An empty cell leaves the value as it is.
- An account manager who is not an active member of the unit, or who owns as many
  customers as the unit's pool rule allows, is not given the customer (as a customer
  import): a new relationship goes to the public pool, an existing one keeps its owner,
  with a warning on the row.
- New relationships are announced by one ``customers.relationships_imported`` event per
  batch and audited by one change record per batch on the job; a changed relationship is
  audited on its own, field by field, and a changed owner or stage is published as by
  hand, because followers are told of those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from groupcrm.audit.models import ChangeRecord
from groupcrm.audit.services import audit_action, audit_many, diff, snapshot
from groupcrm.core.actor import Actor
from groupcrm.core.errors import PermissionDenied, ValidationError
from groupcrm.core.events import publish, publish_many
from groupcrm.core.permissions import DataScope
from groupcrm.core.scoping import NOTHING
from groupcrm.customers.models import Customer, CustomerRelationship, PoolRule
from groupcrm.customers.services import (
    OWNER_CHANGED,
    STAGE_CHANGED,
    clean_relationship,
    owner_payload,
    pool_rule,
    stage_payload,
)
from groupcrm.integration.bulk import (
    BatchResult,
    Companies,
    Owners,
    lineage,
    mapped,
    with_companies,
)
from groupcrm.integration.followups import parse_when
from groupcrm.integration.models import ImportJob
from groupcrm.org.models import BusinessUnit

Stage = CustomerRelationship.Stage
# How other systems name a relationship's stage (纷享销客's 成交状态, CRM words).
_STAGE_WORDS = {
    "潜在客户": Stage.PROSPECT,
    "未成交": Stage.PROSPECT,
    "线索": Stage.PROSPECT,
    "lead": Stage.PROSPECT,
    "意向客户": Stage.INTENT,
    "商机": Stage.INTENT,
    "intent": Stage.INTENT,
    "qualified": Stage.INTENT,
    "已成交": Stage.WON,
    "成交客户": Stage.WON,
    "签约": Stage.WON,
    "customer": Stage.WON,
    "closed won": Stage.WON,
    "已流失": Stage.LOST,
    "流失客户": Stage.LOST,
    "closed lost": Stage.LOST,
    "churned": Stage.LOST,
}
# What a row may change on a relationship, besides its values (``clean_relationship``).
_OWNERSHIP = ("owner", "claimed_at", "released_at", "release_reason")


def stage_of(value: str) -> str | None:
    """groupcrm's stage for a stage as written in a file (code, label in either language,
    or another system's word); ``None`` when it is not known."""
    key = value.strip().lower()
    if key in Stage.values:
        return key
    if key in _STAGE_WORDS:
        return _STAGE_WORDS[key]
    for code, label in Stage.choices:
        for language in ("zh-hans", "en"):
            with translation.override(language):
                if key == str(label).lower():
                    return code
    return None


def require(actor: Actor, unit: BusinessUnit) -> None:
    """Who may import a unit's relationships: who may start relationships and change
    them in that unit, with a grant whose scope is the unit (team), a unit above it
    (subtree) or the group; an own-records scope reaches no unit's pool."""
    actor.require("customers", "create")
    actor.require("customers", "change")
    grants = actor.grants("customers", "change")
    if actor.is_system or actor.is_superuser or any(g.scope == DataScope.GROUP for g in grants):
        return
    reached = NOTHING
    for grant in grants:
        reached |= BusinessUnit.scope_q(grant, actor)
    if not BusinessUnit.objects.filter(reached, pk=unit.pk).exists():
        raise PermissionDenied(
            _("You may not import the customer relationships of %(unit)s.") % {"unit": unit.name}
        )


@dataclass
class RelationshipRow:
    number: int
    values: dict[str, str]
    external_id: str
    customer: Customer
    # The account manager as the file names them ("": not given).
    owner: str
    fields: dict[str, Any]
    owner_id: int | None = None
    relationship: CustomerRelationship | None = None
    changes: dict[str, Any] = field(default_factory=dict)


def _parse(
    job: ImportJob, number: int, values: dict[str, str], customer: Customer, rule: PoolRule
) -> RelationshipRow:
    data = mapped(job, values)
    errors: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    if data.get("stage"):
        raw["stage"] = stage_of(data["stage"])
        if raw["stage"] is None:
            errors["stage"] = _("Stage “%(value)s” is unknown: use one of %(stages)s.") % {
                "value": data["stage"],
                "stages": ", ".join(str(label) for label in Stage.labels),
            }
    if data.get("grade"):
        # Grades are codes such as A/B/C: a file's "a" is the unit's "A".
        grades = {grade.lower(): grade for grade in rule.grade_choices}
        raw["grade"] = grades.get(data["grade"].lower(), data["grade"])
    if data.get("notes"):
        raw["notes"] = data["notes"]
    if data.get("protected_until"):
        try:
            when = parse_when(data["protected_until"], "protected_until")
        except ValidationError as exc:
            errors.update(exc.fields)
        else:
            raw["protected_until"] = timezone.localtime(when).date()
    fields = clean_relationship(rule, raw, errors)
    if errors:
        raise ValidationError(errors)
    return RelationshipRow(
        number, values, data.get("external_id", "")[:100], customer, data.get("owner", ""), fields
    )


def relationship_batch(
    job: ImportJob,
    actor: Actor,
    batch: list[tuple[int, dict[str, str]]],
    *,
    company: Companies,
    owners: Owners,
) -> BatchResult:
    """Import one batch of relationship rows inside the caller's transaction. ``company``
    finds a row's customer (by its id in the source, credit code or name) or raises
    ValidationError; ``owners`` resolves the file's account managers to members of the
    unit."""
    require(actor, job.bu)
    result = BatchResult()
    rule = pool_rule(job.bu_id, unit=job.bu)
    rows: list[RelationshipRow] = []
    for number, values, customer in with_companies(job, batch, company, result):
        try:
            if customer.status != Customer.Status.ACTIVE:
                raise ValidationError({"": _("Only active customers can be worked with.")})
            rows.append(_parse(job, number, values, customer, rule))
        except ValidationError as exc:
            result.rejected.append((number, values, exc))
    # One relationship per company and unit: of two rows of a company the later wins,
    # and an empty cell of it leaves the earlier row's value, as across batches.
    latest: dict[int, RelationshipRow] = {}
    for row in rows:
        if (earlier := latest.get(row.customer.pk)) is not None:
            row.fields = {**earlier.fields, **row.fields}
            row.owner = row.owner or earlier.owner
        latest[row.customer.pk] = row
    existing = {
        relationship.customer_id: relationship
        for relationship in CustomerRelationship.objects.filter(
            bu=job.bu, customer_id__in=list(latest)
        ).select_related("customer", "bu")  # named by each change record
    }
    changeable = set(
        CustomerRelationship.objects.visible_to(actor, "change")
        .filter(pk__in=[r.pk for r in existing.values()])
        .values_list("pk", flat=True)
    )
    fresh, again = [], []
    for row in latest.values():
        relationship = existing.get(row.customer.pk)
        if relationship is None:
            fresh.append(row)
        elif relationship.pk in changeable:
            row.relationship = relationship
            again.append(row)
        else:
            result.rejected.append(
                (
                    row.number,
                    row.values,
                    PermissionDenied(_("You may not change this customer relationship.")),
                )
            )
    _owners(job, rule, owners, [*fresh, *again], result)
    created = _create(actor, job, fresh)
    changed = _update(actor, again)
    imported = {row.customer.pk for row in [*fresh, *again]}
    lineage(job, ImportJob.Entity.RELATIONSHIPS, [r for r in rows if r.customer.pk in imported])
    # A row overtaken by a later row of the same company counts as an update.
    result.outcomes.update(
        created=len(fresh),
        updated=len(changed) + len(rows) - len(latest),
        matched=len(again) - len(changed),
    )
    updated = [row.relationship.pk for row in changed if row.relationship]
    if created or updated:
        audit_action(
            actor=actor,
            obj=job,
            verb="import_batch",
            changes={
                "rows": [batch[0][0], batch[-1][0]],
                "relationships_created": created,
                "relationships_updated": updated,
            },
        )
        publish(
            actor=actor,
            name="customers.relationships_imported",
            payload={
                "job_id": job.pk,
                "relationship_ids": created,
                "updated_ids": updated,
            },
        )
    return result


def _owners(
    job: ImportJob,
    rule: PoolRule,
    owners: Owners,
    rows: list[RelationshipRow],
    result: BatchResult,
) -> None:
    """Who owns each row's relationship: the named account manager when they are an
    active member of the unit and the pool rule lets them own one more customer; else a
    new relationship goes to the pool and an existing one keeps its owner, with a
    warning. Sets ``owner_id`` (``None``: the pool, or no change)."""
    wanted = {o for row in rows if (o := owners(row.owner))}
    owned = dict(
        CustomerRelationship.objects.filter(bu=job.bu, owner_id__in=wanted)
        .values_list("owner_id")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        if not row.owner:
            continue
        owner_id = owners(row.owner)
        current = row.relationship.owner_id if row.relationship else None
        if owner_id is not None and owner_id == current:
            continue
        if owner_id is None:
            reason = (
                _("Account manager not changed: “%(name)s” is not an active member of %(unit)s.")
                if row.relationship
                else _(
                    "Imported into the public pool: “%(name)s” is not an active member of %(unit)s."
                )
            )
            result.warnings.append(
                (row.number, row.values, reason % {"name": row.owner, "unit": job.bu.name})
            )
        elif owned.get(owner_id, 0) >= rule.max_owned:
            reason = (
                _(
                    "Account manager not changed: %(name)s already owns %(n)d customers in "
                    "%(unit)s, the most the unit allows."
                )
                if row.relationship
                else _(
                    "Imported into the public pool: %(name)s already owns %(n)d customers "
                    "in %(unit)s, the most the unit allows."
                )
            )
            result.warnings.append(
                (
                    row.number,
                    row.values,
                    reason % {"name": row.owner, "n": owned[owner_id], "unit": job.bu.name},
                )
            )
        else:
            owned[owner_id] = owned.get(owner_id, 0) + 1
            if current:
                owned[current] = owned.get(current, 1) - 1
            row.owner_id = owner_id


def _create(actor: Actor, job: ImportJob, rows: list[RelationshipRow]) -> list[int]:
    now = timezone.now()
    relationships = CustomerRelationship.objects.bulk_create(
        CustomerRelationship(
            customer=row.customer,
            bu_id=job.bu_id,
            owner_id=row.owner_id,
            claimed_at=now if row.owner_id else None,
            **row.fields,
        )
        for row in rows
    )
    ids = [relationship.pk for relationship in relationships]
    allowed = CustomerRelationship.objects.visible_to(actor, "create").filter(pk__in=ids)
    if allowed.count() != len(ids):
        raise PermissionDenied()  # the batch rolls back: nothing escapes the actor's scope
    return ids


def _update(actor: Actor, rows: list[RelationshipRow]) -> list[RelationshipRow]:
    """Each row's values onto its relationship, audited field by field as an edit
    would be (verb ``import``); a new owner is given it as by an assignment. Returns the
    rows that changed their relationship."""
    now = timezone.now()
    changed: list[tuple[RelationshipRow, int | None]] = []  # with the owner before
    for row in rows:
        relationship = row.relationship
        assert relationship is not None
        before, previous = snapshot(relationship), relationship.owner_id
        for name, value in row.fields.items():
            setattr(relationship, name, value)
        if row.owner_id:
            relationship.owner_id, relationship.claimed_at = row.owner_id, now
            relationship.released_at, relationship.release_reason = None, ""
        row.changes = diff(before, snapshot(relationship))
        if row.changes:
            relationship.updated_at = now
            changed.append((row, previous))
    if not changed:
        return []
    CustomerRelationship.objects.bulk_update(
        [row.relationship for row, _previous in changed],  # type: ignore[misc]
        ["stage", "grade", "notes", "protected_until", *_OWNERSHIP, "updated_at"],
        batch_size=1000,
    )
    audit_many(
        actor=actor,
        entries=(
            (row.relationship, ChangeRecord.Action.UPDATE, row.changes)  # type: ignore[misc]
            for row, _previous in changed
        ),
        verb="import",
    )
    events = []  # followers are told as after a change by hand, in one INSERT
    for row, previous in changed:
        relationship = row.relationship
        assert relationship is not None
        if "owner" in row.changes:
            events.append((OWNER_CHANGED, owner_payload(relationship, previous, "import")))
        if "stage" in row.changes:
            events.append((STAGE_CHANGED, stage_payload(relationship)))
    publish_many(actor=actor, events=events)
    return [row for row, _previous in changed]
