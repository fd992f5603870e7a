"""撞单: engagement detection at entry, coordination, the arbitration queue (design.md §3
sales/). Mounted under /api/v1/sales."""

from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router
from ninja.pagination import paginate
from ninja.responses import Status

from groupcrm.core.api_support import PagePagination, actor_of
from groupcrm.core.errors import ValidationError
from groupcrm.customers.selectors import customer_get
from groupcrm.sales.conflicts import selectors, services
from groupcrm.sales.conflicts.schemas import (
    ConflictIn,
    ConflictOut,
    CoordinateIn,
    CoordinateOut,
    DecideIn,
    EngagementOut,
)

router = Router(tags=["conflicts"])

StatusFilter = Literal["", "open", "decided", "dismissed", "withdrawn"]


@router.get("/engagements", response=list[EngagementOut])
def engagement_list(request: HttpRequest, customer_id: int, bu_id: int | None = None) -> Any:
    """Other units (not `bu_id`'s own side: itself, above or below) with an open opportunity
    or a protected relationship on the customer or any company of its group. `bu_id`
    defaults to the caller's unit; it must be one they may create opportunities or raise
    conflicts for."""
    actor = actor_of(request)
    customer = customer_get(actor=actor, pk=customer_id)
    unit = selectors.entry_unit(actor=actor, bu_id=bu_id)
    if unit is None:
        raise ValidationError({"bu_id": _("Choose a business unit you work for.")})
    return selectors.engagements(actor=actor, customer=customer, unit=unit)


@router.post("/engagements/coordinate", response=CoordinateOut)
def engagement_coordinate(request: HttpRequest, payload: CoordinateIn) -> Any:
    """Notify the owners engaged for other units that you would like to coordinate."""
    notified = services.conflict_coordinate(actor=actor_of(request), **payload.model_dump())
    return {"notified": notified}


@router.get("/conflicts", response=list[ConflictOut])
@paginate(PagePagination)
def conflict_list(
    request: HttpRequest, status: StatusFilter = "", q: str = "", to_decide: bool = False
) -> Any:
    """Conflicts involving the caller's units (and those they may arbitrate);
    `to_decide` keeps the open ones they may arbitrate, oldest first."""
    actor = actor_of(request)
    if to_decide:
        return selectors.conflict_queue(actor=actor)
    return selectors.conflict_list(actor=actor, status=status, q=q)


@router.post("/conflicts", response={201: ConflictOut})
def conflict_create(request: HttpRequest, payload: ConflictIn) -> Any:
    """Raise a conflict. 409 `nothing_to_arbitrate` when no other unit is engaged,
    409 `conflict_open` when one is already open for the group and the pair of units."""
    actor = actor_of(request)
    conflict = services.conflict_raise(actor=actor, **payload.model_dump())
    return Status(201, selectors.conflict_get(actor=actor, pk=conflict.pk))


@router.get("/conflicts/{conflict_id}", response=ConflictOut)
def conflict_get(request: HttpRequest, conflict_id: int) -> Any:
    return selectors.conflict_get(actor=actor_of(request), pk=conflict_id)


@router.post("/conflicts/{conflict_id}/decide", response=ConflictOut)
def conflict_decide(request: HttpRequest, conflict_id: int, payload: DecideIn) -> Any:
    """Arbitrate (needs `conflicts.approve` over both units, and not a party). `joint`
    needs both shares, adding up to 100."""
    actor = actor_of(request)
    services.conflict_decide(actor=actor, pk=conflict_id, **payload.model_dump())
    return selectors.conflict_get(actor=actor, pk=conflict_id)


@router.post("/conflicts/{conflict_id}/withdraw", response=ConflictOut)
def conflict_withdraw(request: HttpRequest, conflict_id: int) -> Any:
    actor = actor_of(request)
    services.conflict_withdraw(actor=actor, pk=conflict_id)
    return selectors.conflict_get(actor=actor, pk=conflict_id)
