"""Ownership conflicts (撞单) between units over one customer group, and their arbitration.

A conflict is raised by one unit against another that is engaged with the same customer
group (an open opportunity or a protected relationship). It is decided through the one
approval mechanism (an ``ApprovalRequest`` of kind ``conflicts.decision``): one owner,
joint pursuit with a revenue split, or release to the pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from groupcrm.core.permissions import DataScope
from groupcrm.core.scoping import NOTHING, ScopedModel

if TYPE_CHECKING:
    from groupcrm.core.actor import Actor, Grant


class Conflict(ScopedModel):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DECIDED = "decided", _("Decided")
        DISMISSED = "dismissed", _("Dismissed")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Decision(models.TextChoices):
        ONE_OWNER = "one_owner", _("One owner")
        JOINT = "joint", _("Joint pursuit with a split")
        RELEASE = "release", _("Release to the pool")

    scope_module = "conflicts"
    scope_bu_field = "raised_bu"
    scope_owner_field = "raised_by"

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="ownership_conflicts",
    )
    # The top company of the customer's group: one open conflict per group and unit pair.
    group_root = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer group"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    raised_bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("raised by unit"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    other_bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("other unit"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Who worked the customer for the other unit when the conflict was raised.
    other_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("other unit's owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    pair_key = models.CharField(max_length=40, editable=False)
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    other_opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("other unit's opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    approval = models.ForeignKey(
        "approvals.ApprovalRequest",
        verbose_name=_("approval request"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices, blank=True)
    winner_bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("owning unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    raised_percent = models.DecimalField(
        _("share of the raising unit (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    other_percent = models.DecimalField(
        _("share of the other unit (%)"), max_digits=5, decimal_places=2, null=True, blank=True
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
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    audit_fields: ClassVar[tuple[str, ...]] = (
        "customer",
        "raised_by",
        "raised_bu",
        "other_bu",
        "other_owner",
        "opportunity",
        "other_opportunity",
        "reason",
        "status",
        "decision",
        "winner_bu",
        "raised_percent",
        "other_percent",
        "decided_by",
        "comment",
    )

    class Meta:
        verbose_name = _("ownership conflict")
        verbose_name_plural = _("ownership conflicts")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # The index, not a read before the write, stops two concurrent raises.
            models.UniqueConstraint(
                fields=["group_root", "pair_key"],
                condition=Q(status="open"),
                name="conflict_one_open_per_pair",
            )
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="conflict_status_age"),
            models.Index(fields=["raised_bu", "status"], name="conflict_raised_bu"),
            models.Index(fields=["other_bu", "status"], name="conflict_other_bu"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} · {self.raised_bu} ↔ {self.other_bu}"

    def audit_subject(self) -> models.Model:
        return self.customer

    @property
    def bu_id(self) -> int:
        # The audit log files the conflict under the raising unit.
        return self.raised_bu_id

    @staticmethod
    def pair_of(a: int, b: int) -> str:
        return f"{min(a, b)}-{max(a, b)}"

    @classmethod
    def scope_q(cls, grant: Grant, actor: Actor) -> Q:
        """Each side sees the conflicts involving its units: the raising and the other."""
        if grant.scope == DataScope.SUBTREE:
            return Q(raised_bu__path__startswith=grant.bu_path) | Q(
                other_bu__path__startswith=grant.bu_path
            )
        if grant.scope == DataScope.TEAM:
            return Q(raised_bu_id=grant.bu_id) | Q(other_bu_id=grant.bu_id)
        if grant.scope == DataScope.OWN:
            return Q(raised_bu_id=grant.bu_id, raised_by_id=actor.user_id) | Q(
                other_bu_id=grant.bu_id, other_owner_id=actor.user_id
            )
        return NOTHING
