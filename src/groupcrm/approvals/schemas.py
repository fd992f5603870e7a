from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from groupcrm.approvals.registry import describe, kind_label
from groupcrm.org.schemas import Strict


class ApprovalOut(Schema):
    id: int
    kind: str
    kind_label: str
    bu_id: int
    requested_by_id: int | None
    subject_type: str
    subject_id: str
    title: str
    summary: str
    payload: dict[str, Any]
    reason: str
    status: str
    decided_by_id: int | None
    decided_at: datetime | None
    comment: str
    created_at: datetime

    @staticmethod
    def resolve_kind_label(obj: Any) -> str:
        return kind_label(obj.kind)

    @staticmethod
    def resolve_summary(obj: Any) -> str:
        return describe(obj)


class DecideIn(Strict):
    decision: Literal["approve", "reject"]
    comment: str = Field("", max_length=500)
