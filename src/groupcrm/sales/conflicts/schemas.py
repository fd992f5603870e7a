from datetime import date, datetime
from typing import Any, Literal

from ninja import Field, Schema

from groupcrm.org.schemas import Strict


class EngagementOut(Schema):
    bu_id: int
    bu_name: str
    kind: Literal["opportunity", "relationship"]
    customer_id: int = Field(..., description="The company of the group it concerns.")
    customer_name: str
    owner_id: int | None = Field(None, description="Only for callers who may see customers.")
    owner_name: str
    since: datetime | None
    protected_until: date | None


class ConflictOut(Schema):
    id: int
    customer_id: int
    customer_name: str = Field(..., alias="customer.legal_name")
    group_root_id: int
    raised_by_id: int
    raised_bu_id: int
    raised_bu_name: str = Field(..., alias="raised_bu.name")
    other_bu_id: int
    other_bu_name: str = Field(..., alias="other_bu.name")
    other_owner_id: int | None
    opportunity_id: int | None
    other_opportunity_id: int | None
    reason: str
    status: str
    decision: str
    winner_bu_id: int | None
    raised_percent: str | None
    other_percent: str | None
    decided_by_id: int | None
    decided_at: datetime | None
    comment: str
    approval_id: int | None
    created_at: datetime

    @staticmethod
    def resolve_raised_percent(obj: Any) -> str | None:
        return None if obj.raised_percent is None else str(obj.raised_percent)

    @staticmethod
    def resolve_other_percent(obj: Any) -> str | None:
        return None if obj.other_percent is None else str(obj.other_percent)


class ConflictIn(Strict):
    customer_id: int
    reason: str
    other_bu_id: int | None = Field(None, description="Default: the only engaged unit.")
    bu_id: int | None = Field(None, description="Your unit; default: your primary one.")
    opportunity_id: int | None = Field(None, description="Your open opportunity, if any.")


class DecideIn(Strict):
    decision: Literal["one_owner", "joint", "release"]
    winner_bu_id: int | None = Field(None, description="one_owner and joint: the owning unit.")
    raised_percent: str | int | float | None = Field(None, description="joint: raiser's share.")
    other_percent: str | int | float | None = Field(None, description="joint: other's share.")
    comment: str = ""


class CoordinateIn(Strict):
    customer_id: int
    bu_id: int | None = None
    message: str = ""


class CoordinateOut(Schema):
    notified: list[int]
