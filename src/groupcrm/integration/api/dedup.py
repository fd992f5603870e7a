"""The duplicate review queues (customers and contacts) and batch dedup runs."""

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate
from ninja.responses import Status

from groupcrm.core.api_support import PagePagination, actor_of
from groupcrm.integration import matching
from groupcrm.integration.schemas import (
    ContactPairOut,
    CustomerPairOut,
    DecideIn,
    DecisionOut,
    MasterEntity,
    PairStatus,
    RunIn,
    RunOut,
)

router = Router(tags=["duplicates"])


@router.get("/customers", response=list[CustomerPairOut])
@paginate(PagePagination)
def customer_pairs(request: HttpRequest, status: PairStatus = "pending") -> Any:
    """Candidate pairs of customers, most likely first, both within the caller's reach."""
    return matching.review_queue(actor=actor_of(request), status=status)


@router.get("/contacts", response=list[ContactPairOut])
@paginate(PagePagination)
def contact_pairs(request: HttpRequest, status: PairStatus = "pending") -> Any:
    """Candidate pairs of contacts, most likely first, both within the caller's reach."""
    return matching.review_queue(actor=actor_of(request), status=status, entity=matching.CONTACTS)


@router.post("/{entity}/{pair_id}/decide", response=DecisionOut)
def pair_decide(request: HttpRequest, entity: MasterEntity, pair_id: int, payload: DecideIn) -> Any:
    """Merge (keeping `survivor_id`), not a duplicate (remembered) or later."""
    pair = matching.pair_decide(
        actor=actor_of(request),
        pk=pair_id,
        decision=payload.decision,
        survivor_id=payload.survivor_id,
        entity=entity,
    )
    return {"id": pair.pk, "status": pair.status}


@router.post("/runs", response={202: RunOut})
def run_start(request: HttpRequest, payload: RunIn) -> Any:
    """Queue a batch dedup run over all customers or all contacts (group-wide data
    stewards only); the review queue fills when it is done."""
    matching.dedup_start(actor=actor_of(request), entity=payload.entity)
    return Status(202, {"entity": payload.entity, "queued": True})
