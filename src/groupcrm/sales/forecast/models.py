"""Quotas and commission rules (design.md §3 sales/: quotas).

A ``Quota`` is a month's sales target in CNY, for one rep in a unit or for a unit as a
whole (``user`` empty); quarters and years are the sums of their months. A
``CommissionRule`` says which share of the won revenue credited to a rep is paid as
commission in a unit (optionally for one role or one rep), during its validity, with
higher rates from an attainment threshold on (tiers).
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from groupcrm.core.scoping import ScopedModel


class Quota(ScopedModel):
    scope_module = "forecast"
    scope_owner_field = "user"

    bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales rep"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: the quota of the unit as a whole."),
    )
    period = models.DateField(_("month"), help_text=_("Stored as the first day of the month."))
    amount = models.DecimalField(_("quota (CNY)"), max_digits=16, decimal_places=2)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    audit_fields: ClassVar[tuple[str, ...]] = ("bu", "user", "period", "amount")

    class Meta:
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        ordering = ["period", "bu_id", "user_id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="forecast_quota_amount"),
            models.UniqueConstraint(
                fields=["period", "bu", "user"],
                condition=Q(user__isnull=False),
                name="forecast_quota_rep",
            ),
            models.UniqueConstraint(
                fields=["period", "bu"], condition=Q(user__isnull=True), name="forecast_quota_unit"
            ),
        ]
        indexes = [
            models.Index(fields=["bu", "period"], name="forecast_quota_bu"),
            models.Index(fields=["user", "period"], name="forecast_quota_user"),
        ]

    def __str__(self) -> str:
        who = self.user.display_name or self.user.username if self.user else self.bu.name
        return f"{who} {self.period:%Y-%m}"


class CommissionRule(ScopedModel):
    """``tiers``: ``[{"from": 100, "rate": "5.00"}, …]`` — from that attainment (%) of the
    period's quota on, the tier's rate applies to the whole credited amount."""

    scope_module = "forecast"
    scope_owner_field = "user"

    bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Applies to the unit and the units below it."),
    )
    role = models.ForeignKey(
        "org.Role",
        verbose_name=_("role"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales rep"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    name = models.CharField(_("name"), max_length=80)
    rate = models.DecimalField(_("rate (%)"), max_digits=5, decimal_places=2)
    tiers = models.JSONField(_("tiers by attainment"), default=list, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    audit_fields: ClassVar[tuple[str, ...]] = (
        "bu",
        "role",
        "user",
        "name",
        "rate",
        "tiers",
        "valid_from",
        "valid_to",
    )

    class Meta:
        verbose_name = _("commission rule")
        verbose_name_plural = _("commission rules")
        ordering = ["bu_id", "-valid_from", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=100), name="forecast_rule_rate"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="forecast_rule_validity",
            ),
        ]
        indexes = [models.Index(fields=["bu", "valid_from"], name="forecast_rule_bu")]

    def __str__(self) -> str:
        return self.name

    def rate_for(self, attainment: Decimal | None) -> Decimal:
        """The rate (%) at ``attainment`` (% of quota; None without a quota): the highest
        tier reached, else the base rate."""
        rate = self.rate
        if attainment is not None:
            for tier in sorted(self.tiers, key=lambda t: Decimal(str(t["from"]))):
                if attainment >= Decimal(str(tier["from"])):
                    rate = Decimal(str(tier["rate"]))
        return rate


class CreditMonth(models.Model):
    """Credited amounts per (unit, rep, month): the forecast's figures, rebuilt from the
    opportunities and their splits by ``services.forecast_refresh`` (every few minutes)
    so that the dashboard reads a few hundred rows instead of aggregating a million."""

    bu = models.ForeignKey("org.BusinessUnit", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    month = models.DateField()
    won = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    commit = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    best_case = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    pipeline = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    weighted = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["month", "bu"], name="forecast_credit_month")]

    def __str__(self) -> str:
        return f"{self.bu_id}/{self.user_id} {self.month:%Y-%m}"


class PipelineCell(models.Model):
    """Open pipeline per (customer group, selling unit), rebuilt with CreditMonth;
    ``rank`` orders the customer groups by their group-wide open amount,
    ``division_rank`` by their open amount with the business unit below the group
    (``division``) the selling unit belongs to."""

    root = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    bu = models.ForeignKey("org.BusinessUnit", on_delete=models.CASCADE, related_name="+")
    division = models.ForeignKey("org.BusinessUnit", on_delete=models.CASCADE, related_name="+")
    total = models.DecimalField(max_digits=20, decimal_places=2)
    weighted = models.DecimalField(max_digits=20, decimal_places=2)
    count = models.PositiveIntegerField()
    rank = models.PositiveIntegerField()
    division_rank = models.PositiveIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["rank"], name="forecast_cell_rank"),
            models.Index(fields=["division", "division_rank"], name="forecast_cell_division"),
            models.Index(fields=["bu", "root"], name="forecast_cell_bu"),
        ]

    def __str__(self) -> str:
        return f"{self.root_id}/{self.bu_id}"
