from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router
from ninja.pagination import paginate
from ninja.responses import Status

from groupcrm.core.api_support import PagePagination, actor_of
from groupcrm.customers import export, merge, selectors, services
from groupcrm.customers.models import ChangeRequest
from groupcrm.customers.schemas import (
    AssignIn,
    BulkIn,
    BulkOut,
    ChangeRequestOut,
    ContactIn,
    ContactMoveIn,
    ContactOut,
    ContactPatch,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    CustomerSaved,
    DecisionIn,
    DuplicateOut,
    FollowIn,
    FollowUpIn,
    FollowUpOut,
    FollowUpPatch,
    HierarchyOut,
    MergeIn,
    MergeOut,
    MoveIn,
    RelationshipIn,
    RelationshipOut,
    RelationshipPatch,
    ReleaseIn,
    RevealIn,
    RevealOut,
    UnmergeOut,
    View360Out,
)

router = Router(tags=["customers"])
relationships = Router(tags=["customer relationships"])
contacts = Router(tags=["contacts"])
followups = Router(tags=["follow-ups"])
change_requests = Router(tags=["change requests"])


def _filters(request: HttpRequest) -> selectors.CustomerFilters:
    return selectors.CustomerFilters.from_query(request.GET)


@router.get("", response=list[CustomerOut])
@paginate(PagePagination)
def customer_list(
    request: HttpRequest,
    q: str = "",
    group_grade: str = "",
    stage: str = "",
    industry: str = "",
    province: str = "",
    city: str = "",
    bu_id: int | None = None,
    owner_id: int | None = None,
    tag: str = "",
    pool: bool = False,
    mine: bool = False,
    status: str = "active",
    sort: str = "",
) -> Any:
    """Search (`q`: name, short name, 拼音 or initials, USCC, contact name or phone) and
    filter customers; with `q` and no `sort`, results come best match first."""
    items = selectors.customer_list(actor=actor_of(request), filters=_filters(request))
    return items.prefetch_related("tags")


@router.post("", response={201: CustomerSaved})
def customer_create(request: HttpRequest, payload: CustomerIn) -> Any:
    data = payload.model_dump(exclude_none=True)
    return Status(201, services.customer_create(actor=actor_of(request), **data))


@router.get("/duplicates", response=DuplicateOut)
def duplicate_check(request: HttpRequest, legal_name: str = "", uscc: str = "") -> Any:
    """What a new customer with this name or USCC would collide with (查重)."""
    return selectors.duplicate_report(actor=actor_of(request), legal_name=legal_name, uscc=uscc)


@router.get("/export")
def customer_export(request: HttpRequest, format: str = "csv") -> HttpResponse:
    """The filtered list as CSV or XLSX (same filters as the list); personal data masked."""
    return export.list_export(
        actor=actor_of(request),
        entity="customers",
        fmt=format,
        filters=export.picked_filters("customers", request.GET),
    )


@router.post("/bulk", response=BulkOut)
def customer_bulk(request: HttpRequest, payload: BulkIn) -> Any:
    """Assign, tag or release many customers; each goes through the single-record
    service, and failures are reported per customer."""
    return services.bulk(actor=actor_of(request), **payload.model_dump())


@router.post("/merges/{merge_id}/unmerge", response=UnmergeOut)
def customer_unmerge(request: HttpRequest, merge_id: int) -> Any:
    """Undo a merge: every record and link goes back. `kept` names the survivor's fields
    left as they are because they were changed after the merge."""
    kept = merge.customer_unmerge(actor=actor_of(request), merge_id=merge_id)
    return {"merge_id": merge_id, "kept": kept}


@router.get("/{customer_id}", response=CustomerSaved)
def customer_get(request: HttpRequest, customer_id: int) -> Any:
    customer = selectors.customer_get(actor=actor_of(request), pk=customer_id)
    customer.pending_change = selectors.pending_change(customer)
    return customer


@router.patch("/{customer_id}", response=CustomerSaved)
def customer_update(request: HttpRequest, customer_id: int, payload: CustomerPatch) -> Any:
    """Legal name, USCC and group grade changes wait for a second person's approval:
    they come back in `pending_change` and apply once approved."""
    data = payload.model_dump(exclude_unset=True)
    data = {k: v for k, v in data.items() if v is not None or k == "uscc"}
    customer, request_ = services.customer_update(actor=actor_of(request), pk=customer_id, **data)
    customer.pending_change = request_ or selectors.pending_change(customer)
    return customer


@router.post("/{customer_id}/move", response=CustomerOut)
def customer_move(request: HttpRequest, customer_id: int, payload: MoveIn) -> Any:
    return services.customer_move(
        actor=actor_of(request), pk=customer_id, parent_id=payload.parent_id
    )


