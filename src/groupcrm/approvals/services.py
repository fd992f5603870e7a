"""Writes on approval requests: ask, decide (approve/reject), withdraw.

Each runs in one transaction with its audit record and outbox event; a decision runs the
kind's callback in that same transaction, so the business effect and the decision
commit together or not at all.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.approvals import selectors
from groupcrm.approvals.models import ApprovalRequest
from groupcrm.approvals.registry import ApprovalKind, kind_get
from groupcrm.audit.services import audit_create, audit_update, snapshot
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, PermissionDenied, ValidationError
from groupcrm.core.events import publish
from groupcrm.org.selectors import units_for

DECISIONS = {"approve": ApprovalRequest.Status.APPROVED, "reject": ApprovalRequest.Status.REJECTED}
Status = ApprovalRequest.Status


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _validate_request(
    actor: Actor,
    *,
    kind: str,
    bu_id: Any,
    subject_type: Any,
    subject_id: Any,
    title: Any,
    payload: Any,
    reason: Any,
) -> ApprovalKind:
    errors: dict[str, Any] = {}
    approval_kind = kind_get(kind) if isinstance(kind, str) else None
    if approval_kind is None:
        errors["kind"] = _("Unknown kind of approval.")
    # The requester must work in the unit, for the kind's module: an unknown unit and
    # one out of reach read the same, so existence does not leak.
    module = approval_kind.module if approval_kind else "approvals"
    units = units_for(actor=actor, module=module, action="view")
    if not isinstance(bu_id, int) or not units.filter(pk=bu_id).exists():
        errors["bu_id"] = _("Unknown business unit, or not one you work in.")
    for name, value, limit in (
        ("subject_type", subject_type, 60),
        ("subject_id", subject_id, 64),
        ("title", title, 200),
    ):
        if not _text(value):
            errors[name] = _("This field is required.")
        elif len(_text(value)) > limit:
            errors[name] = _("At most %(n)d characters.") % {"n": limit}
    if not isinstance(payload, dict):
        errors["payload"] = _("The details must be an object of names and values.")
    if reason is not None and not isinstance(reason, str):
        errors["reason"] = _("Enter text.")
    elif len(_text(reason)) > 500:
        errors["reason"] = _("At most %(n)d characters.") % {"n": 500}
    if errors:
        raise ValidationError(errors)
    assert approval_kind is not None
    return approval_kind


def _pending_conflict() -> Conflict:
    return Conflict(
        _("A request of this kind for this item is already waiting for a decision."),
        code="approval_pending",
    )


@transaction.atomic
def approval_request(
    *,
    actor: Actor,
    kind: str,
    bu_id: int,
    subject_type: str,
    subject_id: str | int,
    title: str,
    payload: dict[str, Any],
    reason: str = "",
) -> ApprovalRequest:
    """Ask for a decision on ``subject``; approvers of ``bu_id`` are notified."""
    approval_kind = _validate_request(
        actor,
        kind=kind,
        bu_id=bu_id,
        subject_type=subject_type,
        subject_id=str(subject_id),
        title=title,
        payload=payload,
        reason=reason,
    )
    fields = {
        "kind": approval_kind.code,
        "subject_type": subject_type.strip(),
        "subject_id": str(subject_id).strip(),
    }
    if ApprovalRequest.objects.filter(**fields, status=Status.PENDING).exists():
        raise _pending_conflict()
    try:
        # A savepoint: a concurrent twin trips the unique index and only this insert
        # rolls back, leaving the caller's transaction usable for the 409.
        with transaction.atomic():
            request = ApprovalRequest.objects.create(
                **fields,
                bu_id=bu_id,
                requested_by=actor.user,
                title=title.strip(),
                payload=payload,
                reason=_text(reason),
            )
    except IntegrityError:
        raise _pending_conflict() from None
    audit_create(actor=actor, obj=request)
    publish(actor=actor, name="approvals.requested", payload=_event(request))
    return request


def _event(request: ApprovalRequest) -> dict[str, Any]:
    return {
        "request_id": request.pk,
        "kind": request.kind,
        "bu_id": request.bu_id,
        "requested_by": request.requested_by_id,
        "status": request.status,
    }


def _locked(request: ApprovalRequest) -> ApprovalRequest:
    """The visible request again, under its row lock: a concurrent decider is waited for,
    so the checks that follow see its decision (409) instead of a half-read pending row."""
    return ApprovalRequest.objects.select_for_update().get(pk=request.pk)


def _close(actor: Actor, request: ApprovalRequest, status: str, comment: str) -> ApprovalRequest:
    """Move a pending request to ``status`` with a conditional UPDATE: of two concurrent
    deciders exactly one matches ``status='pending'``; the other gets a 409."""
    before = snapshot(request)
    changed = ApprovalRequest.objects.filter(pk=request.pk, status=Status.PENDING).update(
        status=status,
        decided_by_id=actor.user_id,
        decided_at=timezone.now(),
        comment=comment,
    )
    if not changed:
        raise Conflict(_("This request has already been decided."), code="already_decided")
    request.refresh_from_db()
    audit_update(actor=actor, obj=request, before=before, verb=f"approval_{status}")
    return request


@transaction.atomic
def approval_decide(*, actor: Actor, pk: int, decision: str, comment: str = "") -> ApprovalRequest:
    errors: dict[str, Any] = {}
    if decision not in DECISIONS:
        errors["decision"] = _("Choose approve or reject.")
    comment = _text(comment)
    if decision == "reject" and not comment:
        errors["comment"] = _("Say why you reject the request.")
    if len(comment) > 500:
        errors["comment"] = _("At most %(n)d characters.") % {"n": 500}
    if errors:
        raise ValidationError(errors)
    request = _locked(selectors.approval_get(actor=actor, pk=pk))
    if request.requested_by_id is not None and request.requested_by_id == actor.user_id:
        raise PermissionDenied(_("A request must be decided by someone other than its author."))
    if request.status != Status.PENDING:
        raise Conflict(_("This request has already been decided."), code="already_decided")
    if not selectors.can_decide(actor=actor, request=request):
        raise PermissionDenied(_("You may not decide this request."))
    approval_kind = kind_get(request.kind)
    if approval_kind is None:
        raise Conflict(
            _("This kind of request cannot be decided: its module is not installed."),
            code="unknown_kind",
        )
    request = _close(actor, request, DECISIONS[decision], comment)
    callback = approval_kind.on_approved if decision == "approve" else approval_kind.on_rejected
    if callback is not None:
        callback(request, actor)
    publish(actor=actor, name=f"approvals.{request.status}", payload=_event(request))
    return request


@transaction.atomic
def approval_withdraw(*, actor: Actor, pk: int) -> ApprovalRequest:
    """The requester takes back a request that is still pending."""
    request = _locked(selectors.approval_get(actor=actor, pk=pk))
    if request.requested_by_id is None or request.requested_by_id != actor.user_id:
        raise PermissionDenied(_("Only the person who asked can withdraw a request."))
    if request.status != Status.PENDING:
        raise Conflict(_("This request has already been decided."), code="already_decided")
    request = _close(actor, request, Status.WITHDRAWN, "")
    approval_kind = kind_get(request.kind)
    if approval_kind is not None and approval_kind.on_rejected is not None:
        approval_kind.on_rejected(request, actor)
    publish(actor=actor, name="approvals.withdrawn", payload=_event(request))
    return request
