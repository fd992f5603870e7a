"""Survivorship: which source's value a golden-record field keeps when sources disagree
(design.md §6), and where the value each field holds came from (``FieldSource``).

The decision is a pure function (``decide``) so that the per-row import path and the
set-based bulk path share it: a batch preloads the rules once (``rules``) and the
provenance of all its customers in one query (``sources_for``), decides row by row in
memory, and writes the new provenance in one statement (``remember``).

Conventions:
- A value typed by a person in groupcrm counts as trust ``MANUAL_TRUST`` (100, the most
  trusted): under TRUSTED only a source trusted as much as a person replaces it.
- A field without a ``FieldSource`` row was entered in groupcrm (records created by hand,
  or data older than provenance) and counts the same as a person's value.
- Legal name, credit code and group grade never change through an import: they change
  only through the four-eyes approval (``ChangeRequest.APPROVAL_FIELDS``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from groupcrm.audit.services import audit_create, audit_update, snapshot, to_json
from groupcrm.core.actor import Actor
from groupcrm.core.bulk import copy_rows
from groupcrm.core.errors import NotFound, ValidationError
from groupcrm.core.events import publish, subscriber
from groupcrm.core.models import OutboxEvent
from groupcrm.customers.models import ChangeRequest, Customer
from groupcrm.integration.mapping import TARGETS
from groupcrm.integration.models import FieldSource, ImportSource, SurvivorshipRule

Strategy = SurvivorshipRule.Strategy
MANUAL_TRUST = 100
# The golden-record fields an import can feed: the mapping targets that are fields of
# the customer (not the external id, the parent's reference or the account manager).
FIELDS: tuple[str, ...] = tuple(
    name for name in TARGETS["customers"] if name in {f.name for f in Customer._meta.get_fields()}
)
GUARDED = ChangeRequest.APPROVAL_FIELDS
# Fields whose rule an administrator may choose: the guarded ones never change by import.
RULE_FIELDS: tuple[str, ...] = tuple(name for name in FIELDS if name not in GUARDED)
# import_run acts with the request id "import-<job id>": the customers.updated events an
# import publishes are not a person's edits.
IMPORT_REQUEST_PREFIX = "import-"


def rules() -> dict[str, str]:
    """Field → strategy for the fields that have a rule (the others follow RECENT)."""
    return dict(SurvivorshipRule.objects.values_list("field", "strategy"))


def current_values(customer: Customer, fields: Collection[str]) -> dict[str, Any]:
    """A record's values of ``fields`` as ``decide`` compares them (tags as names)."""
    values = {name: getattr(customer, name) for name in fields if name != "tags"}
    if "tags" in fields:
        values["tags"] = list(customer.tags.values_list("name", flat=True))
    return values


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return sorted(a) == sorted(b)
    return bool(a == b)


class Origin(NamedTuple):
    """Who supplied a value, as ``decide`` weighs it (a FieldSource row has the same)."""

    trust: int
    at: dt.datetime


@dataclass(frozen=True)
class Decision:
    """What one incoming row does to one golden record."""

    changes: dict[str, Any]  # the values to write
    won: frozenset[str]  # the fields whose provenance is now this source (changed or confirmed)


def decide(
    *,
    current: Mapping[str, Any],
    origins: Mapping[str, Origin | FieldSource],
    incoming: Mapping[str, Any],
    trust: int,
    at: dt.datetime,
    rules: Mapping[str, str],
) -> Decision:
    """Which incoming values win over the record's ``current`` ones (no queries).

    An empty incoming value never overwrites; an empty current value is always filled.
    Otherwise per the field's rule: TRUSTED wins when the source is trusted at least as
    much as whoever supplied the current value; RECENT wins unless the current value is
    newer than ``at``; FILL never replaces a value. A winning value equal to the current
    one changes nothing but still moves the provenance to this source."""
    changes: dict[str, Any] = {}
    won = set()
    for name, value in incoming.items():
        if name in GUARDED or name not in FIELDS or is_empty(value):
            continue
        old = current.get(name)
        origin = origins.get(name)
        if is_empty(old):
            wins = True
        else:
            strategy = rules.get(name, Strategy.RECENT)
            if strategy == Strategy.TRUSTED:
                wins = trust >= (origin.trust if origin else MANUAL_TRUST)
            elif strategy == Strategy.FILL:
                wins = False
            else:
                wins = origin is None or at >= origin.at
        if wins:
            won.add(name)
            if not _same(old, value):
                changes[name] = value
    return Decision(changes, frozenset(won))


def sources_for(customer_ids: Iterable[int]) -> dict[int, dict[str, FieldSource]]:
    """The current provenance of many customers, in one query: id → field → row."""
    found: dict[int, dict[str, FieldSource]] = {}
    for row in FieldSource.objects.filter(customer_id__in=list(customer_ids)):
        found.setdefault(row.customer_id, {})[row.field] = row
    return found


