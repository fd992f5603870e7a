"""The group customer master (design.md §6).

``Customer`` is the golden record, one per legal entity, shared group-wide. What a BU
does with a customer lives in ``CustomerRelationship`` (owner, stage, BU grade, private
notes) and ``FollowUp``; both follow the BU's data scope. ``Contact`` holds the people of
a customer, with their personal data encrypted at rest (core.pii).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from groupcrm.core.pii import EncryptedTextField
from groupcrm.core.scoping import NOTHING, ScopedModel

if TYPE_CHECKING:
    from groupcrm.core.actor import Actor

PATH_STEP = 8  # digits per level of Customer.path, as for business units


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=30, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """The golden record of one legal entity. Readable by everyone with customers.view."""

    class LegalForm(models.TextChoices):
        LLC = "llc", _("Limited liability company")
        JOINT_STOCK = "joint_stock", _("Joint-stock company")
        STATE_OWNED = "state_owned", _("State-owned enterprise")
        FOREIGN = "foreign", _("Foreign-invested enterprise")
        PARTNERSHIP = "partnership", _("Partnership")
        SOLE = "sole", _("Sole proprietorship")
        BRANCH = "branch", _("Branch")
        PUBLIC = "public", _("Public institution")
        GOVERNMENT = "government", _("Government agency")
        OTHER = "other", _("Other")

    class Size(models.TextChoices):
        LARGE = "large", _("Large")
        MEDIUM = "medium", _("Medium")
        SMALL = "small", _("Small")
        MICRO = "micro", _("Micro")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered by hand")
        IMPORT = "import", _("Import")
        WEBSITE = "website", _("Website")
        EXHIBITION = "exhibition", _("Trade fair")
        REFERRAL = "referral", _("Referral")
        INTEGRATION = "integration", _("Other system")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ARCHIVED = "archived", _("Archived")
        MERGED = "merged", _("Merged")

    class Grade(models.TextChoices):
        STRATEGIC = "strategic", _("Strategic")
        KEY = "key", _("Key")
        GROWTH = "growth", _("Growth")
        BASIC = "basic", _("Basic")

    legal_name = models.CharField(_("legal name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)
    uscc = models.CharField(_("unified social credit code"), max_length=18, null=True, blank=True)
    legal_form = models.CharField(
        _("legal form"), max_length=20, choices=LegalForm.choices, blank=True
    )
    industry = models.CharField(_("industry"), max_length=2, blank=True)
    size = models.CharField(_("company size"), max_length=10, choices=Size.choices, blank=True)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    annual_revenue = models.DecimalField(
        _("annual revenue (10k CNY)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=30, blank=True)
    district = models.CharField(_("district"), max_length=30, blank=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="+")
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.MANUAL
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    group_grade = models.CharField(
        _("group grade"), max_length=10, choices=Grade.choices, blank=True
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent company"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # Materialised path of zero-padded ids: a subtree is one indexed prefix query.
    path = models.CharField(max_length=255, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    # Matching and search keys, kept by the services (customers.normalize).
    name_key = models.CharField(max_length=200, editable=False, default="")
    base_key = models.CharField(max_length=200, editable=False, default="")
    pinyin = models.CharField(max_length=400, editable=False, default="")
    initials = models.CharField(max_length=100, editable=False, default="")
    search_text = models.TextField(editable=False, default="")
    quality_score = models.PositiveSmallIntegerField(_("data quality"), default=0)
    quality_issues = models.JSONField(_("data quality issues"), default=list, blank=True)
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
        "legal_name",
        "short_name",
        "uscc",
        "legal_form",
        "industry",
        "size",
        "employees",
        "annual_revenue",
        "address",
        "province",
        "city",
        "district",
        "website",
        "source",
        "status",
        "group_grade",
        "parent",
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["legal_name", "pk"]
        constraints = [
            # A constraint, not unique=True: on PostgreSQL that would add a second,
            # pattern-ops index nobody uses. Exact lookups and the duplicate check use this.
            models.UniqueConstraint(fields=["uscc"], name="cust_uscc_unique")
        ]
        indexes = [
            models.Index(fields=["path"], name="cust_path", opclasses=["varchar_pattern_ops"]),
            models.Index(
                fields=["name_key"], name="cust_name_key", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["base_key"], name="cust_base_key"),
            models.Index(
                fields=["initials"], name="cust_initials", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["pinyin"], name="cust_pinyin", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["group_grade", "status"], name="cust_grade_status"),
            models.Index(fields=["industry"], name="cust_industry"),
            models.Index(fields=["province", "city"], name="cust_region"),
        ]

    def __str__(self) -> str:
        return self.legal_name

    @property
    def display_name(self) -> str:
        return self.short_name or self.legal_name

    def own_segment(self) -> str:
        return f"{self.pk:0{PATH_STEP}d}/"

    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.split("/") if part][:-1]

    def audit_subject(self) -> models.Model:
        return self


class CustomerRelationship(ScopedModel):
    """What one BU does with one customer. No owner: the customer is in the BU's pool."""

    class Stage(models.TextChoices):
        PROSPECT = "prospect", _("Prospect")
        INTENT = "intent", _("Interested")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    scope_module = "customers"

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="relationships",
    )
    bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        on_delete=models.PROTECT,
        related_name="customer_relationships",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customer_relationships",
    )
    stage = models.CharField(
        _("stage"), max_length=10, choices=Stage.choices, default=Stage.PROSPECT
    )
    grade = models.CharField(_("unit grade"), max_length=10, blank=True)
    notes = models.TextField(_("internal notes"), blank=True)
    protected_until = models.DateField(_("protected until"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("owned since"), null=True, blank=True)
    last_followup_at = models.DateTimeField(_("last follow-up"), null=True, blank=True)
    released_at = models.DateTimeField(_("returned to pool at"), null=True, blank=True)
    release_reason = models.CharField(_("reason for return"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    audit_fields: ClassVar[tuple[str, ...]] = (
        "customer",
        "bu",
        "owner",
        "stage",
        "grade",
        "notes",
        "protected_until",
    )

    class Meta:
        verbose_name = _("customer relationship")
        verbose_name_plural = _("customer relationships")
        ordering = ["customer__legal_name", "bu__path"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "bu"], name="cust_rel_one_per_unit")
        ]
        indexes = [
            models.Index(fields=["bu", "owner"], name="cust_rel_bu_owner"),
            models.Index(fields=["owner", "stage"], name="cust_rel_owner_stage"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} · {self.bu}"

    @property
    def in_pool(self) -> bool:
        return self.owner_id is None

    def audit_subject(self) -> models.Model:
        return self.customer

    @classmethod
    def shared_q(cls, actor: Actor, action: str) -> Q:
        """Collaborators reach a relationship whatever their own unit: read, or write."""
        if actor.user is None:
            return NOTHING
        access = [Collaborator.Access.READ, Collaborator.Access.WRITE]
        if action != "view":
            access = [Collaborator.Access.WRITE]
        return Q(
            pk__in=Collaborator.objects.filter(user_id=actor.user_id, access__in=access).values(
                "relationship_id"
            )
        )


class Collaborator(models.Model):
    """Another user working on a relationship beside its owner."""

    class Access(models.TextChoices):
        READ = "read", _("Read")
        WRITE = "write", _("Read and write")

    relationship = models.ForeignKey(
        CustomerRelationship, on_delete=models.CASCADE, related_name="collaborators"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    access = models.CharField(
        _("access"), max_length=10, choices=Access.choices, default=Access.READ
    )

    class Meta:
        verbose_name = _("collaborator")
        verbose_name_plural = _("collaborators")
        constraints = [
            models.UniqueConstraint(fields=["relationship", "user"], name="cust_collab_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_access_display()})"


class PoolRule(models.Model):
    """A unit's public-pool rules (公海规则); units without one use the defaults."""

    bu = models.OneToOneField(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        on_delete=models.CASCADE,
        related_name="pool_rule",
    )
    max_owned = models.PositiveIntegerField(_("maximum customers per person"), default=200)
    daily_claim_limit = models.PositiveIntegerField(_("claims per person per day"), default=20)
    reclaim_after_days = models.PositiveIntegerField(
        _("return to pool after days without follow-up"),
        default=30,
        help_text=_("0 turns automatic return off."),
    )
    exempt_won = models.BooleanField(_("customers with a deal stay with their owner"), default=True)
    exempt_open_opportunity = models.BooleanField(
        _("customers with an open opportunity stay with their owner"),
        default=False,
        help_text=_("No return for lack of follow-up while the unit has an open opportunity."),
    )
    reclaim_without_opportunity_days = models.PositiveIntegerField(
        _("return to pool after days without an open opportunity"),
        default=0,
        help_text=_("0 turns this rule off."),
    )
    # How long an owner counts as protected against other units (撞单 detection) after
    # claiming or following up, besides an explicit "protected until" date.
    protection_days = models.PositiveIntegerField(
        _("protection after claim or follow-up (days)"),
        default=90,
        help_text=_("0: only an explicit protection date protects a customer."),
    )
    grades = models.JSONField(_("unit grades"), default=list, blank=True)

    audit_fields: ClassVar[tuple[str, ...]] = (
        "max_owned",
        "daily_claim_limit",
        "reclaim_after_days",
        "exempt_won",
        "exempt_open_opportunity",
        "reclaim_without_opportunity_days",
        "protection_days",
        "grades",
    )

    DEFAULT_GRADES: ClassVar[list[str]] = ["A", "B", "C"]

    class Meta:
        verbose_name = _("pool rule")
        verbose_name_plural = _("pool rules")

    def __str__(self) -> str:
        return f"{self.bu}"

    @property
    def grade_choices(self) -> list[str]:
        return self.grades or self.DEFAULT_GRADES


class Contact(models.Model):
    """A person at a customer. Shared group-wide like the golden record; personal fields
    are encrypted, looked up by blind index and shown masked (core.pii)."""

    class Role(models.TextChoices):
        DECISION_MAKER = "decision", _("Decision maker")
        PURCHASING = "purchasing", _("Purchasing")
        TECHNICAL = "technical", _("Technical")
        USER = "user", _("User department")
        INFLUENCER = "influencer", _("Influencer")
        OTHER = "other", _("Other")

    class Channel(models.TextChoices):
        MOBILE = "mobile", _("Mobile phone")
        PHONE = "phone", _("Office phone")
        EMAIL = "email", _("Email")
        WECHAT = "wechat", _("WeChat")
        VISIT = "visit", _("Visit")

    class Status(models.TextChoices):
        ACTIVE = "active", _("In post")
        LEFT = "left", _("Left the company")

    PII_FIELDS: ClassVar[tuple[str, ...]] = ("mobile", "phone", "email", "wechat_id", "id_number")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=60)
    title = models.CharField(_("job title"), max_length=60, blank=True)
    department = models.CharField(_("department"), max_length=60, blank=True)
    role = models.CharField(
        _("decision-chain role"), max_length=12, choices=Role.choices, default=Role.OTHER
    )
    mobile = EncryptedTextField(_("mobile phone"), blank=True, default="")
    phone = EncryptedTextField(_("office phone"), blank=True, default="")
    email = EncryptedTextField(_("email"), blank=True, default="")
    wechat_id = EncryptedTextField(_("WeChat ID"), blank=True, default="")
    id_number = EncryptedTextField(_("ID number"), blank=True, default="")
    # Blind indexes (core.pii): exact lookups only, so plain B-tree indexes in Meta (a
    # db_index would add an unused pattern-ops index on PostgreSQL).
    mobile_index = models.CharField(max_length=32, blank=True, editable=False)
    phone_index = models.CharField(max_length=32, blank=True, editable=False)
    email_index = models.CharField(max_length=32, blank=True, editable=False)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    birthday_lunar = models.BooleanField(_("birthday is a lunar date"), default=False)
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=10, choices=Channel.choices, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # Personal fields are audited by name only ("changed"), never by value.
    audit_fields: ClassVar[tuple[str, ...]] = (
        "customer",
        "name",
        "title",
        "department",
        "role",
        "birthday",
        "birthday_lunar",
        "preferred_channel",
        "notes",
        "status",
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["customer_id", "name", "pk"]
        indexes = [
            models.Index(fields=["mobile_index"], name="contact_mobile_index"),
            models.Index(fields=["phone_index"], name="contact_phone_index"),
            models.Index(fields=["email_index"], name="contact_email_index"),
        ]

    def __str__(self) -> str:
        return self.name

    def audit_subject(self) -> models.Model:
        return self.customer


class FollowUp(ScopedModel):
    """One contact with a customer (跟进记录), written by a unit; follows its scope."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        VISIT = "visit", _("Visit")
        MEETING = "meeting", _("Meeting")
        EMAIL = "email", _("Email")
        WECHAT = "wechat", _("WeChat")
        NOTE = "note", _("Note")

    scope_module = "followups"

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="followups"
    )
    bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="followups",
    )
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("time"))
    content = models.TextField(_("content"))
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    next_due = models.DateField(_("next step due"), null=True, blank=True)
    location = models.CharField(_("check-in location"), max_length=200, blank=True)
    contacts = models.ManyToManyField(
        Contact, verbose_name=_("contacts"), blank=True, related_name="followups"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    audit_fields: ClassVar[tuple[str, ...]] = (
        "customer",
        "bu",
        "kind",
        "occurred_at",
        "content",
        "outcome",
        "next_step",
        "next_due",
        "location",
    )

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="fu_customer_time"),
            models.Index(fields=["bu", "owner", "occurred_at"], name="fu_bu_owner_time"),
            models.Index(fields=["owner", "next_due"], name="fu_owner_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.customer}"

    def audit_subject(self) -> models.Model:
        return self.customer


class Follow(models.Model):
    """A user, or a whole unit, following a customer: its changes become notifications
    (and, for a user who asks, a daily email digest)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="customer_follows",
    )
    bu = models.ForeignKey(
        "org.BusinessUnit",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="customer_follows",
    )
    digest = models.BooleanField(_("daily email digest"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("followed customer")
        verbose_name_plural = _("followed customers")
        constraints = [
            models.UniqueConstraint(fields=["customer", "user"], name="cust_follow"),
            models.UniqueConstraint(fields=["customer", "bu"], name="cust_follow_unit"),
            models.CheckConstraint(
                condition=Q(user__isnull=False, bu__isnull=True)
                | Q(user__isnull=True, bu__isnull=False),
                name="cust_follow_user_or_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.bu} → {self.customer}"


class ChangeRequest(models.Model):
    """A change to a customer's legal name, USCC or group grade awaiting a second person
    (双人核对). Applied only when someone else with customers.approve approves it."""

    APPROVAL_FIELDS: ClassVar[tuple[str, ...]] = ("legal_name", "uscc", "group_grade")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="change_requests",
    )
    changes = models.JSONField(_("changes"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
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
    decision_note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)

    audit_fields: ClassVar[tuple[str, ...]] = ("customer", "changes", "reason", "status")

    class Meta:
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One open request per customer: a second one would race the first.
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status="pending"),
                name="cust_one_pending_change",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer} ({self.get_status_display()})"

    def audit_subject(self) -> models.Model:
        return self.customer


class MergeRecord(models.Model):
    """One merge of duplicate customers into a survivor, with everything needed to undo
    it exactly (unmerge) within the retention period."""

    survivor = models.ForeignKey(
        Customer, verbose_name=_("surviving record"), on_delete=models.PROTECT, related_name="+"
    )
    losers = models.JSONField(_("merged records"))
    # Field values before, ids of every re-pointed row per link, deleted duplicates.
    snapshot = models.JSONField(default=dict)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    merged_at = models.DateTimeField(_("merged at"), auto_now_add=True)
    unmerged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("unmerged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    unmerged_at = models.DateTimeField(_("unmerged at"), null=True, blank=True)

    audit_fields: ClassVar[tuple[str, ...]] = ("survivor", "losers", "reason")

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-merged_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.losers} → {self.survivor_id}"

    def audit_subject(self) -> models.Model:
        return self.survivor
