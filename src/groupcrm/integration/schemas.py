"""Ninja schemas of the integration API (imports, sources, mappings, data quality)."""

from datetime import date, datetime
from typing import Any, Literal

from ninja import Field, Schema

from groupcrm.integration import selectors
from groupcrm.org.schemas import Strict

SourceKind = Literal["generic", "zoho", "salesforce", "fxiaoke"]
Entity = Literal["customers", "contacts"]
JobStatus = Literal["pending", "running", "done", "failed"]


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


class QualityOut(Schema):
    units: list[UnitQualityOut]
    owners: list[OwnerQualityOut]
    trend: list[TrendPointOut]
    worst: list[WorstRecordOut]
