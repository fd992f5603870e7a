"""Writes on sales expenses (销售费用): draft → submitted (an approval request of kind
``expenses.claim``) → approved / rejected by someone else (four eyes, in approvals).

The approval kind's callbacks apply the decision inside the deciding transaction, so the
expense and the request change together or not at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from groupcrm.approvals.models import ApprovalRequest
from groupcrm.approvals.registry import register_kind
from groupcrm.approvals.services import approval_request
from groupcrm.audit.services import audit_create, audit_delete, audit_update, snapshot
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, ValidationError
from groupcrm.core.events import publish
from groupcrm.core.scoping import ensure_in_scope, scoped_get
from groupcrm.org.selectors import units_for
from groupcrm.sales.contracts.models import Expense
from groupcrm.sales.contracts.services import not_future, positive_amount
from groupcrm.sales.models import CURRENCY, Opportunity

APPROVAL_KIND = "expenses.claim"
SUBJECT_TYPE = "contracts.expense"
TEXT_LIMITS = {"description": 300, "receipt_ref": 100}
EDITABLE = (Expense.Status.DRAFT, Expense.Status.REJECTED)
Status = Expense.Status


def _clean(data: dict[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, limit in TEXT_LIMITS.items():
        if name in data:
            out[name] = (data[name] or "").strip()
            if len(out[name]) > limit:
                errors[name] = _("At most %(limit)d characters.") % {"limit": limit}
    if "description" in out and not out["description"]:
        errors["description"] = _("Say what the money was spent on.")
    if "kind" in data:
        out["kind"] = data["kind"]
        if out["kind"] not in Expense.Kind.values:
            errors["kind"] = _("Choose a kind of expense.")
    if "amount" in data:
        out["amount"] = positive_amount(data["amount"], errors)
        if out["amount"] is not None and out["amount"] >= 10**10:
            errors["amount"] = _("Enter at most 10 digits and 2 decimals.")
    if "spent_on" in data:
        out["spent_on"] = not_future(data["spent_on"], errors, "spent_on")
    return out


def _event(expense: Expense) -> dict[str, Any]:
    return {
        "expense_id": expense.pk,
        "opportunity_id": expense.opportunity_id,
        "bu_id": expense.bu_id,
        "owner_id": expense.owner_id,
        "kind": expense.kind,
        "amount": str(expense.amount),
        "status": expense.status,
    }


@transaction.atomic
def expense_create(
    *,
    actor: Actor,
    opportunity_id: Any,
    kind: str,
    amount: Any,
    spent_on: dt.date | None,
    description: str,
    receipt_ref: str = "",
    bu_id: int | None = None,
) -> Expense:
    """A draft expense claimed by the actor on an opportunity they may see, booked to the
    opportunity's unit (or ``bu_id``, a unit the actor may claim in)."""
    actor.require("expenses", "create")
    if actor.user is None:
        raise ValidationError({"owner_id": _("Expenses are claimed by a person.")})
    opportunity = (
        Opportunity.objects.visible_to(actor, "view").filter(pk=opportunity_id).first()
        if isinstance(opportunity_id, int)
        else None
    )
    errors: dict[str, Any] = {}
    if opportunity is None:
        errors["opportunity_id"] = _("Choose an opportunity you may see.")
    data = _clean(
        {
            "kind": kind,
            "amount": amount,
            "spent_on": spent_on,
            "description": description,
            "receipt_ref": receipt_ref,
        },
        errors,
    )
    units = units_for(actor=actor, module="expenses", action="create")
    unit_id = bu_id or (opportunity.bu_id if opportunity else None)
    if opportunity and not units.filter(pk=unit_id).exists():
        unit_id = bu_id or (actor.bu.pk if actor.bu else None)
        if not units.filter(pk=unit_id).exists():
            errors["bu_id"] = _("Choose a business unit you may claim expenses in.")
    if errors:
        raise ValidationError(errors)
    expense = Expense.objects.create(
        opportunity=opportunity, bu_id=unit_id, owner=actor.user, **data
    )
    ensure_in_scope(expense, actor=actor, action="create")
    audit_create(actor=actor, obj=expense)
    publish(actor=actor, name="sales.expense_created", payload=_event(expense))
    return expense


