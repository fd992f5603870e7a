"""Writes on contracts: create from a won opportunity, change, activate, cancel, delete;
the payment plan; payments; overdue detection (design.md §4).

Every write on a contract's money (plan, payments) first locks the contract row
(``select_for_update``): two concurrent payments are serialised there, and the second
sees what the first collected, so nothing is over-collected. The instalments' CHECK
constraint (paid ≤ amount) is the last line of defence.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.audit.services import audit_action, audit_create, audit_delete, audit_update, snapshot
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, ValidationError
from groupcrm.core.events import publish
from groupcrm.core.scoping import ensure_in_scope, scoped_get
from groupcrm.sales.contracts.models import Contract, Instalment, NumberSequence, Payment
from groupcrm.sales.models import Opportunity
from groupcrm.sales.services import parse_amount

NUMBER_PREFIX = "HT"
MAX_INSTALMENTS = 60
# An overdue instalment's owner is reminded again after this many days, not every night.
REMIND_AFTER_DAYS = 7
TEXT_LIMITS = {"title": 120, "notes": 4000}
REFERENCE_LIMIT = 100
ZERO = Decimal("0.00")
Status = Contract.Status


# --- helpers ----------------------------------------------------------------------------


def positive_amount(value: Any, errors: dict[str, Any], field: str = "amount") -> Decimal | None:
    """A CNY amount above zero with at most two decimals (the sales rules, then > 0)."""
    found: dict[str, Any] = {}
    amount = parse_amount(value, found)
    if found:
        errors[field] = found["amount"]
        return None
    if amount is not None and amount <= 0:
        errors[field] = _("The amount must be greater than zero.")
        return None
    return amount


def not_future(value: Any, errors: dict[str, Any], field: str) -> dt.date | None:
    if not isinstance(value, dt.date):
        errors[field] = _("Enter a date.")
        return None
    if value > timezone.localdate():
        errors[field] = _("The date cannot be in the future.")
        return None
    return value


def next_number(year: int) -> str:
    """HT-2026-000045: the year's next number, taken with a conditional UPDATE that
    serialises concurrent callers on the sequence row until their commit."""
    NumberSequence.objects.get_or_create(prefix=NUMBER_PREFIX, year=year)
    NumberSequence.objects.filter(prefix=NUMBER_PREFIX, year=year).update(last=F("last") + 1)
    last = NumberSequence.objects.get(prefix=NUMBER_PREFIX, year=year).last
    return f"{NUMBER_PREFIX}-{year}-{last:06d}"


def _lock(actor: Actor, pk: int, action: str) -> Contract:
    """The contract within the actor's scope, its row locked until commit."""
    contract = scoped_get(Contract, actor=actor, pk=pk, action=action)
    return Contract.objects.select_for_update().select_related("customer").get(pk=contract.pk)