def claims(
    customer_id: int,
    fields: Iterable[str],
    *,
    source: ImportSource | None,
    record_id: int | None,
    at: dt.datetime,
) -> list[FieldSource]:
    """Provenance rows saying that ``source`` (None: a person) supplied ``fields``."""
    trust = source.trust if source else MANUAL_TRUST
    return [
        FieldSource(
            customer_id=customer_id,
            field=name,
            source_id=source.pk if source else None,
            record_id=record_id,
            trust=trust,
            at=at,
        )
        for name in fields
    ]


def remember(entries: Iterable[FieldSource]) -> None:
    """Upsert provenance for many (customer, field) in one statement. Within a batch the
    last entry for a pair wins, as if the rows had been written one after another
    (PostgreSQL refuses to update one row twice in one statement)."""
    upserts = list({(e.customer_id, e.field): e for e in entries}.values())
    if upserts:
        FieldSource.objects.bulk_create(
            upserts,
            update_conflicts=True,
            unique_fields=["customer", "field"],
            update_fields=["source", "record", "trust", "at"],
        )


class Survival:
    """Survivorship over one import batch: the rules read once, the provenance of the
    batch's records in one query (``preload``), each row decided in memory (the instance
    is the ``survive`` callable: record, incoming values → changes to apply), and what
    the rows won written in one statement (``remember``)."""

    def __init__(self, source: ImportSource, at: dt.datetime | None = None) -> None:
        self.source = source
        self.at = at or timezone.now()
        self.rules = rules()
        self.origins: dict[int, dict[str, Origin | FieldSource]] = {}
        self.won: dict[int, set[str]] = {}
        self.new: set[int] = set()

    def preload(self, customer_ids: Iterable[int]) -> None:
        missing = set(customer_ids) - self.origins.keys()
        found = sources_for(missing)
        for pk in missing:
            self.origins[pk] = found.get(pk, {})

    def __call__(self, customer: Customer, incoming: Mapping[str, Any]) -> dict[str, Any]:
        self.preload([customer.pk])  # no query once the batch is preloaded
        origins = self.origins[customer.pk]
        decision = decide(
            current=current_values(customer, list(incoming)),
            origins=origins,
            incoming=incoming,
            trust=self.source.trust,
            at=self.at,
            rules=self.rules,
        )
        # A later row of the same record in this batch competes with what this one won.
        for name in decision.won:
            origins[name] = Origin(self.source.trust, self.at)
        self.won.setdefault(customer.pk, set()).update(decision.won)
        return decision.changes

    def created(self, customer_id: int, fields: Mapping[str, Any]) -> None:
        """A record this source created: every value it has came from the source (and
        later rows of the record in this batch compete with them)."""
        names = {name for name, value in fields.items() if name in FIELDS and not is_empty(value)}
        self.origins[customer_id] = {name: Origin(self.source.trust, self.at) for name in names}
        self.won.setdefault(customer_id, set()).update(names)
        self.new.add(customer_id)

    def remember(self, records: Mapping[int, int] | None = None) -> None:
        """Write what the batch won; ``records``: customer id → the source record that fed it.
        The records it created get their provenance copied from plain tuples (a million
        rows make four million: building a model object for each cost more than writing
        it); the others are upserted."""
        records = records or {}
        source, trust = self.source.pk, self.source.trust
        copy_rows(
            FieldSource,
            ("customer_id", "field", "source_id", "record_id", "trust", "at"),
            [
                (pk, name, source, records.get(pk), trust, self.at)
                for pk in self.new
                for name in sorted(self.won.get(pk, ()))
            ],
        )
        remember(
            (
                entry
                for pk, names in self.won.items()
                if pk not in self.new
                for entry in claims(
                    pk, names, source=self.source, record_id=records.get(pk), at=self.at
                )
            )
        )
        self.won.clear()
        self.new.clear()


@subscriber("customers.updated")
def remember_manual_edits(event: OutboxEvent) -> None:
    """A person changed golden-record fields in groupcrm: the value is theirs now.

    A subscriber rather than a hook in customer_update: the customer master stays
    unaware of integration. The edit is dated when it happened, and provenance newer
    than that (an import that ran before this event was delivered) is kept."""
    if event.request_id.startswith(IMPORT_REQUEST_PREFIX):
        return
    fields = [name for name in event.payload.get("fields", []) if name in FIELDS]
    customer_id = event.payload["customer_id"]
    if not fields or not Customer.objects.filter(pk=customer_id).exists():
        return
    newer = set(
        FieldSource.objects.filter(
            customer_id=customer_id, field__in=fields, at__gt=event.occurred_at
        ).values_list("field", flat=True)
    )
    remember(
        claims(
            customer_id,
            [name for name in fields if name not in newer],
            source=None,
            record_id=None,
            at=event.occurred_at,
        )
    )


