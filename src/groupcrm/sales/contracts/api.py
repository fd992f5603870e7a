"""Contracts from won opportunities, payment plans, payments, receivables; sales expenses
(design.md §3 sales/). Mounted under /api/v1/sales."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from groupcrm.core.api_support import PagePagination, actor_of
from groupcrm.customers.selectors import customer_get
from groupcrm.sales.contracts import expenses, selectors, services
from groupcrm.sales.contracts.export import contract_export, receivables_export
from groupcrm.sales.contracts.schemas import (
    ContractDetail,
    ContractIn,
    ContractOut,
    ContractPatch,
    ExpenseIn,
    ExpenseOut,
    ExpensePatch,
    InstalmentOut,
    PaymentIn,
    PaymentOut,
    PlanIn,
    ReceivablesOut,
    SubmitIn,
)

router = Router(tags=["contracts"])


def _contract(request: HttpRequest, pk: int) -> Any:
    return selectors.contract_get(actor=actor_of(request), pk=pk)


@router.get("/contracts", response=list[ContractOut])
@paginate(PagePagination)
def contract_list(
    request: HttpRequest,
    status: str = "",
    bu_id: int | None = None,
    owner_id: int | None = None,
    customer_id: int | None = None,
    opportunity_id: int | None = None,
    q: str = "",
) -> Any:
    """Contracts the caller may see. `q` searches the number, title and customer; `bu_id`
    includes the units below it."""
    actor = actor_of(request)
    actor.require("contracts", "view")
    return selectors.contract_list(
        actor=actor, filters=selectors.ContractFilters.from_query(request.GET)
    )


@router.get("/contracts/export")
def contract_list_export(request: HttpRequest, format: str = "csv") -> HttpResponse:
    """The filtered contract list (the list's filters) as CSV or XLSX; needs
    `contracts.export`; each export is logged. Another format: 422; more rows than a
    download carries: 422 `too_many_rows`."""
    return contract_export(actor=actor_of(request), fmt=format, query=request.GET)


@router.post("/contracts", response={201: ContractDetail})
def contract_create(request: HttpRequest, payload: ContractIn) -> Any:
    """A draft contract from a won opportunity (422 `not_won` otherwise; 409
    `contract_exists` when it already has one that is not cancelled)."""
    data = payload.model_dump(exclude_none=True)
    contract = services.contract_create(actor=actor_of(request), **data)
    return Status(201, _contract(request, contract.pk))


@router.get("/contracts/{contract_id}", response=ContractDetail)
def contract_get(request: HttpRequest, contract_id: int) -> Any:
    return _contract(request, contract_id)


@router.patch("/contracts/{contract_id}", response=ContractDetail)
def contract_update(request: HttpRequest, contract_id: int, payload: ContractPatch) -> Any:
    """Change details; `status` moves a draft to `active` or cancels one without
    payments. Dates may be cleared with null."""
    data = payload.model_dump(exclude_unset=True)
    data = {k: v for k, v in data.items() if v is not None or k.endswith("_on")}
    services.contract_update(actor=actor_of(request), pk=contract_id, **data)
    return _contract(request, contract_id)


@router.get("/contracts/{contract_id}/instalments", response=list[InstalmentOut])
def instalment_list(request: HttpRequest, contract_id: int) -> Any:
    return selectors.instalments_of(_contract(request, contract_id))


@router.put("/contracts/{contract_id}/instalments", response=list[InstalmentOut])
def plan_set(request: HttpRequest, contract_id: int, payload: PlanIn) -> Any:
    """Replace the payment plan: the instalments must add up to exactly the contract
    amount (422 `invalid_plan`). Keep instalments with payments by `id`; their amount
    cannot drop below what was received."""
    services.plan_set(
        actor=actor_of(request),
        pk=contract_id,
        instalments=[row.model_dump() for row in payload.instalments],
    )
    return selectors.instalments_of(_contract(request, contract_id))


@router.get("/contracts/{contract_id}/payments", response=list[PaymentOut])
def payment_list(request: HttpRequest, contract_id: int) -> Any:
    return selectors.payments_of(_contract(request, contract_id))


@router.post("/contracts/{contract_id}/payments", response={201: PaymentOut})
def payment_record(request: HttpRequest, contract_id: int, payload: PaymentIn) -> Any:
    """Record a payment on an instalment of an active contract. More than is outstanding
    on the instalment or the contract: 422 `exceeds_instalment` / `exceeds_contract`."""
    payment = services.payment_record(
        actor=actor_of(request), pk=contract_id, **payload.model_dump()
    )
    return Status(201, payment)


class ReceivableQuery(Schema):
    customer_id: int | None = None
    include_group: bool = True
    bu_id: int | None = None
    overdue: bool = False
    page: int = 1
    page_size: int = 50


@router.get("/receivables", response=ReceivablesOut)
def receivables(request: HttpRequest, query: Query[ReceivableQuery]) -> Any:
    """Contracted, received, outstanding and overdue amounts and their aging, over the
    contracts the caller may see. With `customer_id`: that company and (unless
    `include_group=false`) the companies below it; `customer` and `group` then give
    both figures."""
    actor = actor_of(request)
    actor.require("contracts", "view")
    filters = selectors.ReceivableFilters(
        overdue=query.overdue,
        bu_id=query.bu_id,
        customer_id=query.customer_id,
        include_group=query.include_group,
    )
    items = selectors.receivable_contracts(actor=actor, filters=filters)
    scoped = selectors.receivable_scope(actor=actor, filters=filters)
    out: dict[str, Any] = {
        "totals": selectors.figures(scoped).as_json(),
        "aging": [{**row, "amount": f"{row['amount']:.2f}"} for row in selectors.aging(scoped)],
        "count": items.count(),
    }
    if query.customer_id:
        found = selectors.customer_receivables(
            actor=actor, customer=customer_get(actor=actor, pk=query.customer_id)
        )
        out["customer"] = found["customer"].as_json()
        out["group"] = found["group"].as_json()
    size = max(1, min(query.page_size, 200))
    start = (max(1, query.page) - 1) * size
    out["items"] = list(items[start : start + size])
    return out


@router.get("/receivables/export")
def receivables_list_export(request: HttpRequest, format: str = "csv") -> HttpResponse:
    """The receivables list as CSV or XLSX: `bu_id`, `customer_id`, `include_group`,
    `overdue=true` (overdue only) as on the list; needs `contracts.export`; logged."""
    return receivables_export(actor=actor_of(request), fmt=format, query=request.GET)


@router.get("/expenses", response=list[ExpenseOut])
@paginate(PagePagination)
def expense_list(
    request: HttpRequest,
    status: str = "",
    kind: str = "",
    bu_id: int | None = None,
    owner_id: int | None = None,
    opportunity_id: int | None = None,
) -> Any:
    actor = actor_of(request)
    actor.require("expenses", "view")
    return selectors.expense_list(
        actor=actor, filters=selectors.ExpenseFilters.from_query(request.GET)
    )


@router.post("/expenses", response={201: ExpenseOut})
def expense_create(request: HttpRequest, payload: ExpenseIn) -> Any:
    data = payload.model_dump(exclude_none=True)
    return Status(201, expenses.expense_create(actor=actor_of(request), **data))


@router.get("/expenses/{expense_id}", response=ExpenseOut)
def expense_get(request: HttpRequest, expense_id: int) -> Any:
    return selectors.expense_get(actor=actor_of(request), pk=expense_id)


@router.patch("/expenses/{expense_id}", response=ExpenseOut)
def expense_update(request: HttpRequest, expense_id: int, payload: ExpensePatch) -> Any:
    """Drafts and rejected expenses only (a rejected one goes back to draft)."""
    data = payload.model_dump(exclude_unset=True, exclude_none=True)
    return expenses.expense_update(actor=actor_of(request), pk=expense_id, **data)


@router.post("/expenses/{expense_id}/submit", response=ExpenseOut)
def expense_submit(request: HttpRequest, expense_id: int, payload: SubmitIn) -> Any:
    """Ask for approval (kind `expenses.claim`); someone else in the unit decides."""
    return expenses.expense_submit(actor=actor_of(request), pk=expense_id, **payload.model_dump())
