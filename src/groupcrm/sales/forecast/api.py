"""Forecast, quotas, attainment and commission (design.md §3 sales/)."""

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate
from ninja.responses import Status

from groupcrm.core.api_support import PagePagination, actor_of
from groupcrm.sales.forecast import selectors, services
from groupcrm.sales.forecast.schemas import (
    CommissionLineOut,
    ForecastOut,
    QuotaIn,
    QuotaOut,
    QuotaPatch,
    RollupRowOut,
    RuleIn,
    RuleOut,
    RulePatch,
)
from groupcrm.sales.forecast.selectors import Period

router = Router(tags=["forecast"])


def _money(value: Any) -> str | None:
    return None if value is None else str(value)


@router.get("/forecast", response=ForecastOut)
def forecast(
    request: HttpRequest, period: str = "", level: str = "team", bu_id: int | None = None
) -> Any:
    """Quota, won, commit, best case, pipeline, weighted and attainment per rep or unit.
    `period`: `2026-03`, `2026-Q1` or `2026` (default: this quarter); `level`: rep, team
    (every unit, each with the units below it), bu (units right below the group) or group;
    `bu_id` narrows to a unit and the units below it."""
    result = selectors.forecast(
        actor=actor_of(request), period=Period.parse(period), level=level, bu_id=bu_id
    )
    return {
        "period": result.period.code,
        "start": result.period.start,
        "end": result.period.end,
        "level": result.level,
        "bu_id": bu_id,
        "rows": [r.as_dict() for r in result.rows],
        "total": result.total.as_dict(),
        "months": result.months,
    }


@router.get("/group-pipeline", response=list[RollupRowOut])
def group_pipeline(request: HttpRequest, top: int = 20) -> Any:
    """Open pipeline of the `top` customer groups (by open amount) per selling business
    unit; only opportunities the caller may see."""
    result = selectors.group_pipeline(actor=actor_of(request), top=top)
    return [
        {
            "customer_id": row["customer_id"],
            "customer_name": row["customer_name"],
            "amount": f"{row['total']:.2f}",
            "weighted": f"{row['weighted']:.2f}",
            "count": row["count"],
            "units": [
                {
                    "bu_id": unit.pk,
                    "amount": f"{cell['total']:.2f}",
                    "weighted": f"{cell['weighted']:.2f}",
                    "count": cell["count"],
                }
                for unit, cell in zip(result.units, row["cells"], strict=True)
                if cell
            ],
        }
        for row in result.rows
    ]


@router.get("/commission", response=list[CommissionLineOut])
def commission(request: HttpRequest, period: str = "", bu_id: int | None = None) -> Any:
    """Commission per rep for `period` from their credited won amounts (splits
    included), by the rule that applies to each month and the tier their attainment
    reaches."""
    lines = selectors.commission_report(
        actor=actor_of(request), period=Period.parse(period), bu_id=bu_id
    )
    return [
        {
            **line.__dict__,
            "won": str(line.won),
            "quota": _money(line.quota),
            "attainment": _money(line.attainment),
            "rate": _money(line.rate),
            "commission": str(line.commission),
            "unruled": str(line.unruled),
        }
        for line in lines
    ]


@router.get("/quotas", response=list[QuotaOut])
@paginate(PagePagination)
def quota_list(
    request: HttpRequest,
    bu_id: int | None = None,
    user_id: int | None = None,
    period: str = "",
) -> Any:
    """Quotas the caller may see; `period` (month, quarter or year) narrows to its months."""
    actor = actor_of(request)
    actor.require("forecast", "view")
    return selectors.quota_list(
        actor=actor,
        bu_id=bu_id,
        user_id=user_id,
        period=Period.parse(period) if period else None,
    )


@router.post("/quotas", response={201: list[QuotaOut]})
def quota_create(request: HttpRequest, payload: QuotaIn) -> Any:
    """Set a month's quota (or `months` months from `period`), creating or replacing it;
    needs forecast.admin in the unit."""
    quotas = services.quota_bulk_set(
        actor=actor_of(request),
        bu_id=payload.bu_id,
        start=payload.period,
        months=payload.months,
        amount=payload.amount,
        user_ids=[payload.user_id],
    )
    return Status(201, quotas)


@router.get("/quotas/{quota_id}", response=QuotaOut)
def quota_get(request: HttpRequest, quota_id: int) -> Any:
    return selectors.quota_get(actor=actor_of(request), pk=quota_id)


@router.patch("/quotas/{quota_id}", response=QuotaOut)
def quota_update(request: HttpRequest, quota_id: int, payload: QuotaPatch) -> Any:
    return services.quota_update(actor=actor_of(request), pk=quota_id, amount=payload.amount)


@router.delete("/quotas/{quota_id}", response={204: None})
def quota_delete(request: HttpRequest, quota_id: int) -> Any:
    services.quota_delete(actor=actor_of(request), pk=quota_id)
    return Status(204, None)


def _rule_data(payload: RuleIn | RulePatch) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=True, by_alias=True)
    return data


@router.get("/commission-rules", response=list[RuleOut])
@paginate(PagePagination)
def rule_list(request: HttpRequest, bu_id: int | None = None) -> Any:
    actor = actor_of(request)
    actor.require("forecast", "view")
    return selectors.rule_list(actor=actor, bu_id=bu_id)


@router.post("/commission-rules", response={201: RuleOut})
def rule_create(request: HttpRequest, payload: RuleIn) -> Any:
    """`tiers`: `[{"from": 100, "rate": "8"}]` — from that attainment (%) of the period's
    quota on, the tier's rate applies. Rules of the same unit and people may not overlap
    in time (422 `overlapping_rule`)."""
    return Status(201, services.rule_create(actor=actor_of(request), **_rule_data(payload)))


@router.get("/commission-rules/{rule_id}", response=RuleOut)
def rule_get(request: HttpRequest, rule_id: int) -> Any:
    return selectors.rule_get(actor=actor_of(request), pk=rule_id)


@router.patch("/commission-rules/{rule_id}", response=RuleOut)
def rule_update(request: HttpRequest, rule_id: int, payload: RulePatch) -> Any:
    return services.rule_update(actor=actor_of(request), pk=rule_id, **_rule_data(payload))


@router.delete("/commission-rules/{rule_id}", response={204: None})
def rule_delete(request: HttpRequest, rule_id: int) -> Any:
    services.rule_delete(actor=actor_of(request), pk=rule_id)
    return Status(204, None)
