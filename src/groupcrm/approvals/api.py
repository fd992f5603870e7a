"""/api/v1/approvals: list, read, decide and withdraw approval requests.

Requests are created by the modules that need them (through services.approval_request),
not through this API."""

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from groupcrm.approvals import selectors, services
from groupcrm.approvals.schemas import ApprovalOut, DecideIn
from groupcrm.core.api_support import PagePagination, actor_of

router = Router(tags=["approvals"])

StatusFilter = Literal["", "pending", "approved", "rejected", "withdrawn"]


@router.get("", response=list[ApprovalOut])
@paginate(PagePagination)
def approval_list(
    request: HttpRequest, status: StatusFilter = "", mine: bool = False, to_decide: bool = False
) -> Any:
    """Requests visible to the caller (their scope, plus their own); ``mine`` keeps
    those they asked for, ``to_decide`` those waiting for their decision."""
    return selectors.approval_list(
        actor=actor_of(request), status=status, mine=mine, to_decide=to_decide
    )


@router.get("/{approval_id}", response=ApprovalOut)
def approval_get(request: HttpRequest, approval_id: int) -> Any:
    return selectors.approval_get(actor=actor_of(request), pk=approval_id)


@router.post("/{approval_id}/decide", response=ApprovalOut)
def approval_decide(request: HttpRequest, approval_id: int, payload: DecideIn) -> Any:
    """Approve or reject (a comment is required to reject); never the requester."""
    return services.approval_decide(
        actor=actor_of(request),
        pk=approval_id,
        decision=payload.decision,
        comment=payload.comment,
    )


@router.post("/{approval_id}/withdraw", response=ApprovalOut)
def approval_withdraw(request: HttpRequest, approval_id: int) -> Any:
    return services.approval_withdraw(actor=actor_of(request), pk=approval_id)
