"""Products, price lists, quotes with versions and discount approval (design.md §3 sales/).

Mounted under /api/v1/sales; the same services as the pages."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router
from ninja.pagination import paginate
from ninja.responses import Status

from groupcrm.core.api_support import PagePagination, actor_of
from groupcrm.org.selectors import units_for
from groupcrm.sales.quotes import selectors, services
from groupcrm.sales.quotes.export import quote_export
from groupcrm.sales.quotes.models import Quote
from groupcrm.sales.quotes.schemas import (
    AcceptIn,
    PriceListIn,
    PriceListOut,
    PriceListPatch,
    ProductIn,
    ProductOut,
    ProductPatch,
    QuoteDetail,
    QuoteIn,
    QuoteOut,
    QuotePatch,
    RejectIn,
    SettingsIn,
    SettingsOut,
    SubmitIn,
)
from groupcrm.sales.quotes.views import pdf_response

router = Router(tags=["quotes"])


# --- products -----------------------------------------------------------------------------


@router.get("/products", response=list[ProductOut])
@paginate(PagePagination)
def product_list(
    request: HttpRequest,
    q: str = "",
    bu_id: int | None = None,
    category: str = "",
    active: str = "",
) -> Any:
    """Products the caller's units quote: their own catalogues and those of the units
    above them. `active`: "1" or "0"."""
    filters = selectors.ProductFilters.from_query(request.GET)
    return selectors.product_list(actor=actor_of(request), filters=filters)


@router.post("/products", response={201: ProductOut})
def product_create(request: HttpRequest, payload: ProductIn) -> Any:
    """Needs `quotes.admin` for the unit; the code is unique in the unit's catalogue."""
    product = services.product_create(actor=actor_of(request), **payload.model_dump())
    return Status(201, product)


@router.get("/products/{product_id}", response=ProductOut)
def product_get(request: HttpRequest, product_id: int) -> Any:
    return selectors.product_get(actor=actor_of(request), pk=product_id)


@router.patch("/products/{product_id}", response=ProductOut)
def product_update(request: HttpRequest, product_id: int, payload: ProductPatch) -> Any:
    data = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    return services.product_update(actor=actor_of(request), pk=product_id, **data)


# --- price lists --------------------------------------------------------------------------


@router.get("/price-lists", response=list[PriceListOut])
@paginate(PagePagination)
def price_list_list(request: HttpRequest, bu_id: int | None = None) -> Any:
    return selectors.price_list_list(actor=actor_of(request), bu_id=bu_id)


@router.post("/price-lists", response={201: PriceListOut})
def price_list_create(request: HttpRequest, payload: PriceListIn) -> Any:
    """Two active price lists of one unit may not be valid on the same day (422
    `price_list_overlap`)."""
    price_list = services.price_list_create(actor=actor_of(request), **payload.model_dump())
    return Status(201, price_list)


@router.get("/price-lists/{price_list_id}", response=PriceListOut)
def price_list_get(request: HttpRequest, price_list_id: int) -> Any:
    return selectors.price_list_get(actor=actor_of(request), pk=price_list_id)


@router.patch("/price-lists/{price_list_id}", response=PriceListOut)
def price_list_update(request: HttpRequest, price_list_id: int, payload: PriceListPatch) -> Any:
    """`items` replaces all the prices; `valid_to: null` opens the end."""
    data = payload.model_dump(exclude_unset=True)
    data = {k: v for k, v in data.items() if v is not None or k == "valid_to"}
    return services.price_list_update(actor=actor_of(request), pk=price_list_id, **data)


# --- quote settings ---------------------------------------------------------------------


def _settings_row(row: dict[str, Any]) -> dict[str, Any]:
    own = row["own"]
    return {
        "bu_id": row["unit"].pk,
        "bu_name": row["unit"].name,
        "discount_threshold": str(own.discount_threshold)
        if own and own.discount_threshold is not None
        else None,
        "number_prefix": own.number_prefix if own else "",
        "effective_threshold": str(row["threshold"]),
        "effective_prefix": row["prefix"],
    }


@router.get("/quote-settings", response=list[SettingsOut])
def quote_settings(request: HttpRequest) -> Any:
    """The units the caller administers, with their own and effective settings."""
    return [_settings_row(row) for row in selectors.settings_overview(actor=actor_of(request))]


@router.put("/quote-settings/{bu_id}", response=SettingsOut)
def quote_settings_set(request: HttpRequest, bu_id: int, payload: SettingsIn) -> Any:
    actor = actor_of(request)
    services.quote_settings_set(actor=actor, bu_id=bu_id, **payload.model_dump())
    unit = units_for(actor=actor, module="quotes", action="admin").get(pk=bu_id)
    row = next(r for r in selectors.settings_overview(actor=actor) if r["unit"].pk == unit.pk)
    return _settings_row(row)


# --- quotes -----------------------------------------------------------------------------


