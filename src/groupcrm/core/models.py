"""Cross-cutting tables: the transactional outbox and in-app notifications."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxEvent(models.Model):
    """A domain event written in the same transaction as the change it announces.

    The worker dispatches it to every subscriber; each subscriber's success is recorded
    as an EventDelivery, so a retry runs only the subscribers that have not yet succeeded.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Delivered")
        DEAD = "dead", _("Dead letter")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("event"), max_length=80, db_index=True)
    payload = models.JSONField(_("payload"), default=dict)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    request_id = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["occurred_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="core_outbox_due")]

    def __str__(self) -> str:
        return f"{self.name} {self.id}"


class EventDelivery(models.Model):
    """One subscriber has handled one event. Unique, and written in the subscriber's own
    transaction: the idempotency key that makes redelivery harmless."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.CharField(max_length=120)
    delivered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "subscriber"], name="core_delivery_once")
        ]

    def __str__(self) -> str:
        return f"{self.subscriber} ← {self.event_id}"


class Notification(models.Model):
    """An in-app message for one user, usually produced by an event subscriber."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    event = models.ForeignKey(
        OutboxEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"], name="core_notif_unread")]
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="core_notif_once_per_event")
        ]

    def __str__(self) -> str:
        return self.title


class SavedView(models.Model):
    """A person's named filter of a list page (the query string), e.g. 我的战略客户."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    page = models.CharField(_("page"), max_length=40)
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("filters"), max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "page", "name"], name="core_saved_view_name")
        ]

    def __str__(self) -> str:
        return self.name
