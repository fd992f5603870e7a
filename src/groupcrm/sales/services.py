"""Writes on sales: opportunities, their stage moves (design.md §4).

Every service is atomic, takes ``actor``, checks permission and scope, writes change
records and publishes events in the same transaction. Updates and moves carry the
``version`` the client read; the write is a conditional UPDATE on it, so of two writers
who read the same version exactly one wins and the other gets a 409 ("stale").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.audit.services import audit_action, audit_create, audit_update, snapshot
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, ValidationError
from groupcrm.core.events import publish
from groupcrm.core.scoping import ensure_in_scope, scoped_get
from groupcrm.customers import services as customer_services
from groupcrm.customers.models import Customer, CustomerRelationship
from groupcrm.org.models import BusinessUnit
from groupcrm.org.selectors import units_for
from groupcrm.sales.models import (
    REQUIRABLE_FIELDS,
    Opportunity,
    Pipeline,
    RevenueSplit,
    Stage,
    StageChange,
)

MAX_AMOUNT = Decimal("99999999999999.99")  # what amount's 16 digits with 2 decimals hold
TEXT_LIMITS = {"name": 120, "next_step": 200, "lost_reason": 200, "competitors": 2000}


# --- pipelines --------------------------------------------------------------------------


def pipeline_for(unit: BusinessUnit) -> Pipeline:
    """The unit's pipeline, else its nearest ancestor's, else the group's default."""
    ids = unit.ancestor_ids()
    own = {p.bu_id: p for p in Pipeline.objects.filter(bu_id__in=ids)}
    for ancestor in reversed(ids):
        if ancestor in own:
            return own[ancestor]
    default = Pipeline.objects.filter(bu__isnull=True).order_by("pk").first()
    if default is None:
        raise Conflict(_("No sales pipeline is configured."), code="no_pipeline")
    return default


# --- validation -------------------------------------------------------------------------


def parse_amount(value: Any, errors: dict[str, Any]) -> Decimal | None:
    """A non-negative, finite amount in CNY with at most two decimals."""
    if value is None or value == "" or isinstance(value, bool):
        errors["amount"] = _("Enter an amount.")
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        errors["amount"] = _("Enter an amount in CNY, e.g. 120000.00.")
        return None
    if not amount.is_finite():
        errors["amount"] = _("Enter an amount in CNY, e.g. 120000.00.")
    elif amount < 0:
        errors["amount"] = _("The amount cannot be negative.")
    elif amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        errors["amount"] = _("Enter at most 14 digits and 2 decimals.")
    else:
        return amount.quantize(Decimal("0.01"))
    return None


