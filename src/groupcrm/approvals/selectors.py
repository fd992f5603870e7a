"""Reads of approval requests: the inbox tabs, one request, what awaits a person."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from groupcrm.approvals.models import ApprovalRequest
from groupcrm.approvals.registry import decidable_kinds
from groupcrm.core.actor import Actor
from groupcrm.core.errors import NotFound

TABS = ("todo", "mine", "done")


def _base(qs: QuerySet[ApprovalRequest]) -> QuerySet[ApprovalRequest]:
    return qs.select_related("bu", "requested_by", "decided_by")


def approvals_visible(*, actor: Actor) -> QuerySet[ApprovalRequest]:
    """Requests within the actor's approvals scope, plus their own: a requester follows
    what they asked for even without any approvals permission."""
    scoped = ApprovalRequest.objects.visible_to(actor, "view")
    if actor.user_id is None:
        return _base(scoped)
    own = ApprovalRequest.objects.filter(requested_by_id=actor.user_id)
    return _base(ApprovalRequest.objects.filter(Q(pk__in=scoped.values("pk")) | Q(pk__in=own)))


def approvals_to_decide(*, actor: Actor) -> QuerySet[ApprovalRequest]:
    """Pending requests the actor may decide: within their approve scope, of a kind whose
    module they can see, and never their own (four eyes)."""
    qs = ApprovalRequest.objects.visible_to(actor, "approve").filter(
        status=ApprovalRequest.Status.PENDING, kind__in=decidable_kinds(actor)
    )
    if actor.user_id is not None:
        qs = qs.exclude(requested_by_id=actor.user_id)
    return _base(qs)


def approval_list(
    *, actor: Actor, status: str = "", mine: bool = False, to_decide: bool = False
) -> QuerySet[ApprovalRequest]:
    qs = approvals_to_decide(actor=actor) if to_decide else approvals_visible(actor=actor)
    if mine:
        qs = qs.filter(requested_by_id=actor.user_id)
    if status:
        qs = qs.filter(status=status)
    return qs


def approval_inbox(*, actor: Actor, tab: str) -> QuerySet[ApprovalRequest]:
    """待我审批 (pending that I may decide), 我发起的 (mine), 已处理 (decided by me)."""
    if tab == "mine":
        return approval_list(actor=actor, mine=True)
    if tab == "done":
        return approvals_visible(actor=actor).filter(decided_by_id=actor.user_id)
    return approvals_to_decide(actor=actor)


def approval_get(*, actor: Actor, pk: Any) -> ApprovalRequest:
    try:
        return approvals_visible(actor=actor).get(pk=pk)
    except (ApprovalRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def can_decide(*, actor: Actor, request: ApprovalRequest) -> bool:
    return approvals_to_decide(actor=actor).filter(pk=request.pk).exists()


def change_requests_to_decide(*, actor: Actor) -> QuerySet[Any]:
    """The customers' four-eyes changes awaiting this person, through the selector its
    own page uses (nothing when they may not approve customer changes)."""
    from groupcrm.customers.models import ChangeRequest
    from groupcrm.customers.selectors import change_requests_pending

    if not actor.can("customers", "approve"):
        return ChangeRequest.objects.none()
    return change_requests_pending(actor=actor)


def pending_count(*, actor: Actor) -> int:
    """The navigation badge: everything waiting for this person's decision."""
    return approvals_to_decide(actor=actor).count() + change_requests_to_decide(actor=actor).count()
