"""Approval requests (审批): one mechanism every module uses for what needs a decision."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from groupcrm.core.scoping import ScopedModel


class ApprovalRequest(ScopedModel):
    """One request for a decision, owned by the unit it concerns.

    The subject is named by type label, id and title rather than a foreign key: any
    module's object (a discount on an opportunity, an expense, an ownership conflict) can
    be the subject without this table knowing its model.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    scope_module = "approvals"
    scope_owner_field = "requested_by"

    kind = models.CharField(_("kind"), max_length=60, db_index=True)
    bu = models.ForeignKey(
        "org.BusinessUnit", verbose_name=_("business unit"), on_delete=models.PROTECT
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approval_requests",
    )
    subject_type = models.CharField(_("subject type"), max_length=60)
    subject_id = models.CharField(_("subject id"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    payload = models.JSONField(_("details"), default=dict, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)

    audit_fields: ClassVar[tuple[str, ...]] = (
        "kind",
        "bu",
        "requested_by",
        "subject_type",
        "subject_id",
        "title",
        "payload",
        "reason",
        "status",
        "decided_by",
        "comment",
    )

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "bu"], name="appr_status_bu"),
            models.Index(fields=["requested_by", "status"], name="appr_requester_status"),
            models.Index(fields=["decided_by", "decided_at"], name="appr_decider"),
        ]
        constraints = [
            # One open request per (kind, subject): the index, not a read before the
            # write, is what stops two concurrent requests.
            models.UniqueConstraint(
                fields=["kind", "subject_type", "subject_id"],
                condition=Q(status="pending"),
                name="appr_one_pending_per_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display()})"