def _clean(
    data: dict[str, Any], errors: dict[str, Any], *, customer: Customer, status: str
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, limit in TEXT_LIMITS.items():
        if name in data:
            out[name] = (data[name] or "").strip()
            if len(out[name]) > limit:
                errors[name] = _("At most %(limit)d characters.") % {"limit": limit}
    if "name" in out and not out["name"]:
        errors["name"] = _("This field is required.")
    if "amount" in data:
        out["amount"] = parse_amount(data["amount"], errors)
    if "expected_close" in data:
        out["expected_close"] = data["expected_close"]
        if out["expected_close"] is None:
            errors["expected_close"] = _("This field is required.")
        elif status == Opportunity.Status.OPEN and out["expected_close"] < timezone.localdate():
            errors["expected_close"] = _("An open opportunity cannot close in the past.")
    if data.get("probability") is not None:
        out["probability"] = data["probability"]
        if not isinstance(out["probability"], int) or not 0 <= out["probability"] <= 100:
            errors["probability"] = _("Enter a whole number from 0 to 100.")
    if "forecast_category" in data:
        out["forecast_category"] = (
            data["forecast_category"] or Opportunity.ForecastCategory.PIPELINE
        )
        if out["forecast_category"] not in Opportunity.ForecastCategory.values:
            errors["forecast_category"] = _("Choose a forecast category.")
    customer_services.check_contacts_of(
        customer, data.get("decision_contact_ids"), errors, "decision_contact_ids"
    )
    return out


def missing_for(stage: Stage, values: dict[str, Any], contact_ids: list[int]) -> list[str]:
    """The stage's required fields that ``values`` leaves empty (an amount of 0 is empty)."""
    filled = {**values, "decision_contacts": contact_ids}
    return [name for name in stage.required_fields if not filled.get(name)]


def _require_stage_fields(stage: Stage, values: dict[str, Any], contact_ids: list[int]) -> None:
    missing = missing_for(stage, values, contact_ids)
    if not missing:
        return
    labels = "、".join(str(REQUIRABLE_FIELDS[name]) for name in missing)
    message = _("Fill in %(fields)s before entering the stage %(stage)s.") % {
        "fields": labels,
        "stage": stage.name,
    }
    field_names = {"decision_contacts": "decision_contact_ids"}
    raise ValidationError(
        {field_names.get(name, name): message for name in missing},
        message=message,
        code="stage_requirements",
    )


def _unit(actor: Actor, bu_id: int | None) -> BusinessUnit:
    unit_id = bu_id or (actor.bu.pk if actor.bu else None)
    unit = (
        units_for(actor=actor, module="opportunities", action="create").filter(pk=unit_id).first()
        if unit_id
        else None
    )
    if unit is None:
        raise ValidationError({"bu_id": _("Choose a business unit you may sell for.")})
    return unit


def _active_customer(customer_id: Any) -> Customer:
    customer = Customer.objects.filter(pk=customer_id).first() if customer_id else None
    if customer is None or customer.status != Customer.Status.ACTIVE:
        raise ValidationError({"customer_id": _("Choose an existing, active customer.")})
    return customer


def _snapshot_ids(opportunity: Opportunity) -> list[int]:
    return sorted(opportunity.decision_contacts.values_list("pk", flat=True))


def _write(opportunity: Opportunity, version: int, changes: dict[str, Any]) -> None:
    """The conditional UPDATE: it fails (409) when someone wrote since ``version``."""
    now = timezone.now()
    updated = Opportunity.objects.filter(pk=opportunity.pk, version=version).update(
        **changes, version=F("version") + 1, updated_at=now
    )
    if updated != 1:
        raise _stale()
    for name, value in changes.items():
        setattr(opportunity, name, value)
    opportunity.version = version + 1
    opportunity.updated_at = now


def _stale() -> Conflict:
    return Conflict(
        _("Someone changed this opportunity after you opened it: reload it and try again."),
        code="stale",
    )


def check_version(opportunity: Opportunity, version: Any) -> int:
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValidationError({"version": _("Send the version you read.")})
    if version != opportunity.version:
        raise _stale()
    return version


# --- opportunities ----------------------------------------------------------------------


@transaction.atomic
def opportunity_create(
    *,
    actor: Actor,
    customer_id: int,
    name: str,
    amount: Any,
    expected_close: dt.date | None,
    bu_id: int | None = None,
    owner_id: int | None = None,
    stage_id: int | None = None,
    decision_contact_ids: list[int] | None = None,
    **fields: Any,
) -> Opportunity:
    """A new opportunity in the first stage of its unit's pipeline (or ``stage_id``). A
    unit not yet working with the customer starts its relationship, owned by the
    opportunity's owner."""
    actor.require("opportunities", "create")
    unit = _unit(actor, bu_id)
    customer = _active_customer(customer_id)
    errors: dict[str, Any] = {}
    data = _clean(
        {
            "name": name,
            "amount": amount,
            "expected_close": expected_close,
            "decision_contact_ids": decision_contact_ids,
            **fields,
        },
        errors,
        customer=customer,
        status=Opportunity.Status.OPEN,
    )
    data.pop("lost_reason", None)
    owner_id = owner_id or actor.user_id
    if owner_id is None:
        errors["owner_id"] = _("Choose an owner.")
    pipeline = pipeline_for(unit)
    stages = pipeline.stages.filter(outcome=Stage.Outcome.OPEN)
    stage = stages.filter(pk=stage_id).first() if stage_id else stages.first()
    if stage is None:
        errors["stage_id"] = _("Choose an open stage of this unit's pipeline.")
    if errors:
        raise ValidationError(errors)
    customer_services.check_owner(unit, owner_id)
    contact_ids = sorted(set(decision_contact_ids or []))
    _require_stage_fields(stage, data, contact_ids)
    if not CustomerRelationship.objects.filter(customer=customer, bu=unit).exists():
        customer_services.relationship_start(
            actor=actor, customer_id=customer.pk, bu_id=unit.pk, owner_id=owner_id
        )
    manual = "probability" in data
    now = timezone.now()
    opportunity = Opportunity.objects.create(
        bu=unit,
        owner_id=owner_id,
        customer=customer,
        pipeline=pipeline,
        stage=stage,
        probability=data.pop("probability", stage.probability),
        probability_manual=manual,
        stage_entered_at=now,
        **data,
    )
    opportunity.decision_contacts.set(contact_ids)
    ensure_in_scope(opportunity, actor=actor, action="create")
    audit_create(actor=actor, obj=opportunity)
    publish(
        actor=actor,
        name="sales.opportunity_created",
        payload={
            "opportunity_id": opportunity.pk,
            "customer_id": customer.pk,
            "bu_id": unit.pk,
            "amount": str(opportunity.amount),
        },
    )
    return opportunity


@transaction.atomic
def opportunity_update(
    *,
    actor: Actor,
    pk: int,
    version: int,
    decision_contact_ids: list[int] | None = None,
    owner_id: int | None = None,
    **fields: Any,
) -> Opportunity:
    """Change the opportunity's details (not its stage: see ``opportunity_move``).
    ``probability=None`` among ``fields`` goes back to the stage's probability."""
    opportunity = scoped_get(Opportunity, actor=actor, pk=pk, action="change")
    check_version(opportunity, version)
    errors: dict[str, Any] = {}
    data = _clean(
        {**fields, "decision_contact_ids": decision_contact_ids},
        errors,
        customer=opportunity.customer,
        status=opportunity.status,
    )
    data.pop("lost_reason", None)
    if "probability" in fields:
        data["probability_manual"] = fields["probability"] is not None
        data.setdefault("probability", opportunity.stage.probability)
    if errors:
        raise ValidationError(errors)
    if owner_id and owner_id != opportunity.owner_id:
        customer_services.check_owner(opportunity.bu, owner_id)
        data["owner_id"] = owner_id
    before = snapshot(opportunity)
    contacts_before = _snapshot_ids(opportunity)
    _write(opportunity, version, data)
    ensure_in_scope(opportunity, actor=actor, action="change")
    if decision_contact_ids is not None:
        opportunity.decision_contacts.set(decision_contact_ids)
    audit_update(actor=actor, obj=opportunity, before=before)
    contacts_after = _snapshot_ids(opportunity)
    if contacts_after != contacts_before:
        audit_action(
            actor=actor,
            obj=opportunity,
            verb="decision_contacts_changed",
            changes={"decision_contacts": [contacts_before, contacts_after]},
        )
    return opportunity


@transaction.atomic
def opportunity_move(
    *, actor: Actor, pk: int, stage_id: Any, version: int, lost_reason: str = ""
) -> Opportunity:
    """Move to another stage of the pipeline: its required fields must be filled; won
    closes at 100 %, lost at 0 % with a reason; moving back to an open stage reopens."""
    opportunity = scoped_get(Opportunity, actor=actor, pk=pk, action="change")
    check_version(opportunity, version)
    stage = Stage.objects.filter(pipeline_id=opportunity.pipeline_id, pk=stage_id).first()
    if stage is None:
        raise ValidationError({"stage_id": _("Choose a stage of this opportunity's pipeline.")})
    if stage.pk == opportunity.stage_id:
        raise ValidationError(
            {"stage_id": _("The opportunity is already in this stage.")}, code="same_stage"
        )
    lost_reason = (lost_reason or "").strip()
    if stage.outcome == Stage.Outcome.LOST and not lost_reason:
        message = _("Say why the opportunity was lost.")
        raise ValidationError({"lost_reason": message}, message=message)
    if len(lost_reason) > TEXT_LIMITS["lost_reason"]:
        raise ValidationError({"lost_reason": _("At most %(limit)d characters.") % {"limit": 200}})
    values = {
        "amount": opportunity.amount,
        "next_step": opportunity.next_step,
        "competitors": opportunity.competitors,
    }
    _require_stage_fields(stage, values, _snapshot_ids(opportunity))
    now = timezone.now()
    changes: dict[str, Any] = {"stage": stage, "stage_entered_at": now}
    if stage.outcome == Stage.Outcome.OPEN:
        changes.update(status=Opportunity.Status.OPEN, closed_at=None, lost_reason="")
        if not opportunity.probability_manual:
            changes["probability"] = stage.probability
    else:
        changes.update(
            status=stage.outcome,
            closed_at=now,
            probability=100 if stage.outcome == Stage.Outcome.WON else 0,
            probability_manual=False,
            lost_reason=lost_reason if stage.outcome == Stage.Outcome.LOST else "",
        )
    before = snapshot(opportunity)
    previous, entered = opportunity.stage, opportunity.stage_entered_at
    _write(opportunity, version, changes)
    StageChange.objects.create(
        opportunity=opportunity,
        from_stage=previous,
        to_stage=stage,
        at=now,
        by=actor.user,
        seconds_in_previous=max(0, int((now - entered).total_seconds())),
    )
    audit_update(actor=actor, obj=opportunity, before=before, verb="stage_changed")
    payload = {
        "opportunity_id": opportunity.pk,
        "customer_id": opportunity.customer_id,
        "bu_id": opportunity.bu_id,
        "from_stage_id": previous.pk,
        "to_stage_id": stage.pk,
        "amount": str(opportunity.amount),
    }
    publish(actor=actor, name="sales.opportunity_stage_changed", payload=payload)
    if stage.outcome == Stage.Outcome.WON:
        publish(actor=actor, name="sales.opportunity_won", payload=payload)
    elif stage.outcome == Stage.Outcome.LOST:
        publish(
            actor=actor,
            name="sales.opportunity_lost",
            payload={**payload, "lost_reason": lost_reason},
        )
    return opportunity


def opportunity_transfer(
    *, actor: Actor, opportunity: Opportunity, bu_id: int, owner_id: int, verb: str
) -> Opportunity:
    """Hand an open opportunity to another unit and owner (a referral accepted, say): the
    caller has checked that the actor may. The receiving unit's relationship with the
    customer starts if it has none; the write is the conditional UPDATE on the version the
    opportunity was read at, so a change in between is a 409 ("stale")."""
    if opportunity.status != Opportunity.Status.OPEN:
        raise Conflict(_("The opportunity is closed meanwhile."), code="not_open")
    unit = BusinessUnit.objects.get(pk=bu_id)
    customer_services.check_owner(unit, owner_id)
    if not CustomerRelationship.objects.filter(customer=opportunity.customer, bu=unit).exists():
        customer_services.relationship_start(
            actor=actor, customer_id=opportunity.customer_id, bu_id=unit.pk, owner_id=owner_id
        )
    before = snapshot(opportunity)
    from_bu = opportunity.bu_id
    _write(opportunity, opportunity.version, {"bu_id": unit.pk, "owner_id": owner_id})
    audit_update(actor=actor, obj=opportunity, before=before, verb=verb)
    publish(
        actor=actor,
        name="sales.opportunity_transferred",
        payload={
            "opportunity_id": opportunity.pk,
            "customer_id": opportunity.customer_id,
            "from_bu_id": from_bu,
            "bu_id": unit.pk,
            "owner_id": owner_id,
        },
    )
    return opportunity


# --- revenue splits ---------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """One unit's (and optionally one rep's) share of an opportunity's won amount."""

    bu_id: int
    percent: Decimal
    user_id: int | None = None


def _clean_shares(shares: list[dict[str, Any]]) -> list[Share]:
    errors: dict[str, Any] = {}
    out: list[Share] = []
    seen: set[tuple[int, int | None]] = set()
    for index, share in enumerate(shares):
        try:
            percent = Decimal(str(share.get("percent", "")).strip())
        except InvalidOperation:
            percent = Decimal("NaN")
        if (
            not percent.is_finite()
            or not 0 < percent <= 100
            or percent != percent.quantize(Decimal("0.01"))
        ):
            errors[f"splits.{index}.percent"] = _(
                "Enter a share above 0 and at most 100, with at most 2 decimals."
            )
            continue
        unit = BusinessUnit.objects.filter(pk=share.get("bu_id"), is_active=True).first()
        if unit is None:
            errors[f"splits.{index}.bu_id"] = _("Choose an existing business unit.")
            continue
        user_id = share.get("user_id") or None
        if user_id is not None:
            try:
                customer_services.check_owner(unit, user_id)
            except ValidationError:
                errors[f"splits.{index}.user_id"] = _(
                    "The sales rep must be a member of %(unit)s or of a unit below it."
                ) % {"unit": unit.name}
                continue
        if (unit.pk, user_id) in seen:
            errors[f"splits.{index}.bu_id"] = _("Each unit and rep may appear only once.")
            continue
        seen.add((unit.pk, user_id))
        out.append(Share(unit.pk, percent, user_id))
    if not errors and (not out or sum(s.percent for s in out) != 100):
        errors["splits"] = _("The shares must add up to exactly 100 per cent.")
    if errors:
        message = next(iter(errors.values()))
        raise ValidationError(errors, message=message, code="invalid_split")
    return out


def apply_splits(
    *, actor: Actor, opportunity: Opportunity, shares: list[dict[str, Any]], source: str
) -> list[RevenueSplit]:
    """Replace the opportunity's splits (the caller has checked the actor may). Each share
    is ``{"bu_id", "percent", "user_id"?}``; they must add up to exactly 100 %."""
    cleaned = _clean_shares(shares)
    before = [[s.bu_id, s.user_id, str(s.percent)] for s in opportunity.splits.order_by("pk")]
    opportunity.splits.all().delete()
    rows = RevenueSplit.objects.bulk_create(
        RevenueSplit(
            opportunity=opportunity,
            bu_id=share.bu_id,
            user_id=share.user_id,
            percent=share.percent,
            source=source,
        )
        for share in cleaned
    )
    after = [[s.bu_id, s.user_id, str(s.percent)] for s in rows]
    audit_action(
        actor=actor,
        obj=opportunity,
        verb="splits_changed",
        changes={"splits": [before, after], "source": [None, source]},
    )
    publish(
        actor=actor,
        name="sales.opportunity_splits_changed",
        payload={"opportunity_id": opportunity.pk, "splits": after, "source": source},
    )
    return rows


@transaction.atomic
def opportunity_set_splits(
    *, actor: Actor, pk: int, shares: list[dict[str, Any]]
) -> list[RevenueSplit]:
    """Set by hand how a won amount is credited; needs ``opportunities.admin``."""
    actor.require("opportunities", "admin")
    opportunity = scoped_get(Opportunity, actor=actor, pk=pk, action="change")
    return apply_splits(
        actor=actor, opportunity=opportunity, shares=shares, source=RevenueSplit.Source.MANUAL
    )
