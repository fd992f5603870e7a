from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from groupcrm.org.schemas import Strict
from groupcrm.sales.models import CURRENCY
from groupcrm.sales.schemas import AMOUNT_HELP, Amount


class ForecastRowOut(Schema):
    key: int | None = Field(..., description="The rep's or the unit's id (null: the total).")
    label: str
    depth: int = Field(..., description="Unit rows: depth below the first row's unit.")
    quota: str
    won: str
    commit: str
    best_case: str
    pipeline: str
    weighted: str
    forecast: str = Field(..., description="won + commit")
    attainment: str | None = Field(..., description="won ÷ quota in %; null without quota.")


class ForecastMonthOut(Schema):
    month: str
    quota: str
    won: str
    forecast: str


class ForecastOut(Schema):
    period: str
    start: date
    end: date = Field(..., description="The first day after the period.")
    level: str
    bu_id: int | None
    currency: str = CURRENCY
    rows: list[ForecastRowOut]
    total: ForecastRowOut
    months: list[ForecastMonthOut] = Field(..., description="The months of the period's year.")


class QuotaOut(Schema):
    id: int
    bu_id: int
    bu_name: str = Field(..., alias="bu.name")
    user_id: int | None
    period: date = Field(..., description="The month, as its first day.")
    amount: str
    currency: str = CURRENCY
    updated_at: datetime

    @staticmethod
    def resolve_amount(obj: Any) -> str:
        return str(obj.amount)


class QuotaIn(Strict):
    bu_id: int
    user_id: int | None = Field(None, description="null: the quota of the unit as a whole.")
    period: str = Field(..., description="The month: YYYY-MM (or any day of it, YYYY-MM-DD).")
    amount: Amount = Field(..., description=AMOUNT_HELP + " Above zero.")
    months: int = Field(1, description="Set the same quota for this many months (1–36).")


class QuotaPatch(Strict):
    amount: Amount = Field(..., description=AMOUNT_HELP + " Above zero.")


class TierIn(Strict):
    from_: Amount = Field(..., alias="from", description="From this attainment (%) on.")
    rate: Amount = Field(..., description="Rate in % (0–100).")


class RuleOut(Schema):
    id: int
    bu_id: int
    role_id: int | None
    user_id: int | None
    name: str
    rate: str
    tiers: list[dict[str, str]]
    valid_from: date
    valid_to: date | None

    @staticmethod
    def resolve_rate(obj: Any) -> str:
        return str(obj.rate)


class RuleIn(Strict):
    bu_id: int
    name: str
    rate: Amount = Field(..., description="Rate in % of the credited won amount (0–100).")
    valid_from: date
    valid_to: date | None = None
    role_id: int | None = None
    user_id: int | None = None
    tiers: list[TierIn] = []


class RulePatch(Strict):
    name: str | None = None
    rate: Amount | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    role_id: int | None = None
    user_id: int | None = None
    tiers: list[TierIn] | None = None


class CommissionLineOut(Schema):
    user_id: int
    name: str
    units: list[str]
    won: str
    quota: str | None
    attainment: str | None
    rules: list[str]
    rate: str | None = Field(..., description="Effective rate: commission ÷ won, in %.")
    commission: str
    unruled: str = Field(..., description="Won amount no rule applied to.")
    currency: str = CURRENCY


class RollupCellOut(Schema):
    bu_id: int
    amount: str
    weighted: str
    count: int


class RollupRowOut(Schema):
    customer_id: int
    customer_name: str
    amount: str
    weighted: str
    count: int
    units: list[RollupCellOut]