# --- merges: provenance follows the values a merge fills in ------------------------------

SNAPSHOT_KEY = "integration.field_sources"


def _as_json(row: FieldSource) -> dict[str, Any]:
    return {
        "field": row.field,
        "source_id": row.source_id,
        "record_id": row.record_id,
        "trust": row.trust,
        "at": to_json(row.at),
    }


def merged(survivor: Customer, filled_from: dict[str, int], snap: dict[str, Any]) -> None:
    """The survivor's fields filled from a merged record take that record's provenance;
    the merged records keep theirs (for an unmerge). The survivor's own provenance of
    those fields is kept in the merge snapshot."""
    if not filled_from:
        return
    rows = FieldSource.objects.filter(
        Q(customer=survivor) | Q(customer_id__in=set(filled_from.values())),
        field__in=list(filled_from),
    )
    by_key = {(r.customer_id, r.field): r for r in rows}
    snap[SNAPSHOT_KEY] = [
        _as_json(r) for (owner, _name), r in by_key.items() if owner == survivor.pk
    ]
    FieldSource.objects.filter(customer=survivor, field__in=list(filled_from)).delete()
    FieldSource.objects.bulk_create(
        [
            FieldSource(
                customer=survivor,
                field=name,
                source_id=row.source_id,
                record_id=row.record_id,
                trust=row.trust,
                at=row.at,
            )
            for name, loser_id in filled_from.items()
            if (row := by_key.get((loser_id, name)))
        ]
    )


def unmerged(survivor: Customer, restored: list[str], snap: dict[str, Any]) -> None:
    """The fields an unmerge emptied again get back the provenance they had before."""
    if not restored:
        return
    FieldSource.objects.filter(customer=survivor, field__in=restored).delete()
    FieldSource.objects.bulk_create(
        [
            FieldSource(
                customer=survivor,
                field=row["field"],
                source_id=row["source_id"],
                record_id=row["record_id"],
                trust=row["trust"],
                at=parse_datetime(row["at"]),
            )
            for row in snap.get(SNAPSHOT_KEY, [])
            if row["field"] in restored
        ]
    )


# --- administration: rules per field, trust per source -----------------------------------


def rule_rows() -> list[dict[str, Any]]:
    """Every importable field with its label and rule, for the rules page (one query)."""
    chosen = rules()
    return [
        {
            "field": name,
            "label": TARGETS["customers"][name][0],
            "strategy": chosen.get(name, Strategy.RECENT),
            "guarded": name in GUARDED,
        }
        for name in FIELDS
    ]


@transaction.atomic
def survivorship_rule_set(*, actor: Actor, field: str, strategy: str) -> SurvivorshipRule:
    actor.require("integration", "admin")
    errors = {}
    if field not in RULE_FIELDS:
        errors["field"] = _("Choose one of the offered fields.")
    if strategy not in Strategy.values:
        errors["strategy"] = _("Choose one of the offered values.")
    if errors:
        # The page shows the message: it names what was wrong, not just "not valid".
        raise ValidationError(errors, " ".join(errors.values()))
    rule = SurvivorshipRule.objects.select_for_update().filter(field=field).first()
    if rule is None:
        rule = SurvivorshipRule.objects.create(field=field, strategy=strategy)
        audit_create(actor=actor, obj=rule)
    else:
        before = snapshot(rule)
        rule.strategy = strategy
        rule.save(update_fields=["strategy", "updated_at"])
        audit_update(actor=actor, obj=rule, before=before)
    publish(
        actor=actor,
        name="integration.survivorship_rule_set",
        payload={"field": field, "strategy": strategy},
    )
    return rule


@transaction.atomic
def source_trust_set(*, actor: Actor, pk: int, trust: int | str) -> ImportSource:
    """Change how much a source is trusted, also for the values it already supplied."""
    actor.require("integration", "admin")
    source = ImportSource.objects.select_for_update().filter(pk=pk).first()
    if source is None:
        raise NotFound()
    text = str(trust).strip()
    # isdecimal, not isdigit: int() refuses digits such as ² that isdigit accepts.
    if not text.isdecimal() or int(text) > MANUAL_TRUST:
        message = _("Enter a whole number from 0 to 100.")
        raise ValidationError({"trust": message}, message)
    before = snapshot(source)
    source.trust = int(text)
    source.save(update_fields=["trust"])
    # The trust of a value is its source's: rows already written follow the change.
    FieldSource.objects.filter(source=source).update(trust=source.trust)
    audit_update(actor=actor, obj=source, before=before)
    publish(
        actor=actor,
        name="integration.source_trust_set",
        payload={"source_id": source.pk, "trust": source.trust},
    )
    return source
