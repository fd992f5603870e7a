"""Announcements (公告): a unit publishes news to everyone in its subtree.

The first BU-owned model: it proves the scoping point, services, audit and events that
every later module copies.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from groupcrm.core.scoping import ScopedModel


class Announcement(ScopedModel):
    scope_module = "announcements"

    bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        on_delete=models.PROTECT,
        related_name="announcements",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="announcements",
    )
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("content"))
    pinned = models.BooleanField(_("pinned"), default=False)
    publish_at = models.DateTimeField(_("publish at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    audit_fields: ClassVar[tuple[str, ...]] = (
        "bu",
        "owner",
        "title",
        "body",
        "pinned",
        "publish_at",
        "expires_at",
    )

    class Meta:
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        ordering = ["-pinned", "-publish_at", "-pk"]
        indexes = [models.Index(fields=["bu", "publish_at"], name="ann_bu_publish")]

    def __str__(self) -> str:
        return self.title
