"""The duplicate review queues (customers and contacts) and batch dedup runs."""

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from groupcrm.core import pii
from groupcrm.core.api_support import PagePagination, actor_of
from groupcrm.integration import matching
from groupcrm.org.schemas import Strict

router = Router(tags=["duplicates"])

PairStatus = Literal["pending", "merged", "distinct", "deferred"]
Entity = Literal["customers", "contacts"]


class Reason(Schema):
    """How one field compared: Splink's level, its name and the Bayes factor it gave."""

    field: str
    level: int
    agreement: Literal["exact", "partial", "differs"]
    bayes_factor: float


class CustomerSide(Schema):
    id: int
    legal_name: str
    uscc: str | None
    address: str
    status: str


class ContactSide(Schema):
    """Phones and emails masked, as everywhere outside an explicit reveal."""

    id: int
    name: str
    title: str
    customer_id: int
    customer_name: str
    mobile: str
    email: str

    @staticmethod
    def resolve_customer_name(obj: Any) -> str:
        return obj.customer.legal_name

    @staticmethod
    def resolve_mobile(obj: Any) -> str:
        return pii.mask_phone(obj.mobile)

    @staticmethod
    def resolve_email(obj: Any) -> str:
        return pii.mask_email(obj.email)


class PairOut(Schema):
    id: int
    probability: float
    reasons: list[Reason]
    cluster: str
    status: str
    found_at: datetime
    decided_by_id: int | None
    decided_at: datetime | None


class CustomerPairOut(PairOut):
    left: CustomerSide
    right: CustomerSide


class ContactPairOut(PairOut):
    left: ContactSide
    right: ContactSide


class DecideIn(Strict):
    decision: Literal["merge", "distinct", "defer"]
    survivor_id: int | None = Field(None, description="With merge: the record to keep.")


class DecisionOut(Schema):
    id: int
    status: str


class RunIn(Strict):
    entity: Entity


class RunOut(Schema):
    entity: str
    queued: bool


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
def pair_decide(request: HttpRequest, entity: Entity, pair_id: int, payload: DecideIn) -> Any:
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
