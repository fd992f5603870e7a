"""Event subscribers: the other side of a referral is told, and so is a lead's new owner."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from groupcrm.core.actor import Actor
from groupcrm.core.events import subscriber
from groupcrm.core.models import OutboxEvent
from groupcrm.core.permissions import DataScope
from groupcrm.core.services import notification_create
from groupcrm.org.models import User
from groupcrm.sales.leads.models import Lead, Referral


def _deciders(referral: Referral) -> list[User]:
    """Who may accept the referral for the receiving unit: its addressee, else the
    people of the unit (or of a unit above it) who may decide it — not group-wide roles,
    who would be told of every referral in the group."""
    if referral.to_user_id:
        return list(User.objects.filter(pk=referral.to_user_id, is_active=True))
    paths = [referral.to_bu.path[:end] for end in range(9, len(referral.to_bu.path) + 1, 9)]
    condition = Q(memberships__bu__path__in=paths)
    people = User.objects.filter(condition, is_active=True, memberships__is_active=True).distinct()
    out = []
    for user in people:
        actor = Actor(user)
        if actor.widest_scope("referrals", "change") == DataScope.GROUP:
            continue
        if Referral.objects.filter(Referral.receiving_q(actor, "change"), pk=referral.pk).exists():
            out.append(user)
    return out


def _notify(users: list[User], event: OutboxEvent, referral: Referral, title: str) -> None:
    link = reverse("leads:referral_detail", args=[referral.pk])
    for user in users:
        if user.pk == event.actor_id:
            continue
        with translation.override(user.language):
            notification_create(
                user_id=user.pk,
                title=_(title)
                % {"item": str(referral), "from": referral.from_bu.name, "to": referral.to_bu.name},
                body=referral.decline_reason or referral.note,
                link=link,
                event=event,
            )


def _referral(event: OutboxEvent) -> Referral | None:
    return (
        Referral.objects.select_related("from_bu", "to_bu", "lead", "opportunity")
        .filter(pk=event.payload["referral_id"])
        .first()
    )


# The titles are translated per recipient, in their language.
CREATED = gettext_noop("%(from)s referred %(item)s to %(to)s")
ACCEPTED = gettext_noop("%(to)s accepted your referral of %(item)s")
DECLINED = gettext_noop("%(to)s declined your referral of %(item)s")
ASSIGNED = gettext_noop("A lead was assigned to you: %(company)s")


@subscriber("sales.referral_created")
def notify_receiving_side(event: OutboxEvent) -> None:
    referral = _referral(event)
    if referral is not None:
        _notify(_deciders(referral), event, referral, CREATED)


@subscriber("sales.referral_accepted")
def notify_referrer_of_acceptance(event: OutboxEvent) -> None:
    referral = _referral(event)
    if referral is not None:
        _notify([referral.from_user], event, referral, ACCEPTED)


@subscriber("sales.referral_declined")
def notify_referrer_of_decline(event: OutboxEvent) -> None:
    referral = _referral(event)
    if referral is not None:
        _notify([referral.from_user], event, referral, DECLINED)


@subscriber("sales.lead_created")
@subscriber("sales.lead_assigned")
def notify_new_owner(event: OutboxEvent) -> None:
    owner_id = event.payload.get("owner_id")
    lead = Lead.objects.filter(pk=event.payload["lead_id"]).first()
    if lead is None or not owner_id or owner_id != lead.owner_id or owner_id == event.actor_id:
        return
    owner = User.objects.filter(pk=owner_id, is_active=True).first()
    if owner is None:
        return
    with translation.override(owner.language):
        notification_create(
            user_id=owner.pk,
            title=_(ASSIGNED) % {"company": lead.company_name},
            link=reverse("leads:detail", args=[lead.pk]),
            event=event,
        )
