"""Products, price lists and quotes (报价) with versions and discount approval.

A unit's catalogue (``Product``) and price lists are seen by the unit, by the units below
it (they inherit them, as they inherit the sales pipeline) and by whoever reaches the
unit through a subtree or group grant; they are managed with ``quotes.admin``. A
``Quote`` belongs to an opportunity and follows its unit and owner. Each version of a
quote is its own row sharing the ``number``; an older version is read-only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from groupcrm.core.scoping import NOTHING, ScopedModel
from groupcrm.sales.models import CURRENCY

if TYPE_CHECKING:
    from groupcrm.core.actor import Actor, Grant


class CatalogueModel(ScopedModel):
    """Rows of a unit's catalogue: a grant reaches its unit (or subtree) for every action,
    and for ``view`` also the units above it, whose catalogue the unit inherits."""

    scope_module = "quotes"
    scope_owner_field = ""

    class Meta:
        abstract = True

    @classmethod
    def scope_q(cls, grant: Grant, actor: Actor) -> Q:
        # An own-records grant still reaches the unit's catalogue: products have no owner.
        if grant.scope == "subtree":
            return Q(bu__path__startswith=grant.bu_path)
        return Q(bu_id=grant.bu_id)

    @classmethod
    def shared_q(cls, actor: Actor, action: str) -> Q:
        if action != "view":
            return NOTHING
        ancestors = {
            int(part)
            for grant in actor.grants(cls.scope_module, "view")
            for part in grant.bu_path.split("/")
            if part
        }
        return Q(bu_id__in=ancestors) if ancestors else NOTHING


class Product(CatalogueModel):
    bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    unit_of_measure = models.CharField(_("unit of measure"), max_length=10)
    category = models.CharField(_("category"), max_length=60, blank=True)
    description = models.TextField(_("description"), blank=True)
    list_price = models.DecimalField(_("list price (CNY)"), max_digits=14, decimal_places=2)
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    audit_fields: ClassVar[tuple[str, ...]] = (
        "bu",
        "code",
        "name",
        "unit_of_measure",
        "category",
        "description",
        "list_price",
        "tax_rate",
        "is_active",
    )

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["bu__path", "code"]
        constraints = [
            models.UniqueConstraint(fields=["bu", "code"], name="quotes_product_code"),
            models.CheckConstraint(condition=Q(list_price__gte=0), name="quotes_product_price"),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lte=100), name="quotes_product_tax"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PriceList(CatalogueModel):
    """A unit's prices for a period. Two active lists of one unit never overlap."""

    bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    name = models.CharField(_("name"), max_length=120)
    currency = models.CharField(_("currency"), max_length=3, default=CURRENCY, editable=False)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    audit_fields: ClassVar[tuple[str, ...]] = (
        "bu",
        "name",
        "valid_from",
        "valid_to",
        "is_active",
    )

    class Meta:
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        ordering = ["bu__path", "-valid_from", "pk"]
        indexes = [models.Index(fields=["bu", "valid_from"], name="quotes_pricelist_bu")]

    def __str__(self) -> str:
        return self.name


