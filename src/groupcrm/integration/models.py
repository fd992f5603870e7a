"""Imports from BU spreadsheets and other CRMs, and the lineage they leave (design.md §6:
``SourceRecord``): every imported row is kept, linked to the golden record it fed."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from groupcrm.core.scoping import ScopedModel


class ImportSource(models.Model):
    """A system data comes from (a BU's ERP, Zoho CRM, 纷享销客…) and its column mapping."""

    class Kind(models.TextChoices):
        GENERIC = "generic", _("Spreadsheet")
        ZOHO = "zoho", _("Zoho CRM export")
        SALESFORCE = "salesforce", _("Salesforce data export")
        FXIAOKE = "fxiaoke", _("Fxiaoke (纷享销客) Excel export")

    name = models.CharField(_("name"), max_length=60, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.GENERIC)
    # {"customers": {"legal_name": "Account Name", …}, "contacts": {…}}: target → column.
    mappings = models.JSONField(_("column mappings"), default=dict, blank=True)
    trust = models.PositiveSmallIntegerField(
        _("trust"), default=50, help_text=_("Higher wins when sources disagree on a value.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    audit_fields: ClassVar[tuple[str, ...]] = ("name", "kind", "mappings", "trust")

    class Meta:
        verbose_name = _("import source")
        verbose_name_plural = _("import sources")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BackgroundJob(ScopedModel):
    """What an import and an export share: the unit and the list they concern, and a
    status and progress that the worker updates and the pages poll."""

    class Entity(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        CONTACTS = "contacts", _("Contacts")
        FOLLOWUPS = "followups", _("Follow-ups")
        RELATIONSHIPS = "relationships", _("Customer relationships")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    bu = models.ForeignKey(
        "org.BusinessUnit",
        verbose_name=_("business unit"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    entity = models.CharField(_("what"), max_length=20, choices=Entity.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    done_rows = models.PositiveIntegerField(_("rows done"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-pk"]

    @property
    def percent(self) -> int:
        """How far the job is, 0–100 (a finished job is done whatever it counted)."""
        if self.status == self.Status.DONE:
            return 100
        return min(100, 100 * self.done_rows // self.total_rows) if self.total_rows else 0


class ImportJob(BackgroundJob):
    """One file imported (or tried in a dry run) into a unit, in committed batches."""

    scope_module = "integration"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    source = models.ForeignKey(
        ImportSource, verbose_name=_("source"), on_delete=models.PROTECT, related_name="jobs"
    )
    filename = models.CharField(_("file"), max_length=200)
    stored_as = models.CharField(max_length=300, editable=False)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict)
    # The file's column names in its order (the report lists the rows' values so).
    headers = models.JSONField(_("columns"), default=list, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    matched = models.PositiveIntegerField(_("matched existing"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    # The file row up to which everything is committed: a restarted job goes on after it.
    last_row = models.PositiveIntegerField(default=0, editable=False)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)

    audit_fields: ClassVar[tuple[str, ...]] = ("source", "entity", "filename", "dry_run", "bu")

    class Meta(BackgroundJob.Meta):
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"


class RowIssue(models.Model):
    """A rejected row of an import, with the reason, for the downloadable report."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    row = models.PositiveIntegerField(_("row"))
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    reason = models.TextField(_("reason"))
    values = models.JSONField(_("values"), default=dict)
    # A warning: the row was imported, but something in it could not be used.
    imported = models.BooleanField(_("imported anyway"), default=False)

    class Meta:
        verbose_name = _("rejected row")
        verbose_name_plural = _("rejected rows")
        ordering = ["job", "row"]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row}"


class SourceRecord(models.Model):
    """One row as another system sent it, linked to the golden record it fed. A row with
    an id in its system is kept once per id: the latest arrival here, the ones before it
    in ``earlier`` (newest first), so no imported row is ever lost; a row without one is
    kept as the row of its import job."""

    source = models.ForeignKey(ImportSource, on_delete=models.PROTECT, related_name="records")
    entity = models.CharField(max_length=20, choices=ImportJob.Entity.choices)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    row = models.PositiveIntegerField(_("row"), null=True, blank=True)
    payload = models.JSONField(_("values received"))
    received_at = models.DateTimeField(_("received at"), auto_now=True)
    job = models.ForeignKey(
        ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="records"
    )
    # Earlier arrivals of the same id: {"received_at", "job_id", "row", "payload"}.
    earlier = models.JSONField(_("earlier arrivals"), default=list, blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="source_records",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="source_records",
    )
    followup = models.ForeignKey(
        "customers.FollowUp",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="source_records",
    )

    class Meta:
        verbose_name = _("source record")
        verbose_name_plural = _("source records")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "entity", "external_id"],
                condition=~models.Q(external_id=""),
                name="integration_one_per_source_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id or f'{self.job_id}#{self.row}'}"


class PairDecision(models.Model):
    """What the batch dedup found about two records (score, reasons, cluster) and the
    reviewer's decision; a "not a duplicate" is remembered by later runs, and decided
    pairs are the labels that improve the model."""

    class Status(models.TextChoices):
        PENDING = "pending", _("To review")
        MERGED = "merged", _("Merged")
        DISTINCT = "distinct", _("Not a duplicate")
        DEFERRED = "deferred", _("Later")

    probability = models.FloatField(_("match probability"))
    reasons = models.JSONField(_("reasons"), default=list)
    cluster = models.CharField(_("cluster"), max_length=40, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    found_at = models.DateTimeField(_("found at"), auto_now=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    audit_fields: ClassVar[tuple[str, ...]] = ("left", "right", "probability", "status")

    class Meta:
        abstract = True
        ordering = ["-probability", "pk"]

    def __str__(self) -> str:
        return f"{self.left_id} ~ {self.right_id} ({self.probability:.2f})"  # type: ignore[attr-defined]


class DuplicatePair(PairDecision):
    """Two customers the batch dedup thinks are one."""

    left = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", verbose_name=_("record")
    )
    right = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", verbose_name=_("record")
    )

    class Meta(PairDecision.Meta):
        verbose_name = _("duplicate pair")
        verbose_name_plural = _("duplicate pairs")
        constraints = [
            models.UniqueConstraint(fields=["left", "right"], name="integration_pair_once"),
            models.CheckConstraint(
                condition=models.Q(left__lt=models.F("right")), name="integration_pair_ordered"
            ),
        ]
        indexes = [models.Index(fields=["status", "probability"], name="integration_pair_queue")]

    def audit_subject(self) -> models.Model:
        return self.left


class ContactPair(PairDecision):
    """Two contacts (people) the batch dedup thinks are one person."""

    left = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="+", verbose_name=_("contact")
    )
    right = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="+", verbose_name=_("contact")
    )

    class Meta(PairDecision.Meta):
        verbose_name = _("duplicate contact pair")
        verbose_name_plural = _("duplicate contact pairs")
        constraints = [
            models.UniqueConstraint(fields=["left", "right"], name="integration_contact_pair_once"),
            models.CheckConstraint(
                condition=models.Q(left__lt=models.F("right")),
                name="integration_contact_pair_ordered",
            ),
        ]
        indexes = [models.Index(fields=["status", "probability"], name="integration_contact_queue")]

    def audit_subject(self) -> models.Model:
        return self.left.customer


class SurvivorshipRule(models.Model):
    """Which value a golden-record field keeps when sources disagree (design.md §6).
    A field without a rule follows ``Strategy.RECENT``."""

    class Strategy(models.TextChoices):
        TRUSTED = "trusted", _("Most trusted source")
        RECENT = "recent", _("Most recent value")
        FILL = "fill", _("Keep the value; only fill it when empty")

    field = models.CharField(_("field"), max_length=40, unique=True)
    strategy = models.CharField(
        _("rule"), max_length=10, choices=Strategy.choices, default=Strategy.RECENT
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    audit_fields: ClassVar[tuple[str, ...]] = ("field", "strategy")

    class Meta:
        verbose_name = _("survivorship rule")
        verbose_name_plural = _("survivorship rules")
        ordering = ["field"]

    def __str__(self) -> str:
        return f"{self.field}: {self.strategy}"


class FieldSource(models.Model):
    """Where the value a golden-record field holds now came from: an import source's
    record, or (``source`` empty) a person in groupcrm."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="field_sources"
    )
    field = models.CharField(_("field"), max_length=40)
    source = models.ForeignKey(
        ImportSource,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("source"),
    )
    record = models.ForeignKey(
        SourceRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trust = models.PositiveSmallIntegerField(_("trust"))
    at = models.DateTimeField(_("since"))

    class Meta:
        verbose_name = _("field source")
        verbose_name_plural = _("field sources")
        constraints = [
            models.UniqueConstraint(fields=["customer", "field"], name="integration_field_once")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}.{self.field}"


class ExportJob(BackgroundJob):
    """A customer or contact list written to CSV/XLSX in the background, with the
    viewer's scope and masking as they were when it was asked for."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    scope_module = "customers"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("asked for by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    format = models.CharField(_("format"), max_length=4, choices=Format.choices)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    stored_as = models.CharField(max_length=300, blank=True, editable=False)

    audit_fields: ClassVar[tuple[str, ...]] = ("entity", "format", "filters", "bu")

    class Meta(BackgroundJob.Meta):
        verbose_name = _("export")
        verbose_name_plural = _("exports")

    def __str__(self) -> str:
        return f"{self.get_entity_display()} {self.format} ({self.get_status_display()})"

    @property
    def expired(self) -> bool:
        """Done, but its file has been removed after the retention period."""
        return self.status == self.Status.DONE and not self.stored_as


class QualitySnapshot(models.Model):
    """Data quality of the customers one unit (or one account manager) works with, taken
    daily: the trend a group manages its people by."""

    day = models.DateField(_("day"))
    bu = models.ForeignKey(
        "org.BusinessUnit", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    records = models.PositiveIntegerField(_("records"))
    score = models.FloatField(_("average score"))
    complete = models.FloatField(_("complete"))
    fresh = models.FloatField(_("fresh"))
    suspected_duplicates = models.PositiveIntegerField(_("suspected duplicates"))

    class Meta:
        verbose_name = _("data quality snapshot")
        verbose_name_plural = _("data quality snapshots")
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["day", "bu", "owner"], name="integration_quality_once")
        ]
        indexes = [models.Index(fields=["bu", "day"], name="integration_quality_bu")]

    def __str__(self) -> str:
        return f"{self.day} {self.bu_id or '-'} {self.owner_id or '-'}: {self.score:.0f}"
