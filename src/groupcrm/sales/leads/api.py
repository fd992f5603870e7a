"""线索: capture, assignment rules and territories, qualification, conversion; referrals of leads
and opportunities between units (design.md §3 sales/).
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router
from ninja.pagination import paginate
from ninja.responses import Status

from groupcrm.core.api_support import PagePagination, actor_of
from groupcrm.sales.leads import referrals, selectors, services
from groupcrm.sales.leads.export import lead_export
from groupcrm.sales.leads.schemas import (
    AcceptIn,
    ConvertIn,
    DeclineIn,
    LeadIn,
    LeadOut,
    LeadPatch,
    ReferralIn,
    ReferralOut,
    StatusIn,
)

router = Router(tags=["leads"])


def _lead(request: HttpRequest, pk: int) -> Any:
    return selectors.lead_get(actor=actor_of(request), pk=pk)


@router.get("/leads", response=list[LeadOut])
@paginate(PagePagination)
def lead_list(
    request: HttpRequest,
    status: str = "",
    source: str = "",
    bu_id: int | None = None,
    owner_id: int | None = None,
    unassigned: bool = False,
    q: str = "",
    sort: str = "",
) -> Any:
    """Leads the caller may see. `q` matches the company name or USCC; `unassigned`
    shows the units' queues; `sort`: -created, created, company, -updated."""
    actor = actor_of(request)
    actor.require("leads", "view")
    return selectors.lead_list(actor=actor, filters=selectors.LeadFilters.from_query(request.GET))


@router.get("/leads/export")
def lead_list_export(request: HttpRequest, format: str = "csv") -> HttpResponse:
    """The filtered list (same filters as the list) as CSV or XLSX; phone and email
    masked; needs `leads.export`; each export is logged."""
    return lead_export(actor=actor_of(request), fmt=format, query=request.GET)


@router.get("/leads/queue", response=list[LeadOut])
@paginate(PagePagination)
def lead_queue(request: HttpRequest, bu_id: int | None = None, q: str = "") -> Any:
    """待分配线索: open leads without an owner in the caller's own units (those where
    their role grants `leads.change`), oldest first; phone and email masked."""
    return selectors.lead_queue(actor=actor_of(request), bu_id=bu_id, q=q.strip())


@router.post("/leads", response={201: LeadOut})
def lead_create(request: HttpRequest, payload: LeadIn) -> Any:
    """Capture a lead; without `owner_id` the unit's assignment rules pick the owner."""
    lead = services.lead_create(actor=actor_of(request), **payload.model_dump())
    return Status(201, _lead(request, lead.pk))


@router.get("/leads/{lead_id}", response=LeadOut)
def lead_get(request: HttpRequest, lead_id: int) -> Any:
    return _lead(request, lead_id)


@router.post("/leads/{lead_id}/claim", response=LeadOut)
def lead_claim(request: HttpRequest, lead_id: int) -> Any:
    """Take a lead from the queue: it becomes the caller's. 409 `already_claimed` when
    someone was faster, 409 `not_open` for a closed lead, 404 outside the caller's units."""
    services.lead_claim(actor=actor_of(request), pk=lead_id)
    return _lead(request, lead_id)


@router.patch("/leads/{lead_id}", response=LeadOut)
def lead_update(request: HttpRequest, lead_id: int, payload: LeadPatch) -> Any:
    data = payload.model_dump(exclude_unset=True)
    fields = {k: v for k, v in data.items() if v is not None and k != "owner_id"}
    if "owner_id" in data:
        fields["owner_id"] = data["owner_id"]
    services.lead_update(actor=actor_of(request), pk=lead_id, **fields)
    return _lead(request, lead_id)


@router.delete("/leads/{lead_id}", response={204: None})
def lead_delete(request: HttpRequest, lead_id: int) -> Any:
    services.lead_delete(actor=actor_of(request), pk=lead_id)
    return Status(204, None)


@router.post("/leads/{lead_id}/status", response=LeadOut)
def lead_set_status(request: HttpRequest, lead_id: int, payload: StatusIn) -> Any:
    """Qualify or disqualify (a reason is required), or reopen as working."""
    services.lead_set_status(actor=actor_of(request), pk=lead_id, **payload.model_dump())
    return _lead(request, lead_id)


@router.post("/leads/{lead_id}/convert", response=LeadOut)
def lead_convert(request: HttpRequest, lead_id: int, payload: ConvertIn) -> Any:
    """Convert into a customer (linking to an existing one: `customer_id`, or the one
    with the lead's USCC), a contact and optionally an opportunity. Similar names
    without `similar_override_reason`: 422 `similar_customers` with the candidates."""
    services.lead_convert(actor=actor_of(request), pk=lead_id, **payload.model_dump())
    return _lead(request, lead_id)


# --- referrals ------------------------------------------------------------------------


def _referral(request: HttpRequest, pk: int) -> Any:
    return selectors.referral_get(actor=actor_of(request), pk=pk)


@router.get("/referrals", response=list[ReferralOut])
@paginate(PagePagination)
def referral_list(
    request: HttpRequest,
    direction: str = "",
    status: str = "",
    customer_id: int | None = None,
) -> Any:
    """Referrals the caller's units sent or received; `direction`: incoming or outgoing
    (default both); `status`: pending, accepted, declined, withdrawn."""
    actor = actor_of(request)
    actor.require("referrals", "view")
    return selectors.referral_list(
        actor=actor, filters=selectors.ReferralFilters.from_query(request.GET)
    )


@router.post("/referrals", response={201: ReferralOut})
def referral_create(request: HttpRequest, payload: ReferralIn) -> Any:
    """Refer an open lead or opportunity (exactly one) to another unit."""
    referral = referrals.referral_create(actor=actor_of(request), **payload.model_dump())
    return Status(201, _referral(request, referral.pk))


@router.get("/referrals/{referral_id}", response=ReferralOut)
def referral_get(request: HttpRequest, referral_id: int) -> Any:
    return _referral(request, referral_id)


@router.post("/referrals/{referral_id}/accept", response=ReferralOut)
def referral_accept(request: HttpRequest, referral_id: int, payload: AcceptIn) -> Any:
    """For the receiving unit. Already decided: 409 `referral_decided`."""
    referrals.referral_accept(actor=actor_of(request), pk=referral_id, **payload.model_dump())
    return _referral(request, referral_id)


@router.post("/referrals/{referral_id}/decline", response=ReferralOut)
def referral_decline(request: HttpRequest, referral_id: int, payload: DeclineIn) -> Any:
    referrals.referral_decline(actor=actor_of(request), pk=referral_id, **payload.model_dump())
    return _referral(request, referral_id)


@router.post("/referrals/{referral_id}/withdraw", response=ReferralOut)
def referral_withdraw(request: HttpRequest, referral_id: int) -> Any:
    """For the referring side, while pending."""
    referrals.referral_withdraw(actor=actor_of(request), pk=referral_id)
    return _referral(request, referral_id)