class PriceListItem(models.Model):
    price_list = models.ForeignKey(
        PriceList, verbose_name=_("price list"), on_delete=models.CASCADE, related_name="items"
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    unit_price = models.DecimalField(_("unit price (CNY)"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("price list item")
        verbose_name_plural = _("price list items")
        ordering = ["price_list_id", "product__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "product"], name="quotes_pricelist_product"
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="quotes_item_price"),
        ]

    def __str__(self) -> str:
        return f"{self.product} {self.unit_price}"


class QuoteSettings(models.Model):
    """A unit's quote settings; empty values inherit the nearest ancestor's."""

    bu = models.OneToOneField(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        on_delete=models.CASCADE,
        related_name="quote_settings",
    )
    discount_threshold = models.DecimalField(
        _("discount approval threshold (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("A quote with a higher discount needs approval. Empty: inherited."),
    )
    number_prefix = models.CharField(
        _("quote number prefix"),
        max_length=10,
        blank=True,
        help_text=_("E.g. BJ gives BJ-2026-000123. Empty: inherited, else the unit's code."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    audit_fields: ClassVar[tuple[str, ...]] = ("bu", "discount_threshold", "number_prefix")

    class Meta:
        verbose_name = _("quote settings")
        verbose_name_plural = _("quote settings")

    def __str__(self) -> str:
        return str(self.bu_id)


class QuoteSequence(models.Model):
    """The last number given per prefix and year (a row lock serialises the next one)."""

    prefix = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="quotes_sequence_prefix_year")
        ]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last}"


class Quote(ScopedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PENDING = "pending", _("Pending approval")
        APPROVED = "approved", _("Approved")
        SENT = "sent", _("Sent")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected by the customer")
        EXPIRED = "expired", _("Expired")
        SUPERSEDED = "superseded", _("Superseded by a newer version")

    scope_module = "quotes"

    opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.PROTECT,
        related_name="quotes",
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
        related_name="quotes",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="quotes",
    )
    number = models.CharField(_("number"), max_length=30)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    quote_date = models.DateField(_("quote date"))
    valid_until = models.DateField(_("valid until"))
    currency = models.CharField(_("currency"), max_length=3, default=CURRENCY, editable=False)
    discount_percent = models.DecimalField(
        _("overall discount (%)"), max_digits=5, decimal_places=2, default=Decimal(0)
    )
    terms = models.TextField(_("terms"), blank=True)
    notes = models.TextField(_("internal notes"), blank=True)
    subtotal = models.DecimalField(
        _("subtotal (CNY)"), max_digits=16, decimal_places=2, default=Decimal(0)
    )
    discount_amount = models.DecimalField(
        _("overall discount (CNY)"), max_digits=16, decimal_places=2, default=Decimal(0)
    )
    net_total = models.DecimalField(
        _("net total (CNY)"), max_digits=16, decimal_places=2, default=Decimal(0)
    )
    tax_total = models.DecimalField(
        _("tax (CNY)"), max_digits=16, decimal_places=2, default=Decimal(0)
    )
    gross_total = models.DecimalField(
        _("gross total (CNY)"), max_digits=16, decimal_places=2, default=Decimal(0)
    )
    max_discount = models.DecimalField(
        _("highest discount (%)"), max_digits=5, decimal_places=2, default=Decimal(0)
    )
    approval = models.ForeignKey(
        "approvals.ApprovalRequest",
        verbose_name=_("approval request"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approval_comment = models.CharField(_("approver's comment"), max_length=500, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("customer decided at"), null=True, blank=True)
    customer_reason = models.CharField(_("customer's reason"), max_length=500, blank=True)
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
        "opportunity",
        "bu",
        "owner",
        "number",
        "version",
        "status",
        "quote_date",
        "valid_until",
        "discount_percent",
        "terms",
        "subtotal",
        "net_total",
        "tax_total",
        "gross_total",
        "max_discount",
        "approval",
        "customer_reason",
    )

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["-quote_date", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["number", "version"], name="quotes_number_version"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100),
                name="quotes_quote_discount",
            ),
        ]
        indexes = [
            models.Index(fields=["bu", "owner", "status"], name="quotes_bu_owner_status"),
            models.Index(fields=["opportunity", "version"], name="quotes_opportunity"),
            models.Index(fields=["status", "valid_until"], name="quotes_status_valid"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.number} v{self.version}"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def can_revise(self) -> bool:
        return self.status in REVISABLE

    def audit_subject(self) -> models.Model:
        return self.customer


REVISABLE = (
    Quote.Status.APPROVED,
    Quote.Status.SENT,
    Quote.Status.REJECTED,
    Quote.Status.EXPIRED,
)


class QuoteLine(models.Model):
    quote = models.ForeignKey(
        Quote, verbose_name=_("quote"), on_delete=models.CASCADE, related_name="lines"
    )
    position = models.PositiveSmallIntegerField(_("position"))
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(_("description"), max_length=300)
    unit_of_measure = models.CharField(_("unit of measure"), max_length=10)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2)
    reference_price = models.DecimalField(
        _("reference price (CNY)"),
        max_digits=14,
        decimal_places=2,
        help_text=_("The price list's or the list price on the quote date."),
    )
    unit_price = models.DecimalField(_("unit price (CNY)"), max_digits=14, decimal_places=2)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2)
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2)
    # Before the quote's overall discount; tax is computed per rate on the totals.
    net_amount = models.DecimalField(_("amount excl. tax (CNY)"), max_digits=16, decimal_places=2)
    effective_discount = models.DecimalField(
        _("discount from the reference price (%)"), max_digits=5, decimal_places=2
    )

    class Meta:
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        ordering = ["quote_id", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="quotes_line_quantity"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="quotes_line_price"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100),
                name="quotes_line_discount",
            ),
        ]

    def __str__(self) -> str:
        return self.description
