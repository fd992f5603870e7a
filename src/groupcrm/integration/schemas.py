"""Ninja schemas of the integration API: imports, sources and mappings, data quality,
the duplicate review queues, and background exports."""

from datetime import date, datetime
from typing import Any, Literal

from django.urls import reverse
from ninja import Field, Schema

from groupcrm.core import pii
from groupcrm.integration import selectors
from groupcrm.integration.models import ExportJob
from groupcrm.org.schemas import Strict

SourceKind = Literal["generic", "zoho", "salesforce", "fxiaoke"]
Entity = Literal["customers", "contacts", "relationships", "followups"]
# The master's two kinds of record: what is deduplicated.
MasterEntity = Literal["customers", "contacts"]
JobStatus = Literal["pending", "running", "done", "failed"]
PairStatus = Literal["pending", "merged", "distinct", "deferred"]


class SourceOut(Schema):
    id: int
    name: str
    kind: str
    trust: int
    mappings: dict[str, dict[str, str]]
    created_at: datetime


class SourceIn(Strict):
    name: str = Field(..., max_length=60)
    kind: SourceKind = "generic"
    trust: int = Field(50, ge=0, le=100, description="Higher wins when sources disagree")


class TargetOut(Schema):
    field: str
    label: str
    required: bool


class MappingSuggestionOut(Schema):
    headers: list[str]
    encoding: str
    mapping: dict[str, str] = Field(..., description="Target field → column of the file")
    saved: bool = Field(..., description="The mapping is the one saved on the source")
    problems: list[str]
    targets: list[TargetOut]


class ProgressOut(Schema):
    percent: int
    rate: float | None = Field(None, description="Rows per second, while running")
    eta_seconds: int | None = Field(None, description="Seconds left, while running")


class ImportJobOut(Schema):
    id: int
    filename: str
    source_id: int
    source_name: str = Field(..., alias="source.name")
    entity: str
    bu_id: int
    bu_name: str = Field(..., alias="bu.name")
    owner_id: int
    dry_run: bool
    status: str
    encoding: str
    mapping: dict[str, str]
    total_rows: int
    done_rows: int
    created: int
    updated: int
    matched: int
    rejected: int
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: ProgressOut

    @staticmethod
    def resolve_progress(obj: Any) -> selectors.ImportProgress:
        return selectors.import_progress(obj)


class RowIssueOut(Schema):
    row: int
    external_id: str
    reason: str
    values: dict[str, Any] = Field(..., description="The row as read; personal values masked")
    imported: bool = Field(..., description="A warning: the row was imported anyway")


class QualityFigures(Schema):
    records: int
    score: float
    complete: float
    fresh: float
    suspected_duplicates: int


class UnitQualityOut(QualityFigures):
    unit_id: int
    unit_name: str

    @staticmethod
    def resolve_unit_id(obj: dict[str, Any]) -> int:
        return int(obj["unit"].pk)

    @staticmethod
    def resolve_unit_name(obj: dict[str, Any]) -> str:
        return str(obj["unit"].name)


class OwnerQualityOut(QualityFigures):
    owner_id: int
    owner_name: str

    @staticmethod
    def resolve_owner_id(obj: dict[str, Any]) -> int:
        return int(obj["owner"].pk)

    @staticmethod
    def resolve_owner_name(obj: dict[str, Any]) -> str:
        return str(obj["owner"].display_name or obj["owner"].username)


class TrendPointOut(Schema):
    day: date
    # The overview names the value "count" for the chart script; here it is what it is.
    score: float = Field(..., alias="count")


class WorstRecordOut(Schema):
    id: int
    legal_name: str
    quality_score: int
    quality_issues: list[str]


class QualityIssueOut(Schema):
    code: str
    label: str


class RecordQualityOut(Schema):
    customer_id: int
    score: int = Field(..., description="Completeness and validity, 0–100 (stored).")
    completeness: int = Field(..., description="Share of the five key fields present, %.")
    valid: bool = Field(..., description="The address places the company in a region.")
    fresh: bool = Field(..., description="A follow-up or an update in the last 180 days.")
    last_touched: datetime
    suspected_duplicates: int = Field(..., description="Pairs waiting in the review queue.")
    issues: list[QualityIssueOut]


class QualityOut(Schema):
    units: list[UnitQualityOut]
    owners: list[OwnerQualityOut]
    trend: list[TrendPointOut]
    worst: list[WorstRecordOut]


# --- duplicate review queues ---------------------------------------------------------------


class Reason(Schema):
    """How one field compared: Splink's level, its name and the Bayes factor it gave."""

    field: str
    level: int
    agreement: Literal["exact", "partial", "differs"]
    bayes_factor: float


class CustomerSide(Schema):
    id: int
    legal_name: str
    uscc: str | None
    address: str
    status: str


class ContactSide(Schema):
    """Phones and emails masked, as everywhere outside an explicit reveal."""

    id: int
    name: str
    title: str
    customer_id: int
    customer_name: str
    mobile: str
    email: str

    @staticmethod
    def resolve_customer_name(obj: Any) -> str:
        return obj.customer.legal_name

    @staticmethod
    def resolve_mobile(obj: Any) -> str:
        return pii.mask_phone(obj.mobile)

    @staticmethod
    def resolve_email(obj: Any) -> str:
        return pii.mask_email(obj.email)


class PairOut(Schema):
    id: int
    probability: float
    reasons: list[Reason]
    cluster: str
    status: str
    found_at: datetime
    decided_by_id: int | None
    decided_at: datetime | None


class CustomerPairOut(PairOut):
    left: CustomerSide
    right: CustomerSide


class ContactPairOut(PairOut):
    left: ContactSide
    right: ContactSide


class DecideIn(Strict):
    decision: Literal["merge", "distinct", "defer"]
    survivor_id: int | None = Field(None, description="With merge: the record to keep.")


class DecisionOut(Schema):
    id: int
    status: str


class RunIn(Strict):
    entity: MasterEntity


class RunOut(Schema):
    entity: str
    queued: bool


# --- exports -------------------------------------------------------------------------------


class ExportIn(Strict):
    entity: Literal["customers", "contacts", "relationships"]
    format: Literal["csv", "xlsx"]
    filters: dict[str, str | int | bool] = Field(
        default_factory=dict,
        description=(
            "The list's filters, as in GET /customers (q, group_grade, stage, industry, "
            "province, city, bu_id, owner_id, tag, pool, mine, status, sort); contacts also "
            "take customer_id (one customer's contacts)"
        ),
    )


class ExportOut(Schema):
    id: int
    entity: str
    format: str
    filters: dict[str, str]
    status: str = Field(description="pending, running, done or failed")
    expired: bool = Field(description="Done, but the file was deleted after the retention period")
    total_rows: int
    done_rows: int
    progress: int = Field(description="Percent done, 0–100")
    error: str
    created_at: datetime
    finished_at: datetime | None
    file_url: str | None = Field(description="Where to download the file once it is ready")

    @staticmethod
    def resolve_progress(obj: ExportJob) -> int:
        return obj.percent

    @staticmethod
    def resolve_file_url(obj: ExportJob) -> Any:
        if obj.status != ExportJob.Status.DONE or obj.expired:
            return None
        return reverse("api:export_file", kwargs={"job_id": obj.pk})
