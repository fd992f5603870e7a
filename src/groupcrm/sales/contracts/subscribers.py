"""Event subscribers: an overdue instalment reminds the contract's owner and the managers
of its unit (people above own-records scope who may see the contract).

Idempotent by event id: ``notification_create`` keeps one notification per (user, event).
"""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from groupcrm.core.actor import Actor
from groupcrm.core.events import subscriber
from groupcrm.core.models import OutboxEvent
from groupcrm.core.permissions import DataScope
from groupcrm.core.services import notification_create
from groupcrm.org.models import Membership, User
from groupcrm.sales.contracts.models import Contract


def managers_of(contract: Contract) -> list[User]:
    """Members of the contract's unit with team scope, and of a unit above it with subtree
    scope, who may see the contract (checked through the one scoping point). Group-wide
    roles (analysts) are not reminded: they watch, they do not chase."""
    members = Membership.objects.filter(
        Q(bu_id=contract.bu_id, role__data_scope=DataScope.TEAM)
        | Q(bu_id__in=contract.bu.ancestor_ids(), role__data_scope=DataScope.SUBTREE),
        is_active=True,
        role__is_active=True,
        user__is_active=True,
    )
    users = User.objects.filter(pk__in=members.values("user_id")).order_by("pk")
    return [
        u
        for u in users
        if Contract.objects.visible_to(Actor(u), "view").filter(pk=contract.pk).exists()
    ]


@subscriber("sales.payment_overdue")
def remind_of_overdue_payment(event: OutboxEvent) -> None:
    contract = (
        Contract.objects.select_related("bu", "owner", "customer")
        .filter(pk=event.payload["contract_id"])
        .first()
    )
    if contract is None or contract.status != Contract.Status.ACTIVE:
        return
    people = {u.pk: u for u in managers_of(contract)}
    if contract.owner.is_active:
        people[contract.owner_id] = contract.owner
    payload = event.payload
    for user in people.values():
        with translation.override(user.language):
            notification_create(
                user_id=user.pk,
                title=_("Payment overdue: %(number)s instalment %(n)d, %(customer)s")
                % {
                    "number": contract.number,
                    "n": payload["sequence"],
                    "customer": contract.customer.display_name,
                },
                body=_("%(amount)s CNY was due on %(due)s (%(days)d days ago).")
                % {
                    "amount": payload["outstanding"],
                    "due": payload["due_on"],
                    "days": payload["days_overdue"],
                },
                link=reverse("contracts:detail", args=[contract.pk]),
                event=event,
            )
