"""Event subscribers of the organisation module: in-app notifications."""

from __future__ import annotations

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from groupcrm.core.events import subscriber
from groupcrm.core.models import OutboxEvent
from groupcrm.core.services import notification_create
from groupcrm.org.models import Membership, User


@subscriber("org.user_created")
def welcome_new_user(event: OutboxEvent) -> None:
    user = User.objects.filter(pk=event.payload["user_id"]).first()
    if user is None:
        return
    with translation.override(user.language):
        notification_create(
            user_id=user.pk,
            title=_("Welcome to groupcrm"),
            body=_("Set up two-factor authentication on your profile page."),
            link=reverse("profile"),
            event=event,
        )


@subscriber("org.membership_added")
def notify_new_membership(event: OutboxEvent) -> None:
    membership = (
        Membership.objects.select_related("user", "bu", "role")
        .filter(pk=event.payload["membership_id"])
        .first()
    )
    if membership is None:
        return
    with translation.override(membership.user.language):
        notification_create(
            user_id=membership.user_id,
            title=_("You were given the role %(role)s in %(bu)s")
            % {"role": membership.role.name, "bu": membership.bu.name},
            link=reverse("org:chart"),
            event=event,
        )
