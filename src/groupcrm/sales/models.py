"""Sales across the group (design.md §3 sales/): pipelines of stages and opportunities.

A ``Pipeline`` belongs to a unit, or to nobody: then it is the group's default. A unit
works with its own pipeline, else its nearest ancestor's, else the default
(services.pipeline_for). An ``Opportunity`` (商机) belongs to a unit and an owner and
follows their data scope; its ``version`` guards against lost updates.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from groupcrm.core.scoping import ScopedModel

CURRENCY = "CNY"

# The fields a stage may require before an opportunity enters it (Stage.required_fields).
REQUIRABLE_FIELDS: dict[str, object] = {
    "amount": _("amount"),
    "next_step": _("next step"),
    "competitors": _("competitors"),
    "decision_contacts": _("decision makers"),
}


class Pipeline(models.Model):
    bu = models.OneToOneField(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sales_pipeline",
        help_text=_("Empty: the group's default pipeline."),
    )
    name = models.CharField(_("name"), max_length=60)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    class Outcome(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE, related_name="stages"
    )
    name = models.CharField(_("name"), max_length=40)
    order = models.PositiveSmallIntegerField(_("order"))
    probability = models.PositiveSmallIntegerField(_("win probability (%)"))
    outcome = models.CharField(
        _("outcome"), max_length=4, choices=Outcome.choices, default=Outcome.OPEN
    )
    required_fields = models.JSONField(_("fields required to enter"), default=list, blank=True)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "order"], name="sales_stage_order"),
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="sales_stage_probability"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def required_labels(self) -> list[str]:
        return [str(REQUIRABLE_FIELDS.get(name, name)) for name in self.required_fields]


class Opportunity(ScopedModel):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    class ForecastCategory(models.TextChoices):
        """How sure the owner is of an open opportunity (the forecast's columns)."""

        PIPELINE = "pipeline", pgettext_lazy("forecast category", "Pipeline")
        BEST_CASE = "best_case", _("Best case")
        COMMIT = "commit", _("Commit")
        OMITTED = "omitted", _("Omitted")

    scope_module = "opportunities"

    bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    name = models.CharField(_("name"), max_length=120)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=16, decimal_places=2)
    expected_close = models.DateField(_("expected close"))
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="+"
    )
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities"
    )
    probability = models.PositiveSmallIntegerField(_("win probability (%)"))
    # Set when someone typed the probability: stage moves then keep it (until won/lost).
    probability_manual = models.BooleanField(_("probability set by hand"), default=False)
    forecast_category = models.CharField(
        _("forecast category"),
        max_length=10,
        choices=ForecastCategory.choices,
        default=ForecastCategory.PIPELINE,
    )
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    competitors = models.TextField(_("competitors"), blank=True)
    decision_contacts = models.ManyToManyField(
        "customers.Contact",
        verbose_name=_("decision makers"),
        blank=True,
        related_name="opportunities",
    )
    lost_reason = models.CharField(_("reason for losing"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=4, choices=Status.choices, default=Status.OPEN
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    stage_entered_at = models.DateTimeField(_("in stage since"))
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    audit_fields: ClassVar[tuple[str, ...]] = (
        "bu",
        "owner",
        "customer",
        "name",
        "amount",
        "expected_close",
        "pipeline",
        "stage",
        "probability",
        "forecast_category",
        "next_step",
        "competitors",
        "lost_reason",
        "status",
    )

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["expected_close", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="sales_opp_amount"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="sales_opp_prob"),
        ]
        indexes = [
            models.Index(fields=["bu", "owner", "status"], name="sales_opp_bu_owner"),
            models.Index(fields=["customer", "status"], name="sales_opp_customer"),
            models.Index(fields=["stage", "expected_close"], name="sales_opp_stage"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def weighted_amount(self) -> Decimal:
        # Money rounds half up (as on invoices), not half to even.
        return (self.amount * self.probability / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)

    def audit_subject(self) -> models.Model:
        return self.customer


class StageChange(models.Model):
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.ForeignKey(
        Stage, verbose_name=_("from"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(
        Stage, verbose_name=_("to"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("time"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    seconds_in_previous = models.PositiveBigIntegerField(_("time in previous stage (s)"))

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["opportunity", "at"], name="sales_stage_change")]

    def __str__(self) -> str:
        return f"{self.from_stage} → {self.to_stage}"


class RevenueSplit(models.Model):
    """Who is credited with an opportunity's amount when it is won, by unit (and rep).

    An opportunity without splits credits 100 % to its own unit and owner. Splits come from
    a referral between units, a conflict decided as joint pursuit, or by hand; together
    they sum to exactly 100 % (services.apply_splits).
    """

    class Source(models.TextChoices):
        MANUAL = "manual", _("Set by hand")
        REFERRAL = "referral", _("Referral")
        CONFLICT = "conflict", _("Conflict decision")

    opportunity = models.ForeignKey(
        Opportunity, verbose_name=_("opportunity"), on_delete=models.CASCADE, related_name="splits"
    )
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
    )
    percent = models.DecimalField(_("share (%)"), max_digits=5, decimal_places=2)
    source = models.CharField(
        _("source"), max_length=8, choices=Source.choices, default=Source.MANUAL
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("revenue split")
        verbose_name_plural = _("revenue splits")
        ordering = ["opportunity_id", "-percent", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(percent__gt=0) & Q(percent__lte=100), name="sales_split_percent"
            ),
            models.UniqueConstraint(
                fields=["opportunity", "bu", "user"], name="sales_split_unique"
            ),
        ]
        indexes = [models.Index(fields=["bu", "user"], name="sales_split_bu_user")]

    def __str__(self) -> str:
        return f"{self.bu} {self.percent}%"

    def amount_of(self, total: Decimal) -> Decimal:
        return (total * self.percent / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