@router.post("/{customer_id}/merge", response={201: MergeOut})
def customer_merge(request: HttpRequest, customer_id: int, payload: MergeIn) -> Any:
    """Merge duplicates into this customer (needs customers.admin and reach on all)."""
    return Status(
        201,
        merge.customer_merge(
            actor=actor_of(request),
            survivor_id=customer_id,
            loser_ids=payload.loser_ids,
            reason=payload.reason,
        ),
    )


@router.get("/{customer_id}/merges", response=list[MergeOut])
def customer_merges(request: HttpRequest, customer_id: int) -> Any:
    return selectors.merge_list(actor=actor_of(request), customer_id=customer_id)


@router.get("/{customer_id}/view360", response=View360Out)
def customer_view360(
    request: HttpRequest,
    customer_id: int,
    bu_id: int | None = None,
    kind: str = "",
    person_id: int | None = None,
) -> Any:
    """Everything about one customer the caller may see, in one call."""
    data = selectors.view360(
        actor=actor_of(request),
        pk=customer_id,
        timeline_query=selectors.TimelineQuery(bu_id=bu_id, kind=kind, person_id=person_id),
    )
    data["contacts"] = [contact for contact, _masked in data["contacts"]]
    return data


@router.get("/{customer_id}/hierarchy", response=HierarchyOut)
def customer_hierarchy(request: HttpRequest, customer_id: int) -> Any:
    tree = selectors.hierarchy(actor=actor_of(request), pk=customer_id)
    return {**tree, "root": selectors.tree_as_dict(tree["root"])}


@router.put("/{customer_id}/follow", response={204: None})
def customer_follow(request: HttpRequest, customer_id: int, payload: FollowIn) -> Any:
    services.follow_set(
        actor=actor_of(request), customer_id=customer_id, follow=True, digest=payload.digest
    )
    return Status(204, None)


@router.delete("/{customer_id}/follow", response={204: None})
def customer_unfollow(request: HttpRequest, customer_id: int) -> Any:
    services.follow_set(actor=actor_of(request), customer_id=customer_id, follow=False)
    return Status(204, None)


# --- relationships ------------------------------------------------------------------------


@router.get("/{customer_id}/relationships", response=list[RelationshipOut])
def customer_relationships(request: HttpRequest, customer_id: int) -> Any:
    actor = actor_of(request)
    selectors.customer_get(actor=actor, pk=customer_id)
    return selectors.relationship_list(actor=actor).filter(customer_id=customer_id)


@router.post("/{customer_id}/relationships", response={201: RelationshipOut})
def relationship_start(request: HttpRequest, customer_id: int, payload: RelationshipIn) -> Any:
    return Status(
        201,
        services.relationship_start(
            actor=actor_of(request), customer_id=customer_id, **payload.model_dump()
        ),
    )


@relationships.get("", response=list[RelationshipOut])
@paginate(PagePagination)
def relationship_list(request: HttpRequest, mine: bool = False, stage: str = "") -> Any:
    return selectors.relationship_list(actor=actor_of(request), mine=mine, stage=stage)


@relationships.get("/pool", response=list[RelationshipOut])
@paginate(PagePagination)
def pool_list(request: HttpRequest, q: str = "", bu_id: int | None = None) -> Any:
    """Customers in the public pools (公海) of the caller's units."""
    return selectors.pool_list(actor=actor_of(request), q=q, bu_id=bu_id)


@relationships.get("/{relationship_id}", response=RelationshipOut)
def relationship_get(request: HttpRequest, relationship_id: int) -> Any:
    return selectors.relationship_get(actor=actor_of(request), pk=relationship_id)


@relationships.patch("/{relationship_id}", response=RelationshipOut)
def relationship_update(
    request: HttpRequest, relationship_id: int, payload: RelationshipPatch
) -> Any:
    data = payload.model_dump(exclude_unset=True)
    if "protected_until" in data and data["protected_until"] is None:
        data["clear_protection"] = True
    return services.relationship_update(actor=actor_of(request), pk=relationship_id, **data)


@relationships.post("/{relationship_id}/claim", response=RelationshipOut)
def relationship_claim(request: HttpRequest, relationship_id: int) -> Any:
    return services.relationship_claim(actor=actor_of(request), pk=relationship_id)


@relationships.post("/{relationship_id}/release", response=RelationshipOut)
def relationship_release(request: HttpRequest, relationship_id: int, payload: ReleaseIn) -> Any:
    return services.relationship_release(
        actor=actor_of(request), pk=relationship_id, reason=payload.reason
    )


@relationships.post("/{relationship_id}/assign", response=RelationshipOut)
def relationship_assign(request: HttpRequest, relationship_id: int, payload: AssignIn) -> Any:
    return services.relationship_assign(
        actor=actor_of(request), pk=relationship_id, owner_id=payload.owner_id
    )


# --- contacts ----------------------------------------------------------------------------


