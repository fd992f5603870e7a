"""Leads (线索) and referrals (商机转介) between units (design.md §3 sales/).

A ``Lead`` is a company someone may sell to, not yet a customer: it belongs to a unit
and, once assigned, to an owner; its contact's phone and email are personal data,
encrypted and shown masked like a customer contact's (core.pii). ``Territory`` and
``AssignmentRule`` decide who gets a new lead of a unit. A ``Referral`` hands a lead or an
opportunity from one unit to another: both sides see it, and on acceptance the referring
side keeps a share of the revenue (sales.RevenueSplit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from groupcrm.core.permissions import DataScope
from groupcrm.core.pii import EncryptedTextField
from groupcrm.core.scoping import NOTHING, ScopedModel

if TYPE_CHECKING:
    from groupcrm.core.actor import Actor


class Territory(models.Model):
    """Where and in which industries a unit's rule looks for leads. An empty list of
    provinces (or industries) matches any."""

    bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    name = models.CharField(_("name"), max_length=60)
    provinces = models.JSONField(_("provinces"), default=list, blank=True)
    industries = models.JSONField(_("industries"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    audit_fields: ClassVar[tuple[str, ...]] = ("bu", "name", "provinces", "industries")

    class Meta:
        verbose_name = _("territory")
        verbose_name_plural = _("territories")
        ordering = ["bu_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["bu", "name"], name="leads_territory_name"),
        ]

    def __str__(self) -> str:
        return self.name


class AssignmentRule(models.Model):
    """One of a unit's ordered rules: the first that matches a new lead gives it to the
    next of its members in turn (``cursor`` counts the assignments made)."""

    class Kind(models.TextChoices):
        TERRITORY = "territory", _("By territory")
        ROUND_ROBIN = "round_robin", _("Round robin")

    bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    order = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    territory = models.ForeignKey(
        Territory,
        verbose_name=_("territory"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rules",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), related_name="+"
    )
    is_active = models.BooleanField(_("active"), default=True)
    cursor = models.PositiveIntegerField(_("assignments made"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    audit_fields: ClassVar[tuple[str, ...]] = ("bu", "order", "name", "kind", "territory")

    class Meta:
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        ordering = ["bu_id", "order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="round_robin") | Q(territory__isnull=False),
                name="leads_rule_territory",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Lead(ScopedModel):
    class Source(models.TextChoices):
        FORM = "form", _("Entered by hand")
        IMPORT = "import", _("Import")
        API = "api", _("API")
        REFERRAL = "referral", _("Referral")
        WEB = "web", _("Website")

    class Status(models.TextChoices):
        NEW = "new", _("New")
        WORKING = "working", _("Working")
        QUALIFIED = "qualified", _("Qualified")
        DISQUALIFIED = "disqualified", _("Disqualified")
        CONVERTED = "converted", _("Converted")

    OPEN_STATUSES: ClassVar[tuple[str, ...]] = ("new", "working", "qualified")
    PII_FIELDS: ClassVar[tuple[str, ...]] = ("phone", "email")

    scope_module = "leads"

    bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
    )
    company_name = models.CharField(_("company name"), max_length=200)
    uscc = models.CharField(_("USCC"), max_length=18, blank=True, db_index=True)
    contact_name = models.CharField(_("contact name"), max_length=60, blank=True)
    phone = EncryptedTextField(_("phone"), blank=True, default="")
    email = EncryptedTextField(_("email"), blank=True, default="")
    phone_index = models.CharField(max_length=32, blank=True, editable=False)
    email_index = models.CharField(max_length=32, blank=True, editable=False)
    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=30, blank=True)
    industry = models.CharField(_("industry"), max_length=2, blank=True)
    source = models.CharField(
        _("source"), max_length=8, choices=Source.choices, default=Source.FORM
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.NEW
    )
    disqualify_reason = models.CharField(_("reason for disqualifying"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    converted_customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("converted to customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    converted_contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("converted to contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    converted_opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("converted to opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # Personal fields are audited by name only, never by value.
    audit_fields: ClassVar[tuple[str, ...]] = (
        "bu",
        "owner",
        "company_name",
        "uscc",
        "contact_name",
        "province",
        "city",
        "industry",
        "source",
        "status",
        "disqualify_reason",
        "notes",
        "converted_customer",
        "converted_contact",
        "converted_opportunity",
    )

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["bu", "owner", "status"], name="leads_bu_owner_status"),
            models.Index(fields=["phone_index"], name="leads_phone_index"),
            models.Index(fields=["email_index"], name="leads_email_index"),
        ]

    def __str__(self) -> str:
        return self.company_name

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Referral(ScopedModel):
    """A lead or an opportunity handed from one unit (``from_bu``) to another
    (``to_bu``). The referring side sees it by its grants on ``from_bu`` and
    ``from_user``; the receiving side by the same grants on ``to_bu`` and ``to_user``
    (``shared_q``): an own-records receiver sees what is addressed to them or to nobody
    in particular yet."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    scope_module = "referrals"
    scope_bu_field = "from_bu"
    scope_owner_field = "from_user"

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals",
        help_text=_("Empty for a lead not yet converted."),
    )
    lead = models.ForeignKey(
        Lead,
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="referrals",
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="referrals",
    )
    from_bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("from unit"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("referred by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    to_bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("to unit"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("receiving owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    referrer_percent = models.DecimalField(
        _("referrer's share (%)"), max_digits=5, decimal_places=2
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    decline_reason = models.CharField(_("reason for declining"), max_length=200, blank=True)
    note = models.TextField(_("note for the receiving unit"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    audit_fields: ClassVar[tuple[str, ...]] = (
        "customer",
        "lead",
        "opportunity",
        "from_bu",
        "from_user",
        "to_bu",
        "to_user",
        "referrer_percent",
        "status",
        "decline_reason",
        "note",
    )

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(lead__isnull=True) & Q(opportunity__isnull=False))
                | (Q(lead__isnull=False) & Q(opportunity__isnull=True)),
                name="leads_referral_one_item",
            ),
            models.CheckConstraint(
                condition=Q(referrer_percent__gt=0) & Q(referrer_percent__lt=100),
                name="leads_referral_percent",
            ),
            models.UniqueConstraint(
                fields=["lead"],
                condition=Q(status="pending", lead__isnull=False),
                name="leads_referral_one_pending_lead",
            ),
            models.UniqueConstraint(
                fields=["opportunity"],
                condition=Q(status="pending", opportunity__isnull=False),
                name="leads_referral_one_pending_opp",
            ),
        ]
        indexes = [
            models.Index(fields=["from_bu", "status"], name="leads_referral_from"),
            models.Index(fields=["to_bu", "status"], name="leads_referral_to"),
        ]

    def __str__(self) -> str:
        return str(self.opportunity or self.lead)

    @property
    def item(self) -> models.Model:
        return self.opportunity or self.lead  # type: ignore[return-value]

    def audit_subject(self) -> models.Model:
        return self.customer or self

    @classmethod
    def receiving_q(cls, actor: Actor, action: str) -> Q:
        """The rows the actor reaches as the receiving side (by ``to_bu``/``to_user``)."""
        condition = NOTHING
        for grant in actor.grants(cls.scope_module, action):
            if grant.scope in (DataScope.SUBTREE, DataScope.GROUP):
                condition |= Q(to_bu__path__startswith=grant.bu_path)
            elif grant.scope == DataScope.TEAM:
                condition |= Q(to_bu_id=grant.bu_id)
            else:
                condition |= Q(to_bu_id=grant.bu_id) & (
                    Q(to_user_id=actor.user_id) | Q(to_user__isnull=True)
                )
        return condition

    @classmethod
    def sending_q(cls, actor: Actor, action: str) -> Q:
        """The rows the actor reaches as the referring side (``from_bu``/``from_user``);
        a group-wide grant counts its own unit's subtree here."""
        condition = NOTHING
        for grant in actor.grants(cls.scope_module, action):
            if grant.scope == DataScope.GROUP:
                condition |= Q(from_bu__path__startswith=grant.bu_path)
            else:
                condition |= cls.scope_q(grant, actor)
        return condition

    @classmethod
    def shared_q(cls, actor: Actor, action: str) -> Q:
        return cls.receiving_q(actor, action)
