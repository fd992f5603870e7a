"""What management commands that act as a person share: who acts (``--user``), and a
service's refusal as the command's error."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from groupcrm.core.actor import Actor
from groupcrm.core.errors import DomainError
from groupcrm.org.models import User


def acting_actor(username: str) -> Actor:
    """The actor a command works as: an active user, named by ``--user``."""
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(_("No active user is called “%(user)s”.") % {"user": username})
    return Actor(user)


def domain_error(exc: DomainError) -> CommandError:
    """A service's refusal as the command's error: the field messages, else the message."""
    details = "; ".join(" ".join(m) for m in getattr(exc, "fields", {}).values())
    return CommandError(details or str(exc.message))