@router.get("/{customer_id}/contacts", response=list[ContactOut])
@paginate(PagePagination)
def contact_list(request: HttpRequest, customer_id: int) -> Any:
    actor = actor_of(request)
    selectors.customer_get(actor=actor, pk=customer_id)
    return selectors.contact_list(actor=actor, customer_id=customer_id)


@router.post("/{customer_id}/contacts", response={201: ContactOut})
def contact_create(request: HttpRequest, customer_id: int, payload: ContactIn) -> Any:
    contact = services.contact_create(
        actor=actor_of(request), customer_id=customer_id, **payload.model_dump(exclude_none=True)
    )
    return Status(201, contact)


@contacts.get("/{contact_id}", response=ContactOut)
def contact_get(request: HttpRequest, contact_id: int) -> Any:
    return selectors.contact_get(actor=actor_of(request), pk=contact_id)


@contacts.patch("/{contact_id}", response=ContactOut)
def contact_update(request: HttpRequest, contact_id: int, payload: ContactPatch) -> Any:
    data = payload.model_dump(exclude_unset=True)
    return services.contact_update(actor=actor_of(request), pk=contact_id, **data)


@contacts.post("/{contact_id}/move", response=ContactOut)
def contact_move(request: HttpRequest, contact_id: int, payload: ContactMoveIn) -> Any:
    return services.contact_move(
        actor=actor_of(request), pk=contact_id, customer_id=payload.customer_id
    )


@contacts.delete("/{contact_id}", response={204: None})
def contact_delete(request: HttpRequest, contact_id: int) -> Any:
    services.contact_delete(actor=actor_of(request), pk=contact_id)
    return Status(204, None)


@contacts.post("/{contact_id}/reveal", response=RevealOut)
def contact_reveal(request: HttpRequest, contact_id: int, payload: RevealIn) -> Any:
    """One personal field in clear; needs contacts.reveal_pii and is logged."""
    value = services.contact_reveal(actor=actor_of(request), pk=contact_id, field=payload.field)
    return {"field": payload.field, "value": value}


# --- follow-ups ------------------------------------------------------------------------------


@router.get("/{customer_id}/followups", response=list[FollowUpOut])
@paginate(PagePagination)
def customer_followups(request: HttpRequest, customer_id: int) -> Any:
    actor = actor_of(request)
    selectors.customer_get(actor=actor, pk=customer_id)
    return selectors.followup_list(actor=actor, customer_id=customer_id).prefetch_related(
        "contacts"
    )


@router.post("/{customer_id}/followups", response={201: FollowUpOut})
def followup_create(request: HttpRequest, customer_id: int, payload: FollowUpIn) -> Any:
    return Status(
        201,
        services.followup_create(
            actor=actor_of(request), customer_id=customer_id, **payload.model_dump()
        ),
    )


@followups.get("", response=list[FollowUpOut])
@paginate(PagePagination)
def followup_list(request: HttpRequest, owner_id: int | None = None) -> Any:
    return selectors.followup_list(actor=actor_of(request), owner_id=owner_id).prefetch_related(
        "contacts"
    )


@followups.get("/{followup_id}", response=FollowUpOut)
def followup_get(request: HttpRequest, followup_id: int) -> Any:
    return selectors.followup_get(actor=actor_of(request), pk=followup_id)


@followups.patch("/{followup_id}", response=FollowUpOut)
def followup_update(request: HttpRequest, followup_id: int, payload: FollowUpPatch) -> Any:
    data = {
        k: v
        for k, v in payload.model_dump(exclude_unset=True).items()
        if v is not None or k == "next_due"
    }
    return services.followup_update(actor=actor_of(request), pk=followup_id, **data)


@followups.delete("/{followup_id}", response={204: None})
def followup_delete(request: HttpRequest, followup_id: int) -> Any:
    services.followup_delete(actor=actor_of(request), pk=followup_id)
    return Status(204, None)


# --- four-eyes change requests -----------------------------------------------------------


@change_requests.get("", response=list[ChangeRequestOut])
@paginate(PagePagination)
def change_request_list(request: HttpRequest) -> Any:
    """Changes waiting for the caller's approval (made by someone else)."""
    return selectors.change_requests_pending(actor=actor_of(request))


@change_requests.post("/{request_id}/approve", response=ChangeRequestOut)
def change_request_approve(request: HttpRequest, request_id: int, payload: DecisionIn) -> Any:
    return services.change_request_approve(
        actor=actor_of(request), pk=request_id, note=payload.note
    )


@change_requests.post("/{request_id}/reject", response=ChangeRequestOut)
def change_request_reject(request: HttpRequest, request_id: int, payload: DecisionIn) -> Any:
    """Reject (an approver) or withdraw (the author) a pending change."""
    result: ChangeRequest = services.change_request_reject(
        actor=actor_of(request), pk=request_id, note=payload.note
    )
    return result
