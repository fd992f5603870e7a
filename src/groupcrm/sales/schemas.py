from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from groupcrm.org.schemas import Strict
from groupcrm.sales.models import CURRENCY

# Money comes in as a decimal string ("120000.00"; a JSON number is accepted too) and is
# checked by the service, so "abc", "-1", "NaN" and "Infinity" get one clear message.
Amount = str | int | float
AMOUNT_HELP = "Amount in CNY as a decimal string, at most 2 decimals, not negative."
FORECAST_HELP = "Forecast category: pipeline, best_case, commit or omitted."


class OpportunityOut(Schema):
    id: int
    name: str
    customer_id: int
    customer_name: str = Field(..., alias="customer.legal_name")
    bu_id: int
    bu_name: str = Field(..., alias="bu.name")
    owner_id: int
    owner_name: str
    amount: str
    currency: str = CURRENCY
    weighted_amount: str
    expected_close: date
    pipeline_id: int
    stage_id: int
    stage_name: str = Field(..., alias="stage.name")
    probability: int
    probability_manual: bool
    forecast_category: str
    next_step: str
    competitors: str
    decision_contact_ids: list[int]
    lost_reason: str
    status: str
    closed_at: datetime | None
    stage_entered_at: datetime
    version: int = Field(..., description="Send it back with PATCH and move (optimistic lock).")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_amount(obj: Any) -> str:
        return str(obj.amount)

    @staticmethod
    def resolve_weighted_amount(obj: Any) -> str:
        return str(obj.weighted_amount)

    @staticmethod
    def resolve_owner_name(obj: Any) -> str:
        return obj.owner.display_name or obj.owner.username

    @staticmethod
    def resolve_decision_contact_ids(obj: Any) -> list[int]:
        return [c.pk for c in obj.decision_contacts.all()]


class StageChangeOut(Schema):
    from_stage_id: int | None
    to_stage_id: int
    at: datetime
    by_id: int | None
    seconds_in_previous: int


class OpportunityDetail(OpportunityOut):
    stage_changes: list[StageChangeOut]

    @staticmethod
    def resolve_stage_changes(obj: Any) -> list[Any]:
        return list(obj.stage_changes.all())


class OpportunityIn(Strict):
    customer_id: int
    name: str
    amount: Amount = Field(..., description=AMOUNT_HELP)
    expected_close: date
    bu_id: int | None = Field(None, description="Default: the caller's unit.")
    owner_id: int | None = Field(None, description="Default: the caller.")
    stage_id: int | None = Field(None, description="An open stage; default: the first.")
    probability: int | None = Field(None, description="0–100; default: the stage's.")
    forecast_category: str = Field("pipeline", description=FORECAST_HELP)
    next_step: str = ""
    competitors: str = ""
    decision_contact_ids: list[int] = []


class OpportunityPatch(Strict):
    version: int = Field(..., description="The version you read; a stale one gives 409.")
    name: str | None = None
    amount: Amount | None = Field(None, description=AMOUNT_HELP)
    expected_close: date | None = None
    owner_id: int | None = None
    probability: int | None = Field(None, description="null: back to the stage's.")
    forecast_category: str | None = Field(None, description=FORECAST_HELP)
    next_step: str | None = None
    competitors: str | None = None
    decision_contact_ids: list[int] | None = None


class MoveIn(Strict):
    stage_id: int
    version: int
    lost_reason: str = ""


class StageOut(Schema):
    id: int
    name: str
    order: int
    probability: int
    outcome: str
    required_fields: list[str]


class PipelineOut(Schema):
    id: int
    name: str
    bu_id: int | None = Field(..., description="null: the group's default pipeline.")
    stages: list[StageOut]

    @staticmethod
    def resolve_stages(obj: Any) -> list[Any]:
        return list(obj.stages.all())


class SplitOut(Schema):
    bu_id: int
    user_id: int | None
    percent: str


class SplitIn(Strict):
    bu_id: int
    user_id: int | None = None
    percent: Amount = Field(..., description="Share in %, above 0, at most 2 decimals.")


class SplitsIn(Strict):
    splits: list[SplitIn] = Field(..., description="Shares that add up to exactly 100.")


class UnitPipelineOut(Schema):
    bu_id: int
    bu_name: str
    count: int
    amount: str
    weighted: str
    currency: str = CURRENCY
