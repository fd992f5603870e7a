"""Reads on quotes: the catalogue a unit sees, the price on a date, a unit's settings,
quote lists and pages, and the quotes card of the customer's 360° view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.http import QueryDict

from groupcrm.core.actor import Actor
from groupcrm.core.scoping import scoped_get
from groupcrm.customers.models import Customer
from groupcrm.customers.selectors import register_panel
from groupcrm.org.models import BusinessUnit
from groupcrm.org.selectors import unit_path
from groupcrm.sales.models import Opportunity
from groupcrm.sales.quotes.models import (
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteSettings,
)
from groupcrm.sales.selectors import query_int

# The group-wide default when no unit up the tree sets a threshold.
DEFAULT_DISCOUNT_THRESHOLD = Decimal(str(getattr(settings, "QUOTES_DISCOUNT_THRESHOLD", "15")))
PANEL_QUOTES = 5


# --- the catalogue -----------------------------------------------------------------------


def catalogue_for(unit: BusinessUnit) -> QuerySet[Product]:
    """The products a unit quotes: its own and its ancestors' (active ones)."""
    return Product.objects.filter(bu_id__in=unit.ancestor_ids(), is_active=True).order_by(
        "bu__path", "code"
    )


@dataclass
class ProductFilters:
    q: str = ""
    bu_id: int | None = None
    category: str = ""
    active: str = ""  # "", "1", "0"

    @classmethod
    def from_query(cls, query: QueryDict) -> ProductFilters:
        return cls(
            q=query.get("q", "").strip(),
            bu_id=query_int(query.get("bu_id")),
            category=query.get("category", "").strip(),
            active=query.get("active", ""),
        )


def product_list(*, actor: Actor, filters: ProductFilters | None = None) -> QuerySet[Product]:
    """Products the actor sees: their units' catalogues, inherited ones included."""
    actor.require("quotes", "view")
    f = filters or ProductFilters()
    items = Product.objects.visible_to(actor, "view").select_related("bu")
    if f.q:
        items = items.filter(Q(code__icontains=f.q) | Q(name__icontains=f.q))
    if f.bu_id:
        items = items.filter(bu_id=f.bu_id)
    if f.category:
        items = items.filter(category=f.category)
    if f.active in ("0", "1"):
        items = items.filter(is_active=f.active == "1")
    return items.order_by("bu__path", "code")


def product_get(*, actor: Actor, pk: int, action: str = "view") -> Product:
    return scoped_get(Product, actor=actor, pk=pk, action=action)


def categories(*, actor: Actor) -> list[str]:
    return sorted(
        set(
            Product.objects.visible_to(actor, "view")
            .exclude(category="")
            .values_list("category", flat=True)
        )
    )


def price_list_list(*, actor: Actor, bu_id: int | None = None) -> QuerySet[PriceList]:
    actor.require("quotes", "view")
    items = (
        PriceList.objects.visible_to(actor, "view")
        .select_related("bu")
        .annotate(item_count=Count("items"))
    )
    if bu_id:
        items = items.filter(bu_id=bu_id)
    return items.order_by("bu__path", "-valid_from", "pk")


def price_list_get(*, actor: Actor, pk: int, action: str = "view") -> PriceList:
    return scoped_get(PriceList, actor=actor, pk=pk, action=action)


def price_list_items(price_list: PriceList) -> QuerySet[PriceListItem]:
    return price_list.items.select_related("product").order_by("product__code")


def valid_on(day: dt.date) -> Q:
    return Q(is_active=True, valid_from__lte=day) & (
        Q(valid_to__isnull=True) | Q(valid_to__gte=day)
    )


def reference_prices(unit: BusinessUnit, products: list[Product], day: dt.date) -> dict[int, Any]:
    """Each product's price on ``day`` for ``unit``: from the active price list valid that
    day of the unit, else of its nearest ancestor listing the product; else its list
    price. Returns ``{product id: (price, price list or None)}``."""
    chain = list(reversed(unit.ancestor_ids()))  # the unit first, the group last
    items = (
        PriceListItem.objects.filter(
            product_id__in=[p.pk for p in products],
            price_list__bu_id__in=chain,
            price_list__in=PriceList.objects.filter(valid_on(day)),
        )
        .select_related("price_list")
        .order_by("pk")
    )
    found: dict[int, dict[int, PriceListItem]] = {}
    for item in items:
        found.setdefault(item.product_id, {})[item.price_list.bu_id] = item
    out: dict[int, Any] = {}
    for product in products:
        by_unit = found.get(product.pk, {})
        item = next((by_unit[u] for u in chain if u in by_unit), None)
        out[product.pk] = (item.unit_price, item.price_list) if item else (product.list_price, None)
    return out


# --- a unit's settings -----------------------------------------------------------------