def _clean(data: dict[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, limit in TEXT_LIMITS.items():
        if name in data:
            out[name] = (data[name] or "").strip()
            if len(out[name]) > limit:
                errors[name] = _("At most %(limit)d characters.") % {"limit": limit}
    if "title" in out and not out["title"]:
        errors["title"] = _("This field is required.")
    if "amount" in data:
        out["amount"] = positive_amount(data["amount"], errors)
    for name in ("signed_on", "start_on", "end_on"):
        if name in data:
            out[name] = data[name]
            if out[name] is not None and not isinstance(out[name], dt.date):
                errors[name] = _("Enter a date.")
    if isinstance(out.get("signed_on"), dt.date) and out["signed_on"] > timezone.localdate():
        errors["signed_on"] = _("A contract cannot be signed in the future.")
    return out


def _check_period(contract: Contract) -> None:
    if contract.start_on and contract.end_on and contract.end_on < contract.start_on:
        raise ValidationError({"end_on": _("The contract cannot end before it starts.")})


def _event(contract: Contract) -> dict[str, Any]:
    return {
        "contract_id": contract.pk,
        "number": contract.number,
        "opportunity_id": contract.opportunity_id,
        "customer_id": contract.customer_id,
        "bu_id": contract.bu_id,
        "amount": str(contract.amount),
        "status": contract.status,
    }


def received(contract: Contract) -> Decimal:
    return contract.instalments.aggregate(total=Sum("paid_amount"))["total"] or ZERO


# --- contracts --------------------------------------------------------------------------


@transaction.atomic
def contract_create(
    *,
    actor: Actor,
    opportunity_id: Any,
    amount: Any = None,
    title: str = "",
    signed_on: dt.date | None = None,
    start_on: dt.date | None = None,
    end_on: dt.date | None = None,
    notes: str = "",
) -> Contract:
    """A draft contract for a won opportunity the actor may see, in its unit and for its
    owner; the amount defaults to the opportunity's. One per opportunity unless the
    earlier one was cancelled."""
    actor.require("contracts", "create")
    opportunity = (
        Opportunity.objects.visible_to(actor, "view")
        .select_related("customer")
        .filter(pk=opportunity_id)
        .first()
        if isinstance(opportunity_id, int)
        else None
    )
    if opportunity is None:
        raise ValidationError({"opportunity_id": _("Choose an opportunity you may see.")})
    if opportunity.status != Opportunity.Status.WON:
        message = _("A contract can only be made from a won opportunity.")
        raise ValidationError({"opportunity_id": message}, message=message, code="not_won")
    if opportunity.contracts.exclude(status=Status.CANCELLED).exists():
        raise _duplicate()
    errors: dict[str, Any] = {}
    data = _clean(
        {
            "title": title or opportunity.name,
            "amount": opportunity.amount if amount in (None, "") else amount,
            "signed_on": signed_on,
            "start_on": start_on,
            "end_on": end_on,
            "notes": notes,
        },
        errors,
    )
    if errors:
        raise ValidationError(errors)
    today = timezone.localdate()
    contract = Contract(
        number=next_number(today.year),
        opportunity=opportunity,
        customer=opportunity.customer,
        bu_id=opportunity.bu_id,
        owner_id=opportunity.owner_id,
        created_by=actor.user,
        **data,
    )
    _check_period(contract)
    try:
        with transaction.atomic():  # a concurrent twin trips the index: only this rolls back
            contract.save()
    except IntegrityError:
        raise _duplicate() from None
    ensure_in_scope(contract, actor=actor, action="create")
    audit_create(actor=actor, obj=contract)
    publish(actor=actor, name="sales.contract_created", payload=_event(contract))
    return contract


def _duplicate() -> Conflict:
    return Conflict(
        _("This opportunity already has a contract: cancel it before making another."),
        code="contract_exists",
    )


@transaction.atomic
def contract_update(*, actor: Actor, pk: int, **fields: Any) -> Contract:
    """Change the details of a draft or active contract. The amount changes only while
    nothing has been received and no payment plan is set (the plan must add up to it)."""
    contract = _lock(actor, pk, "change")
    if contract.status not in (Status.DRAFT, Status.ACTIVE):
        raise Conflict(
            _("A completed or cancelled contract cannot be changed."), code="contract_closed"
        )
    status = fields.pop("status", None)
    errors: dict[str, Any] = {}
    data = _clean(fields, errors)
    if errors:
        raise ValidationError(errors)
    if "amount" in data and data["amount"] != contract.amount and contract.instalments.exists():
        message = _(
            "The payment plan adds up to the current amount: clear the plan before "
            "changing the amount."
        )
        raise ValidationError({"amount": message}, message=message, code="plan_set")
    if contract.status == Status.ACTIVE and "signed_on" in data and data["signed_on"] is None:
        raise ValidationError({"signed_on": _("An active contract needs its signing date.")})
    before = snapshot(contract)
    for name, value in data.items():
        setattr(contract, name, value)
    _check_period(contract)
    contract.save()
    audit_update(actor=actor, obj=contract, before=before)
    if status and status != contract.status:
        if status == Status.ACTIVE:
            return _activate(actor, contract)
        if status == Status.CANCELLED:
            return _cancel(actor, contract)
        raise ValidationError(
            {"status": _("A contract can be set to active or cancelled; it completes when paid.")}
        )
    return contract


def _activate(actor: Actor, contract: Contract) -> Contract:
    if contract.status != Status.DRAFT:
        raise Conflict(_("Only a draft contract can be activated."), code="not_draft")
    errors = {}
    if contract.signed_on is None:
        errors["signed_on"] = _("Enter the date the contract was signed.")
    if not contract.instalments.exists():
        errors["instalments"] = _("Set the payment plan first.")
    if errors:
        raise ValidationError(errors, message=next(iter(errors.values())), code="not_ready")
    before = snapshot(contract)
    contract.status = Status.ACTIVE
    contract.save(update_fields=["status", "updated_at"])
    audit_update(actor=actor, obj=contract, before=before, verb="contract_activated")
    publish(actor=actor, name="sales.contract_activated", payload=_event(contract))
    return contract


def _cancel(actor: Actor, contract: Contract) -> Contract:
    if contract.status not in (Status.DRAFT, Status.ACTIVE):
        raise Conflict(
            _("A completed or cancelled contract cannot be changed."), code="contract_closed"
        )
    if contract.payments.exists():
        raise Conflict(
            _("Payments were received on this contract: it cannot be cancelled."),
            code="has_payments",
        )
    before = snapshot(contract)
    contract.status = Status.CANCELLED
    contract.save(update_fields=["status", "updated_at"])
    audit_update(actor=actor, obj=contract, before=before, verb="contract_cancelled")
    publish(actor=actor, name="sales.contract_cancelled", payload=_event(contract))
    return contract


@transaction.atomic
def contract_activate(*, actor: Actor, pk: int) -> Contract:
    """Draft → active: signed, with a payment plan. Payments are recorded on active ones."""
    return _activate(actor, _lock(actor, pk, "change"))


@transaction.atomic
def contract_cancel(*, actor: Actor, pk: int) -> Contract:
    """A contract without payments is cancelled; its opportunity may get a new one."""
    return _cancel(actor, _lock(actor, pk, "change"))


@transaction.atomic
def contract_delete(*, actor: Actor, pk: int) -> None:
    """Only a draft is deleted (with its plan); later ones are cancelled instead."""
    contract = _lock(actor, pk, "delete")
    if contract.status != Status.DRAFT:
        raise Conflict(
            _("Only a draft contract can be deleted; cancel it instead."), code="not_draft"
        )
    audit_delete(actor=actor, obj=contract)
    publish(actor=actor, name="sales.contract_deleted", payload=_event(contract))
    contract.delete()


# --- the payment plan -------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedInstalment:
    due_on: dt.date
    amount: Decimal
    id: int | None = None


def _clean_plan(contract: Contract, rows: Any) -> list[PlannedInstalment]:
    if not isinstance(rows, list):
        raise ValidationError({"instalments": _("Send the list of instalments.")})
    if len(rows) > MAX_INSTALMENTS:
        raise ValidationError(
            {"instalments": _("At most %(n)d instalments.") % {"n": MAX_INSTALMENTS}}
        )
    existing = {i.pk: i for i in contract.instalments.all()}
    errors: dict[str, Any] = {}
    out: list[PlannedInstalment] = []
    seen: set[int] = set()
    for index, row in enumerate(rows):
        row = row if isinstance(row, dict) else {}
        amount = positive_amount(row.get("amount"), errors, f"instalments.{index}.amount")
        due_on = row.get("due_on")
        if not isinstance(due_on, dt.date):
            errors[f"instalments.{index}.due_on"] = _("Enter the due date.")
        pk = row.get("id") or None
        if pk is not None and (pk not in existing or pk in seen):
            errors[f"instalments.{index}.id"] = _("Not an instalment of this contract.")
            continue
        if pk is not None:
            seen.add(pk)
            paid = existing[pk].paid_amount
            if amount is not None and amount < paid:
                errors[f"instalments.{index}.amount"] = _(
                    "%(paid)s has already been received on this instalment: it cannot be less."
                ) % {"paid": f"{paid:,.2f}"}
        if amount is not None and isinstance(due_on, dt.date):
            out.append(PlannedInstalment(due_on, amount, pk))
    for pk, instalment in existing.items():
        if pk not in seen and instalment.paid_amount > 0:
            errors["instalments"] = _(
                "Instalment %(n)d has payments: keep it in the plan (its amount may change)."
            ) % {"n": instalment.sequence}
    if not errors and out and sum(p.amount for p in out) != contract.amount:
        errors["instalments"] = _(
            "The instalments add up to %(total)s but the contract amount is %(amount)s: "
            "they must be equal."
        ) % {"total": f"{sum(p.amount for p in out):,.2f}", "amount": f"{contract.amount:,.2f}"}
    if errors:
        message = errors.get("instalments") or next(iter(errors.values()))
        raise ValidationError(errors, message=message, code="invalid_plan")
    return out


def _status_of(instalment: Instalment, today: dt.date) -> str:
    if instalment.paid_amount >= instalment.amount:
        return Instalment.Status.PAID
    if instalment.overdue_since and instalment.due_on < today:
        return Instalment.Status.OVERDUE
    if instalment.paid_amount > 0:
        return Instalment.Status.PARTIAL
    return Instalment.Status.PENDING


@transaction.atomic
def plan_set(*, actor: Actor, pk: int, instalments: list[dict[str, Any]]) -> list[Instalment]:
    """Replace the contract's payment plan. Rows are ``{"due_on", "amount", "id"?}`` in
    order; they must add up to exactly the contract amount (or be empty to clear a plan
    without payments). Rows with payments are kept by ``id`` and cannot drop below what
    was received on them."""
    contract = _lock(actor, pk, "change")
    if contract.status not in (Status.DRAFT, Status.ACTIVE):
        raise Conflict(
            _("A completed or cancelled contract cannot be changed."), code="contract_closed"
        )
    planned = _clean_plan(contract, instalments)
    if not planned and contract.status == Status.ACTIVE:
        raise ValidationError({"instalments": _("An active contract needs a payment plan.")})
    before = [[i.sequence, i.due_on.isoformat(), str(i.amount)] for i in contract.instalments.all()]
    keep = {p.id for p in planned if p.id}
    contract.instalments.exclude(pk__in=keep).delete()
    # Out of the way first, so the new order never collides on (contract, sequence).
    contract.instalments.update(sequence=F("sequence") + 1000)
    today = timezone.localdate()
    rows = []
    for sequence, plan in enumerate(planned, start=1):
        row = (
            Instalment.objects.get(pk=plan.id)
            if plan.id
            else Instalment(contract=contract, paid_amount=ZERO)
        )
        row.sequence, row.due_on, row.amount = sequence, plan.due_on, plan.amount
        if row.due_on >= today:
            row.overdue_since = row.reminded_on = None
        row.status = _status_of(row, today)
        row.save()
        rows.append(row)
    after = [[i.sequence, i.due_on.isoformat(), str(i.amount)] for i in rows]
    audit_action(actor=actor, obj=contract, verb="plan_changed", changes={"plan": [before, after]})
    publish(
        actor=actor,
        name="sales.contract_plan_changed",
        payload={**_event(contract), "instalments": after},
    )
    return rows


# --- payments ---------------------------------------------------------------------------


@transaction.atomic
def payment_record(
    *,
    actor: Actor,
    pk: int,
    instalment_id: Any,
    amount: Any,
    received_on: Any,
    method: str = Payment.Method.TRANSFER,
    reference: str = "",
) -> Payment:
    """Record money received against one instalment of an active contract. It may not
    exceed what is outstanding on the instalment nor on the contract; a fully covered
    instalment is paid, a fully paid contract completes."""
    contract = _lock(actor, pk, "change")
    if contract.status != Status.ACTIVE:
        message = _("Payments are recorded on active contracts only.")
        raise Conflict(message, code="not_active")
    errors: dict[str, Any] = {}
    value = positive_amount(amount, errors)
    day = not_future(received_on, errors, "received_on")
    if method not in Payment.Method.values:
        errors["method"] = _("Choose a payment method.")
    reference = (reference or "").strip()
    if len(reference) > REFERENCE_LIMIT:
        errors["reference"] = _("At most %(limit)d characters.") % {"limit": REFERENCE_LIMIT}
    instalment = (
        Instalment.objects.select_for_update().filter(contract=contract, pk=instalment_id).first()
        if isinstance(instalment_id, int)
        else None
    )
    if instalment is None:
        errors["instalment_id"] = _("Choose an instalment of this contract.")
    if errors:
        raise ValidationError(errors)
    assert value is not None and day is not None and instalment is not None
    contract_outstanding = contract.amount - received(contract)
    if value > contract_outstanding:
        message = _("%(amount)s exceeds what is outstanding on the contract (%(left)s).") % {
            "amount": f"{value:,.2f}",
            "left": f"{contract_outstanding:,.2f}",
        }
        raise ValidationError({"amount": message}, message=message, code="exceeds_contract")
    if value > instalment.outstanding:
        message = _("%(amount)s exceeds what is outstanding on instalment %(n)d (%(left)s).") % {
            "amount": f"{value:,.2f}",
            "n": instalment.sequence,
            "left": f"{instalment.outstanding:,.2f}",
        }
        raise ValidationError({"amount": message}, message=message, code="exceeds_instalment")
    payment = Payment.objects.create(
        contract=contract,
        instalment=instalment,
        amount=value,
        received_on=day,
        method=method,
        reference=reference,
        recorded_by=actor.user,
    )
    instalment.paid_amount += value
    instalment.status = _status_of(instalment, timezone.localdate())
    instalment.save(update_fields=["paid_amount", "status"])
    audit_create(actor=actor, obj=payment)
    publish(
        actor=actor,
        name="sales.payment_received",
        payload={
            **_event(contract),
            "payment_id": payment.pk,
            "instalment_id": instalment.pk,
            "payment_amount": str(value),
            "received_on": day.isoformat(),
        },
    )
    if received(contract) == contract.amount:
        before = snapshot(contract)
        contract.status = Status.COMPLETED
        contract.save(update_fields=["status", "updated_at"])
        audit_update(actor=actor, obj=contract, before=before, verb="contract_completed")
        publish(actor=actor, name="sales.contract_completed", payload=_event(contract))
    return payment


# --- overdue detection ------------------------------------------------------------------


def _overdue_payload(instalment: Instalment, today: dt.date, first: bool) -> dict[str, Any]:
    contract = instalment.contract
    return {
        **_event(contract),
        "owner_id": contract.owner_id,
        "instalment_id": instalment.pk,
        "sequence": instalment.sequence,
        "due_on": instalment.due_on.isoformat(),
        "outstanding": str(instalment.outstanding),
        "days_overdue": (today - instalment.due_on).days,
        "first_reminder": first,
    }


@transaction.atomic
def overdue_detect(*, actor: Actor | None = None, today: dt.date | None = None) -> dict[str, int]:
    """Mark instalments of active contracts past their due date and not fully paid as
    overdue (once), and publish ``sales.payment_overdue`` for each one whose owner was
    not reminded in the last REMIND_AFTER_DAYS days. Conditional UPDATEs claim the rows,
    so two runs the same night (or two workers) neither mark nor remind twice."""
    actor = actor or Actor.system("contracts.overdue")
    today = today or timezone.localdate()
    due = Instalment.objects.filter(
        contract__status=Status.ACTIVE, due_on__lt=today, paid_amount__lt=F("amount")
    )
    newly = list(
        due.filter(status__in=[Instalment.Status.PENDING, Instalment.Status.PARTIAL]).values_list(
            "pk", flat=True
        )
    )
    marked = Instalment.objects.filter(
        pk__in=newly, status__in=[Instalment.Status.PENDING, Instalment.Status.PARTIAL]
    ).update(status=Instalment.Status.OVERDUE, overdue_since=today)
    cutoff = today - dt.timedelta(days=REMIND_AFTER_DAYS)
    remind = Q(reminded_on__isnull=True) | Q(reminded_on__lte=cutoff)
    reminded = 0
    for instalment in due.filter(remind, status=Instalment.Status.OVERDUE).select_related(
        "contract"
    ):
        claimed = Instalment.objects.filter(remind, pk=instalment.pk).update(reminded_on=today) == 1
        if not claimed:
            continue
        publish(
            actor=actor,
            name="sales.payment_overdue",
            payload=_overdue_payload(instalment, today, instalment.reminded_on is None),
        )
        reminded += 1
    return {"marked": marked, "reminded": reminded}
