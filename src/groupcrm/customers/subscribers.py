"""Event subscribers of the customer master: followers and former owners are told."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from groupcrm.core.actor import Actor
from groupcrm.core.events import subscriber
from groupcrm.core.models import OutboxEvent
from groupcrm.core.services import notification_create
from groupcrm.customers.models import Customer, CustomerRelationship, Follow
from groupcrm.org.models import User


def _followers(event: OutboxEvent) -> list[User]:
    """People following the customer, themselves or through a unit they belong to (the
    unit or one above it), except whoever made the change."""
    follows = Follow.objects.filter(customer_id=event.payload["customer_id"])
    users = User.objects.filter(pk__in=follows.filter(user__isnull=False).values("user_id"))
    paths = list(follows.filter(bu__isnull=False).values_list("bu__path", flat=True))
    people = {u.pk: u for u in users.filter(is_active=True)}
    if paths:
        condition = Q(pk__in=[])
        for path in paths:
            condition |= Q(memberships__bu__path__startswith=path)
        members = User.objects.filter(condition, is_active=True, memberships__is_active=True)
        people.update({u.pk: u for u in members.distinct()})
    people.pop(event.actor_id or 0, None)
    return [u for u in people.values() if Actor(u).can("customers", "view")]


def _customer(event: OutboxEvent) -> Customer | None:
    return Customer.objects.filter(pk=event.payload["customer_id"]).first()


@subscriber("customers.updated")
def notify_followers_of_change(event: OutboxEvent) -> None:
    customer = _customer(event)
    if customer is None:
        return
    for user in _followers(event):
        with translation.override(user.language):
            fields = ", ".join(
                str(Customer._meta.get_field(name).verbose_name)
                for name in event.payload.get("fields", [])
            )
            notification_create(
                user_id=user.pk,
                title=_("%(customer)s was changed") % {"customer": customer.display_name},
                body=fields,
                link=reverse("customers:detail", args=[customer.pk]),
                event=event,
            )


@subscriber("customers.owner_changed")
def notify_owner_change(event: OutboxEvent) -> None:
    customer = _customer(event)
    relationship = CustomerRelationship.objects.filter(pk=event.payload["relationship_id"]).first()
    if customer is None or relationship is None:
        return
    link = reverse("customers:detail", args=[customer.pk])
    previous = User.objects.filter(pk=event.payload.get("from") or 0, is_active=True).first()
    if previous and event.payload.get("reason") == "reclaim":
        with translation.override(previous.language):
            notification_create(
                user_id=previous.pk,
                title=_("%(customer)s went back to the public pool")
                % {"customer": customer.display_name},
                body=relationship.release_reason,
                link=link,
                event=event,
            )
    new_owner = User.objects.filter(pk=event.payload.get("to") or 0).first()
    for user in _followers(event):
        if previous and user.pk == previous.pk and event.payload.get("reason") == "reclaim":
            continue
        with translation.override(user.language):
            notification_create(
                user_id=user.pk,
                title=_("%(customer)s has a new owner in %(unit)s")
                % {"customer": customer.display_name, "unit": relationship.bu.name},
                body=(new_owner.display_name or new_owner.username)
                if new_owner
                else _("In the public pool"),
                link=link,
                event=event,
            )


@subscriber("customers.stage_changed")
def notify_stage_change(event: OutboxEvent) -> None:
    """Stages are a unit's own business: only followers who may see it are told."""
    customer = _customer(event)
    if customer is None:
        return
    for user in _followers(event):
        visible = CustomerRelationship.objects.visible_to(Actor(user), "view").filter(
            pk=event.payload["relationship_id"]
        )
        relationship = visible.select_related("bu").first()
        if relationship is None:
            continue
        with translation.override(user.language):
            notification_create(
                user_id=user.pk,
                title=_("%(customer)s is now “%(stage)s” in %(unit)s")
                % {
                    "customer": customer.display_name,
                    "stage": relationship.get_stage_display(),
                    "unit": relationship.bu.name,
                },
                link=reverse("customers:detail", args=[customer.pk]),
                event=event,
            )
