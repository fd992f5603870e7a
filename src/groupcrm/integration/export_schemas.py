"""Ninja schemas of the exports API (background CSV/XLSX exports of lists)."""

from datetime import datetime
from typing import Any, Literal

from django.urls import reverse
from ninja import Field, Schema

from groupcrm.integration import exports
from groupcrm.integration.models import ExportJob
from groupcrm.org.schemas import Strict


class ExportIn(Strict):
    entity: Literal["customers", "contacts"]
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
    def resolve_expired(obj: ExportJob) -> bool:
        return exports.is_expired(obj)

    @staticmethod
    def resolve_progress(obj: ExportJob) -> int:
        return exports.progress_percent(obj)

    @staticmethod
    def resolve_file_url(obj: ExportJob) -> Any:
        if obj.status != ExportJob.Status.DONE or exports.is_expired(obj):
            return None
        return reverse("api:export_file", kwargs={"job_id": obj.pk})