def _detail(request: HttpRequest, pk: int) -> Quote:
    return selectors.quote_get(actor=actor_of(request), pk=pk)


@router.get("/quotes", response=list[QuoteOut])
@paginate(PagePagination)
def quote_list(
    request: HttpRequest,
    status: str = "",
    bu_id: int | None = None,
    owner_id: int | None = None,
    customer_id: int | None = None,
    opportunity_id: int | None = None,
    q: str = "",
    all_versions: bool = False,
    sort: str = "",
) -> Any:
    """Current versions of the quotes the caller may see (`all_versions=true` for older
    ones too). `q`: number or customer name; `sort`: -date, date, -gross, valid, number."""
    filters = selectors.QuoteFilters.from_query(request.GET)
    return selectors.quote_list(actor=actor_of(request), filters=filters).select_related("customer")


@router.get("/quotes/export")
def quote_list_export(request: HttpRequest, format: str = "csv") -> HttpResponse:
    """The filtered quote list (the list's filters) as CSV or XLSX; needs `quotes.export`;
    each export is logged. Another format: 422; too many rows: 422 `too_many_rows`."""
    return quote_export(actor=actor_of(request), fmt=format, query=request.GET)


@router.post("/quotes", response={201: QuoteDetail})
def quote_create(request: HttpRequest, payload: QuoteIn) -> Any:
    """A draft for an opportunity. Lines without `unit_price` take the price of the unit's
    price list valid on the quote date, else the product's list price."""
    data = payload.model_dump(exclude_none=True)
    quote = services.quote_create(actor=actor_of(request), **data)
    return Status(201, _detail(request, quote.pk))


@router.get("/quotes/{quote_id}", response=QuoteDetail)
def quote_get(request: HttpRequest, quote_id: int) -> Any:
    return _detail(request, quote_id)


@router.patch("/quotes/{quote_id}", response=QuoteDetail)
def quote_update(request: HttpRequest, quote_id: int, payload: QuotePatch) -> Any:
    """Only a draft (else 409 `not_editable`: revise it). `lines` replaces all lines."""
    data = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    services.quote_update(actor=actor_of(request), pk=quote_id, **data)
    return _detail(request, quote_id)


@router.delete("/quotes/{quote_id}", response={204: None})
def quote_delete(request: HttpRequest, quote_id: int) -> Any:
    """Only the first draft of a quote."""
    services.quote_delete(actor=actor_of(request), pk=quote_id)
    return Status(204, None)


@router.post("/quotes/{quote_id}/submit", response=QuoteDetail)
def quote_submit(request: HttpRequest, quote_id: int, payload: SubmitIn) -> Any:
    """Above the unit's discount threshold: `pending` with an approval request (kind
    `quotes.discount`); else `approved` at once."""
    services.quote_submit(actor=actor_of(request), pk=quote_id, reason=payload.reason)
    return _detail(request, quote_id)


@router.post("/quotes/{quote_id}/withdraw", response=QuoteDetail)
def quote_withdraw(request: HttpRequest, quote_id: int) -> Any:
    """The requester takes back the approval request: the quote is a draft again."""
    services.quote_withdraw(actor=actor_of(request), pk=quote_id)
    return _detail(request, quote_id)


@router.post("/quotes/{quote_id}/send", response=QuoteDetail)
def quote_send(request: HttpRequest, quote_id: int) -> Any:
    """Only an approved quote (409 `wrong_status` before approval)."""
    services.quote_send(actor=actor_of(request), pk=quote_id)
    return _detail(request, quote_id)


@router.post("/quotes/{quote_id}/accept", response=QuoteDetail)
def quote_accept(request: HttpRequest, quote_id: int, payload: AcceptIn) -> Any:
    """The customer accepted a sent quote; optionally the opportunity's amount becomes
    the quote's gross total (send the opportunity's `version`; stale: 409)."""
    services.quote_accept(actor=actor_of(request), pk=quote_id, **payload.model_dump())
    return _detail(request, quote_id)


@router.post("/quotes/{quote_id}/reject", response=QuoteDetail)
def quote_reject(request: HttpRequest, quote_id: int, payload: RejectIn) -> Any:
    services.quote_reject(actor=actor_of(request), pk=quote_id, reason=payload.reason)
    return _detail(request, quote_id)


@router.post("/quotes/{quote_id}/revise", response={201: QuoteDetail})
def quote_revise(request: HttpRequest, quote_id: int) -> Any:
    """A new draft version (same number, version + 1); the old one becomes read-only."""
    revised = services.quote_revise(actor=actor_of(request), pk=quote_id)
    return Status(201, _detail(request, revised.pk))


@router.get("/quotes/{quote_id}/pdf")
def quote_pdf(request: HttpRequest, quote_id: int) -> HttpResponse:
    """The quote as a PDF in Chinese (A4)."""
    return pdf_response(selectors.quote_get(actor=actor_of(request), pk=quote_id))
