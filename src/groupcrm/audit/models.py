"""Append-only change records, chained by hash so that tampering is detectable."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from groupcrm.core.scoping import ScopedModel


class AppendOnlyError(RuntimeError):
    pass


class ChangeRecord(ScopedModel):
    """Readable through the audit module's scope: a unit's records, or one's own."""

    scope_module = "audit"
    scope_owner_field = "actor"

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Changed")
        DELETE = "delete", _("Deleted")
        ACTION = "action", _("Action")

    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    actor_label = models.CharField(_("actor"), max_length=150)
    bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    verb = models.CharField(_("operation"), max_length=60, blank=True)
    object_type = models.CharField(_("object type"), max_length=60)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=200)
    # What the object belongs to ("customers.customer:42"), so that one customer's
    # timeline finds the changes of its contacts and relationships too.
    subject = models.CharField(_("subject"), max_length=80, blank=True)
    changes = models.JSONField(_("changes"), default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("change record")
        verbose_name_plural = _("change records")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["actor", "at"], name="audit_actor_at"),
            models.Index(fields=["subject", "id"], name="audit_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_type}#{self.object_id}"

    def canonical(self) -> dict[str, Any]:
        """The content the hash covers (everything but the hash itself).

        ``subject`` came later: it is covered when set, so older records keep their hash."""
        content = {
            "at": self.at.isoformat(),
            "actor": self.actor_id,
            "actor_label": self.actor_label,
            "bu": self.bu_id,
            "request_id": self.request_id,
            "ip": self.ip,
            "action": self.action,
            "verb": self.verb,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "changes": self.changes,
            "prev_hash": self.prev_hash,
        }
        if self.subject:
            content["subject"] = self.subject
        return content

    def compute_hash(self) -> str:
        blob = json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("change records are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("change records are append-only")


class AccessRecord(ScopedModel):
    """Who saw which personal data of whom (a reveal), and who exported what (§7)."""

    scope_module = "audit"
    scope_owner_field = "actor"

    class Kind(models.TextChoices):
        REVEAL = "reveal", _("Revealed personal data")
        EXPORT = "export", _("Exported")

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    object_type = models.CharField(_("object type"), max_length=60)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("access record")
        verbose_name_plural = _("access records")
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="access_object")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.object_type}#{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("access records are append-only")
        super().save(*args, **kwargs)
