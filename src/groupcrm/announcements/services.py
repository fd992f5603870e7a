"""Writes on announcements: scoped, audited, announced."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from groupcrm.announcements.models import Announcement
from groupcrm.audit.services import audit_create, audit_delete, audit_update, snapshot
from groupcrm.core.actor import Actor
from groupcrm.core.errors import PermissionDenied, ValidationError
from groupcrm.core.events import publish
from groupcrm.core.scoping import ensure_in_scope, scoped_get
from groupcrm.org.models import BusinessUnit


def _validate(
    title: str, body: str, publish_at: datetime | None, expires_at: datetime | None
) -> None:
    errors: dict[str, Any] = {}
    if not title.strip():
        errors["title"] = _("This field is required.")
    elif len(title.strip()) > 120:
        errors["title"] = _("At most 120 characters.")
    if not body.strip():
        errors["body"] = _("This field is required.")
    if publish_at and expires_at and expires_at <= publish_at:
        errors["expires_at"] = _("The expiry must be after the publication time.")
    if errors:
        raise ValidationError(errors)


def _unit_for(actor: Actor, bu_id: int | None) -> BusinessUnit:
    """The unit to publish in: the one asked for, else the actor's own."""
    unit_id = bu_id or (actor.bu.pk if actor.bu else None)
    unit = BusinessUnit.objects.filter(pk=unit_id, is_active=True).first() if unit_id else None
    if unit is None:
        raise ValidationError({"bu_id": _("Choose an active business unit.")})
    return unit


@transaction.atomic
def announcement_create(
    *,
    actor: Actor,
    title: str,
    body: str,
    bu_id: int | None = None,
    pinned: bool = False,
    publish_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> Announcement:
    actor.require("announcements", "create")
    _validate(title, body, publish_at, expires_at)
    if actor.user is None:
        raise PermissionDenied()
    announcement = Announcement(
        bu=_unit_for(actor, bu_id),
        owner=actor.user,
        title=title.strip(),
        body=body.strip(),
        pinned=pinned,
        expires_at=expires_at,
    )
    if publish_at:
        announcement.publish_at = publish_at
    announcement.save()
    # The new row must fall inside the actor's create scope, or nothing is written.
    ensure_in_scope(announcement, actor=actor, action="create")
    audit_create(actor=actor, obj=announcement)
    publish(
        actor=actor,
        name="announcements.published",
        payload={"announcement_id": announcement.pk, "bu_id": announcement.bu_id},
    )
    return announcement


@transaction.atomic
def announcement_update(
    *,
    actor: Actor,
    pk: int,
    title: str,
    body: str,
    pinned: bool = False,
    publish_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> Announcement:
    announcement = scoped_get(Announcement, actor=actor, pk=pk, action="change")
    _validate(title, body, publish_at or announcement.publish_at, expires_at)
    before = snapshot(announcement)
    announcement.title, announcement.body = title.strip(), body.strip()
    announcement.pinned, announcement.expires_at = pinned, expires_at
    if publish_at:
        announcement.publish_at = publish_at
    announcement.save()
    if audit_update(actor=actor, obj=announcement, before=before):
        publish(
            actor=actor,
            name="announcements.updated",
            payload={"announcement_id": announcement.pk},
        )
    return announcement


@transaction.atomic
def announcement_delete(*, actor: Actor, pk: int) -> None:
    announcement = scoped_get(Announcement, actor=actor, pk=pk, action="delete")
    audit_delete(actor=actor, obj=announcement)
    announcement.delete()
    publish(actor=actor, name="announcements.deleted", payload={"announcement_id": pk})
