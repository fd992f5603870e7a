from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate
from ninja.responses import Status

from groupcrm.core.api_support import PagePagination, actor_of
from groupcrm.customers.selectors import customer_get
from groupcrm.sales import selectors, services
from groupcrm.sales.schemas import (
    MoveIn,
    OpportunityDetail,
    OpportunityIn,
    OpportunityOut,
    OpportunityPatch,
    PipelineOut,
    SplitOut,
    SplitsIn,
    UnitPipelineOut,
)

router = Router(tags=["sales"])


def _detail(request: HttpRequest, pk: int) -> Any:
    return selectors.opportunity_get(actor=actor_of(request), pk=pk)


@router.get("/opportunities", response=list[OpportunityOut])
@paginate(PagePagination)
def opportunity_list(
    request: HttpRequest,
    status: str = "",
    stage_id: int | None = None,
    pipeline_id: int | None = None,
    bu_id: int | None = None,
    owner_id: int | None = None,
    customer_id: int | None = None,
    q: str = "",
    close_month: str = "",
    sort: str = "",
    forecast_category: str = "",
) -> Any:
    """Opportunities the caller may see. `q` searches the customer (name, 拼音, USCC);
    `close_month` is `YYYY-MM`; `sort`: close, -close, amount, -amount, name, -updated,
    stage. `bu_id` includes the units below it. `forecast_category`: pipeline,
    best_case, commit or omitted."""
    actor = actor_of(request)
    actor.require("opportunities", "view")
    filters = selectors.OpportunityFilters.from_query(request.GET)
    items = selectors.opportunity_list(actor=actor, filters=filters)
    return items.prefetch_related("decision_contacts")


@router.post("/opportunities", response={201: OpportunityDetail})
def opportunity_create(request: HttpRequest, payload: OpportunityIn) -> Any:
    data = payload.model_dump(exclude_none=True)
    opportunity = services.opportunity_create(actor=actor_of(request), **data)
    return Status(201, _detail(request, opportunity.pk))


@router.get("/opportunities/{opportunity_id}", response=OpportunityDetail)
def opportunity_get(request: HttpRequest, opportunity_id: int) -> Any:
    return _detail(request, opportunity_id)


@router.patch("/opportunities/{opportunity_id}", response=OpportunityDetail)
def opportunity_update(request: HttpRequest, opportunity_id: int, payload: OpportunityPatch) -> Any:
    """Requires the `version` read; a stale version is 409 `stale` and changes nothing."""
    data = {
        k: v
        for k, v in payload.model_dump(exclude_unset=True).items()
        if v is not None or k == "probability"
    }
    services.opportunity_update(actor=actor_of(request), pk=opportunity_id, **data)
    return _detail(request, opportunity_id)


@router.post("/opportunities/{opportunity_id}/move", response=OpportunityDetail)
def opportunity_move(request: HttpRequest, opportunity_id: int, payload: MoveIn) -> Any:
    """Move to a stage of the opportunity's pipeline. Missing required fields: 422 naming
    them; the lost stage needs `lost_reason`; a stale `version`: 409 `stale`."""
    services.opportunity_move(actor=actor_of(request), pk=opportunity_id, **payload.model_dump())
    return _detail(request, opportunity_id)


def _splits(opportunity: Any) -> list[dict[str, Any]]:
    return [
        {"bu_id": bu_id, "user_id": user_id, "percent": f"{percent:.2f}"}
        for bu_id, user_id, percent in selectors.splits_of(opportunity)
    ]


@router.get("/opportunities/{opportunity_id}/splits", response=list[SplitOut])
def opportunity_splits(request: HttpRequest, opportunity_id: int) -> Any:
    """Who is credited with the won amount: the splits, else 100 % to the opportunity's
    unit and owner."""
    return _splits(_detail(request, opportunity_id))


@router.put("/opportunities/{opportunity_id}/splits", response=list[SplitOut])
def opportunity_set_splits(request: HttpRequest, opportunity_id: int, payload: SplitsIn) -> Any:
    """Replace the splits by hand (needs opportunities.admin); the shares must add up to
    exactly 100 (422 `invalid_split` naming the share at fault)."""
    shares = [split.model_dump() for split in payload.splits]
    services.opportunity_set_splits(actor=actor_of(request), pk=opportunity_id, shares=shares)
    return _splits(_detail(request, opportunity_id))


@router.get("/pipelines", response=list[PipelineOut])
def pipeline_list(request: HttpRequest) -> Any:
    """Pipelines with their stages; the one the caller's unit uses comes first."""
    return selectors.pipelines_for(actor=actor_of(request))


@router.get("/customers/{customer_id}/pipeline", response=list[UnitPipelineOut])
def customer_pipeline(request: HttpRequest, customer_id: int) -> Any:
    """Open pipeline of the customer and the companies below it, per selling unit (only
    the opportunities the caller may see)."""
    actor = actor_of(request)
    actor.require("opportunities", "view")
    customer = customer_get(actor=actor, pk=customer_id)
    return [
        {
            "bu_id": row["bu_id"],
            "bu_name": row["bu__name"],
            "count": row["count"],
            "amount": f"{row['total']:.2f}",
            "weighted": f"{row['weighted']:.2f}",
        }
        for row in selectors.pipeline_by_unit(actor, selectors.group_ids(customer))
    ]
