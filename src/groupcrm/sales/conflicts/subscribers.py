"""Event subscribers: both sides hear of a conflict raised, decided or withdrawn (the
arbitrators hear of it through the approvals module).

Idempotent by event id: ``notification_create`` keeps one notification per (user, event).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from groupcrm.core.events import subscriber
from groupcrm.core.models import OutboxEvent
from groupcrm.core.services import notification_create
from groupcrm.org.models import User
from groupcrm.sales.conflicts.models import Conflict


def _notify(event: OutboxEvent, title: Promise, *, other_side_only: bool = False) -> None:
    conflict = (
        Conflict.objects.select_related("customer", "raised_bu", "other_bu", "winner_bu")
        .filter(pk=event.payload["conflict_id"])
        .first()
    )
    if conflict is None:
        return
    people = (
        {conflict.other_owner_id}
        if other_side_only
        else {
            conflict.raised_by_id,
            conflict.other_owner_id,
        }
    )
    people -= {None, event.actor_id}
    for user in User.objects.filter(pk__in=people, is_active=True):
        with translation.override(user.language):
            notification_create(
                user_id=user.pk,
                title=str(title)
                % {
                    "customer": conflict.customer.legal_name,
                    "unit": conflict.raised_bu.name,
                    "other": conflict.other_bu.name,
                    "status": conflict.get_status_display(),
                    "decision": conflict.get_decision_display() or "—",
                },
                body=conflict.comment or conflict.reason[:200],
                link=reverse("conflicts:detail", args=[conflict.pk]),
                event=event,
            )


@subscriber("sales.conflict_raised")
def notify_other_side_of_raise(event: OutboxEvent) -> None:
    _notify(
        event,
        _("%(unit)s asks the group to arbitrate %(customer)s with %(other)s"),
        other_side_only=True,
    )


@subscriber("sales.conflict_decided")
def notify_parties_of_decision(event: OutboxEvent) -> None:
    _notify(event, _("Ownership conflict over %(customer)s: %(status)s (%(decision)s)"))


@subscriber("sales.conflict_withdrawn")
def notify_other_side_of_withdrawal(event: OutboxEvent) -> None:
    _notify(
        event,
        _("%(unit)s withdrew its ownership conflict over %(customer)s"),
        other_side_only=True,
    )
