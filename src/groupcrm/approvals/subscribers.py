"""Event subscribers: approvers hear of new requests, requesters of decisions.

Idempotent by event id: ``notification_create`` keeps one notification per (user, event).
"""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from groupcrm.approvals import selectors
from groupcrm.approvals.models import ApprovalRequest
from groupcrm.approvals.registry import kind_label
from groupcrm.core.actor import Actor
from groupcrm.core.events import subscriber
from groupcrm.core.models import OutboxEvent
from groupcrm.core.permissions import DataScope
from groupcrm.core.services import notification_create
from groupcrm.org.models import Membership, User


def _request(event: OutboxEvent) -> ApprovalRequest | None:
    return (
        ApprovalRequest.objects.select_related("bu", "requested_by")
        .filter(pk=event.payload["request_id"])
        .first()
    )


def _approvers(request: ApprovalRequest) -> list[User]:
    """People who may decide ``request``. Only members of its unit, of a unit above it or
    with group-wide roles can reach it; each candidate is then checked through the one
    scoping point, so the rule is never written twice."""
    members = Membership.objects.filter(
        Q(bu_id__in=request.bu.ancestor_ids()) | Q(role__data_scope=DataScope.GROUP),
        is_active=True,
        role__is_active=True,
        user__is_active=True,
    ).exclude(user_id=request.requested_by_id)
    users = User.objects.filter(pk__in=members.values("user_id"))
    return [u for u in users if selectors.can_decide(actor=Actor(u), request=request)]


@subscriber("approvals.requested")
def notify_approvers(event: OutboxEvent) -> None:
    request = _request(event)
    if request is None or request.status != ApprovalRequest.Status.PENDING:
        return
    requester = request.requested_by
    for user in _approvers(request):
        with translation.override(user.language):
            notification_create(
                user_id=user.pk,
                title=_("%(kind)s awaits your approval: %(title)s")
                % {"kind": kind_label(request.kind), "title": request.title},
                body=(requester.display_name or requester.username) if requester else "",
                link=reverse("approvals:detail", args=[request.pk]),
                event=event,
            )


def _notify_requester(event: OutboxEvent, title: Promise) -> None:
    request = _request(event)
    if request is None or request.requested_by is None or not request.requested_by.is_active:
        return
    user = request.requested_by
    with translation.override(user.language):
        notification_create(
            user_id=user.pk,
            title=str(title) % {"title": request.title},
            body=request.comment,
            link=reverse("approvals:detail", args=[request.pk]),
            event=event,
        )


@subscriber("approvals.approved")
def notify_requester_of_approval(event: OutboxEvent) -> None:
    _notify_requester(event, gettext_lazy("Your request was approved: %(title)s"))


@subscriber("approvals.rejected")
def notify_requester_of_rejection(event: OutboxEvent) -> None:
    _notify_requester(event, gettext_lazy("Your request was rejected: %(title)s"))
