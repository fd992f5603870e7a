"""Contracts (合同) signed from won opportunities, their payment plans (回款计划) and the
payments collected against them (回款); sales expenses (销售费用) claimed per opportunity.

A ``Contract`` belongs to the unit and owner of the opportunity it comes from and follows
their data scope. Its instalments add up to exactly its amount; each instalment keeps the
sum of its payments (``paid_amount``), maintained under the contract's row lock, so an
instalment (and the contract) can never be over-collected.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from groupcrm.core.scoping import ScopedModel


class NumberSequence(models.Model):
    """The last number given out per prefix and year (HT-2026-…): one row, incremented
    with a conditional UPDATE inside the creating transaction, so two concurrent
    creations never get the same number."""

    prefix = models.CharField(max_length=8)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="contracts_sequence_key")
        ]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last}"


class Contract(ScopedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("In force")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    scope_module = "contracts"

    number = models.CharField(_("contract number"), max_length=20, unique=True)
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="contracts",
    )
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
        related_name="contracts",
    )
    title = models.CharField(_("title"), max_length=120)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=16, decimal_places=2)
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    start_on = models.DateField(_("starts on"), null=True, blank=True)
    end_on = models.DateField(_("ends on"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    audit_fields: ClassVar[tuple[str, ...]] = (
        "number",
        "opportunity",
        "customer",
        "bu",
        "owner",
        "title",
        "amount",
        "signed_on",
        "start_on",
        "end_on",
        "status",
        "notes",
    )

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="contracts_amount_positive"),
            # One contract per opportunity unless the earlier one was cancelled: the index,
            # not a read before the write, stops two concurrent creations.
            models.UniqueConstraint(
                fields=["opportunity"],
                condition=~Q(status="cancelled"),
                name="contracts_one_per_opportunity",
            ),
            models.CheckConstraint(
                condition=Q(end_on__isnull=True)
                | Q(start_on__isnull=True)
                | Q(end_on__gte=F("start_on")),
                name="contracts_period",
            ),
        ]
        indexes = [
            models.Index(fields=["bu", "owner", "status"], name="contracts_bu_owner"),
            models.Index(fields=["customer", "status"], name="contracts_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def audit_subject(self) -> models.Model:
        return self.customer


class Instalment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Not yet paid")
        PARTIAL = "partial", _("Partly paid")
        PAID = "paid", _("Paid")
        OVERDUE = "overdue", _("Overdue")

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.CASCADE, related_name="instalments"
    )
    sequence = models.PositiveSmallIntegerField(_("instalment"))
    due_on = models.DateField(_("due on"))
    amount = models.DecimalField(_("amount (CNY)"), max_digits=16, decimal_places=2)
    paid_amount = models.DecimalField(
        _("received (CNY)"), max_digits=16, decimal_places=2, default=Decimal(0)
    )
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.PENDING
    )
    overdue_since = models.DateField(_("overdue since"), null=True, blank=True)
    # When the owner was last reminded: reminders repeat only every REMIND_AFTER_DAYS.
    reminded_on = models.DateField(_("last reminded on"), null=True, blank=True)

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["contract_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "sequence"], name="contracts_inst_seq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="contracts_inst_amount"),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=F("amount")),
                name="contracts_inst_not_overpaid",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="contracts_inst_due")]

    def __str__(self) -> str:
        return f"{self.contract.number} #{self.sequence}"

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid_amount


class Payment(models.Model):
    class Method(models.TextChoices):
        TRANSFER = "transfer", _("Bank transfer")
        ACCEPTANCE = "acceptance", _("Bank acceptance bill")
        CHEQUE = "cheque", _("Cheque")
        CASH = "cash", _("Cash")
        OTHER = "other", _("Other")

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.CASCADE, related_name="payments"
    )
    instalment = models.ForeignKey(
        Instalment,
        verbose_name=_("instalment"),
        on_delete=models.PROTECT,
        related_name="payments",
    )
    amount = models.DecimalField(_("amount (CNY)"), max_digits=16, decimal_places=2)
    received_on = models.DateField(_("received on"))
    method = models.CharField(
        _("method"), max_length=10, choices=Method.choices, default=Method.TRANSFER
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    audit_fields: ClassVar[tuple[str, ...]] = (
        "contract",
        "instalment",
        "amount",
        "received_on",
        "method",
        "reference",
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="contracts_payment_amount")
        ]

    def __str__(self) -> str:
        return f"{self.contract.number} {self.amount}"

    @property
    def bu_id(self) -> int:
        return self.contract.bu_id

    def audit_subject(self) -> models.Model:
        return self.contract.customer


class Expense(ScopedModel):
    class Kind(models.TextChoices):
        VISIT = "visit", _("Visit")
        ENTERTAINMENT = "entertainment", _("Entertainment")
        TRAVEL = "travel", _("Travel")
        GIFT = "gift", _("Gift")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    scope_module = "expenses"

    opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.PROTECT,
        related_name="expenses",
    )
    bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("claimant"),
        on_delete=models.PROTECT,
        related_name="expenses",
    )
    kind = models.CharField(_("kind"), max_length=13, choices=Kind.choices)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=12, decimal_places=2)
    spent_on = models.DateField(_("spent on"))
    description = models.CharField(_("description"), max_length=300)
    receipt_ref = models.CharField(_("receipt reference"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=9, choices=Status.choices, default=Status.DRAFT
    )
    approval_id = models.PositiveBigIntegerField(_("approval request"), null=True, blank=True)
    decision_comment = models.CharField(_("decision comment"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    audit_fields: ClassVar[tuple[str, ...]] = (
        "opportunity",
        "bu",
        "owner",
        "kind",
        "amount",
        "spent_on",
        "description",
        "receipt_ref",
        "status",
        "approval_id",
        "decision_comment",
    )

    class Meta:
        verbose_name = _("expense")
        verbose_name_plural = _("expenses")
        ordering = ["-spent_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="contracts_expense_amount")
        ]
        indexes = [
            models.Index(fields=["bu", "owner", "status"], name="contracts_exp_bu_owner"),
            models.Index(fields=["opportunity", "status"], name="contracts_exp_opp"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"

    def audit_subject(self) -> models.Model:
        return self.opportunity.customer