def _settings_chain(unit: BusinessUnit) -> list[QuoteSettings]:
    """The settings rows from the unit up to the group, nearest first."""
    ids = unit.ancestor_ids()
    rows = {s.bu_id: s for s in QuoteSettings.objects.filter(bu_id__in=ids)}
    return [rows[i] for i in reversed(ids) if i in rows]


def threshold_for(unit: BusinessUnit) -> Decimal:
    """The unit's discount approval threshold, else its nearest ancestor's, else the
    group default."""
    return next(
        (s.discount_threshold for s in _settings_chain(unit) if s.discount_threshold is not None),
        DEFAULT_DISCOUNT_THRESHOLD,
    )


def prefix_for(unit: BusinessUnit) -> str:
    """The quote number prefix: the unit's, else its nearest ancestor's, else its code."""
    return next(
        (s.number_prefix for s in _settings_chain(unit) if s.number_prefix),
        unit.code.upper()[:10],
    )


def settings_overview(*, actor: Actor) -> list[dict[str, Any]]:
    """The units the actor administers with their own and effective settings."""
    from groupcrm.org.selectors import units_for

    actor.require("quotes", "admin")
    units = list(units_for(actor=actor, module="quotes", action="admin"))
    own = {s.bu_id: s for s in QuoteSettings.objects.filter(bu__in=units)}
    return [
        {
            "unit": unit,
            "own": own.get(unit.pk),
            "threshold": threshold_for(unit),
            "prefix": prefix_for(unit),
        }
        for unit in units
    ]


# --- quotes -----------------------------------------------------------------------------

SORTS = {
    "-date": ("-quote_date", "-pk"),
    "date": ("quote_date", "pk"),
    "-gross": ("-gross_total", "-pk"),
    "number": ("number", "version"),
    "valid": ("valid_until", "pk"),
}


@dataclass
class QuoteFilters:
    status: str = ""
    bu_id: int | None = None
    owner_id: int | None = None
    customer_id: int | None = None
    opportunity_id: int | None = None
    q: str = ""  # number or customer name
    all_versions: bool = False
    sort: str = ""

    @classmethod
    def from_query(cls, query: QueryDict) -> QuoteFilters:
        return cls(
            status=query.get("status", ""),
            bu_id=query_int(query.get("bu_id")),
            owner_id=query_int(query.get("owner_id")),
            customer_id=query_int(query.get("customer_id")),
            opportunity_id=query_int(query.get("opportunity_id")),
            q=query.get("q", "").strip(),
            all_versions=query.get("all_versions") in ("1", "true"),
            sort=query.get("sort", ""),
        )


def quote_list(*, actor: Actor, filters: QuoteFilters | None = None) -> QuerySet[Quote]:
    """Quotes the actor may see; only each number's current version unless asked."""
    actor.require("quotes", "view")
    f = filters or QuoteFilters()
    items = Quote.objects.visible_to(actor, "view").select_related(
        "customer", "bu", "owner", "opportunity"
    )
    if f.status in Quote.Status.values:
        items = items.filter(status=f.status)
    elif not f.all_versions:
        items = items.exclude(status=Quote.Status.SUPERSEDED)
    if f.bu_id:
        items = items.filter(bu__path__startswith=unit_path(f.bu_id))
    if f.owner_id:
        items = items.filter(owner_id=f.owner_id)
    if f.customer_id:
        items = items.filter(customer_id=f.customer_id)
    if f.opportunity_id:
        items = items.filter(opportunity_id=f.opportunity_id)
    if f.q:
        items = items.filter(Q(number__icontains=f.q) | Q(customer__legal_name__icontains=f.q))
    return items.order_by(*SORTS.get(f.sort, SORTS["-date"]))


def quote_get(*, actor: Actor, pk: int, action: str = "view") -> Quote:
    return scoped_get(Quote, actor=actor, pk=pk, action=action)


def quote_lines(quote: Quote) -> list[Any]:
    return list(quote.lines.select_related("product").order_by("position"))


def quote_versions(*, actor: Actor, quote: Quote) -> list[Quote]:
    """Every version of the quote's number the actor may see, newest first."""
    return list(
        Quote.objects.visible_to(actor, "view")
        .filter(number=quote.number)
        .order_by("-version")
        .select_related("owner")
    )


def opportunity_quotes(*, actor: Actor, opportunity: Opportunity) -> list[Quote]:
    """The opportunity's quotes (current versions) for its detail page."""
    if not actor.can("quotes", "view"):
        return []
    return list(
        quote_list(actor=actor, filters=QuoteFilters(opportunity_id=opportunity.pk)).order_by(
            "-created_at", "-pk"
        )
    )


def _customer_panel(actor: Actor, customer: Customer) -> dict[str, Any] | None:
    if not actor.can("quotes", "view"):
        return None
    items = quote_list(actor=actor, filters=QuoteFilters(customer_id=customer.pk))
    return {"quotes": list(items[:PANEL_QUOTES]), "count": items.count(), "customer": customer}


register_panel("quotes", "quotes/_customer_panel.html", _customer_panel)