def _editable(actor: Actor, pk: int, action: str) -> Expense:
    expense = scoped_get(Expense, actor=actor, pk=pk, action=action)
    expense = Expense.objects.select_for_update().get(pk=expense.pk)
    if expense.status not in EDITABLE:
        raise Conflict(
            _("A submitted or approved expense cannot be changed."), code="expense_locked"
        )
    return expense


@transaction.atomic
def expense_update(*, actor: Actor, pk: int, **fields: Any) -> Expense:
    """Change a draft (or a rejected expense, which goes back to draft to be resubmitted)."""
    expense = _editable(actor, pk, "change")
    errors: dict[str, Any] = {}
    data = _clean(fields, errors)
    if errors:
        raise ValidationError(errors)
    before = snapshot(expense)
    for name, value in data.items():
        setattr(expense, name, value)
    expense.status = Status.DRAFT
    expense.save()
    audit_update(actor=actor, obj=expense, before=before)
    return expense


@transaction.atomic
def expense_delete(*, actor: Actor, pk: int) -> None:
    expense = _editable(actor, pk, "delete")
    audit_delete(actor=actor, obj=expense)
    publish(actor=actor, name="sales.expense_deleted", payload=_event(expense))
    expense.delete()


@transaction.atomic
def expense_submit(*, actor: Actor, pk: int, reason: str = "") -> Expense:
    """Ask for approval: the unit's approvers (never the claimant) decide."""
    expense = _editable(actor, pk, "change")
    request = approval_request(
        actor=actor,
        kind=APPROVAL_KIND,
        bu_id=expense.bu_id,
        subject_type=SUBJECT_TYPE,
        subject_id=expense.pk,
        title=_("Expense %(kind)s %(amount)s %(currency)s: %(opportunity)s")
        % {
            "kind": expense.get_kind_display(),
            "amount": f"{expense.amount:,.2f}",
            "currency": CURRENCY,
            "opportunity": expense.opportunity.name,
        },
        payload={
            "expense_id": expense.pk,
            "kind": expense.kind,
            "amount": str(expense.amount),
            "spent_on": expense.spent_on.isoformat(),
            "opportunity_id": expense.opportunity_id,
            "description": expense.description,
        },
        reason=reason,
    )
    before = snapshot(expense)
    expense.status = Status.SUBMITTED
    expense.approval_id = request.pk
    expense.decision_comment = ""
    expense.save(update_fields=["status", "approval_id", "decision_comment", "updated_at"])
    audit_update(actor=actor, obj=expense, before=before, verb="expense_submitted")
    publish(actor=actor, name="sales.expense_submitted", payload=_event(expense))
    return expense


def _decided(request: ApprovalRequest, actor: Actor, status: str, verb: str) -> None:
    """Apply a decision to the expense still waiting on this very request."""
    expense = (
        Expense.objects.select_for_update()
        .filter(pk=request.payload.get("expense_id"), approval_id=request.pk)
        .first()
    )
    if expense is None or expense.status != Status.SUBMITTED:
        return
    before = snapshot(expense)
    expense.status = status
    expense.decision_comment = request.comment
    expense.save(update_fields=["status", "decision_comment", "updated_at"])
    audit_update(actor=actor, obj=expense, before=before, verb=verb)
    publish(actor=actor, name=f"sales.{verb}", payload=_event(expense))


def on_approved(request: ApprovalRequest, actor: Actor) -> None:
    _decided(request, actor, Status.APPROVED, "expense_approved")


def on_rejected(request: ApprovalRequest, actor: Actor) -> None:
    """Rejected: the claimant may correct and resubmit; withdrawn: back to draft."""
    if request.status == ApprovalRequest.Status.WITHDRAWN:
        _decided(request, actor, Status.DRAFT, "expense_withdrawn")
    else:
        _decided(request, actor, Status.REJECTED, "expense_rejected")


def describe(request: ApprovalRequest) -> str:
    payload = request.payload
    kind = dict(Expense.Kind.choices).get(payload.get("kind", ""), "")
    return f"{kind} ¥{payload.get('amount', '')} · {payload.get('spent_on', '')}"


def register() -> None:
    register_kind(
        APPROVAL_KIND,
        gettext_lazy("Expense claim"),
        module="expenses",
        on_approved=on_approved,
        on_rejected=on_rejected,
        describe=describe,
        subject_url="contracts:expense_detail",
    )
