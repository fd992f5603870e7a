"""Quote pages: the list, a quote with its versions and actions, its print view and PDF,
the product catalogue, price lists and the units' quote settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from groupcrm.audit.selectors import object_history
from groupcrm.core.actor import Actor
from groupcrm.core.errors import ValidationError
from groupcrm.core.ui import apply_errors, paginate
from groupcrm.org.models import BusinessUnit
from groupcrm.org.selectors import units_for
from groupcrm.sales.quotes import selectors, services
from groupcrm.sales.quotes.export import quote_export
from groupcrm.sales.quotes.forms import (
    BLANK_ROWS,
    ITEM_FIELDS,
    LINE_FIELDS,
    UNITS_OF_MEASURE,
    AcceptForm,
    PriceListForm,
    ProductForm,
    QuoteForm,
    Row,
    SettingsForm,
    row_errors,
    row_payload,
    rows_from,
)
from groupcrm.sales.quotes.models import PriceList, Product, Quote
from groupcrm.sales.quotes.money import amount_in_words
from groupcrm.sales.quotes.pdf import group_name, quote_pdf
from groupcrm.sales.selectors import opportunity_get, query_int


def _blank(rows: list[Row], names: tuple[str, ...], extra: int = BLANK_ROWS) -> list[Row]:
    start = len(rows)
    return rows + [Row(index=start + n, values=dict.fromkeys(names, "")) for n in range(extra)]


def _catalogue(unit: BusinessUnit, day: Any) -> list[dict[str, Any]]:
    """The unit's products with today's price, for the line pickers."""
    products = list(selectors.catalogue_for(unit).select_related("bu"))
    prices = selectors.reference_prices(unit, products, day)
    return [
        {"product": p, "price": prices[p.pk][0], "price_list": prices[p.pk][1]} for p in products
    ]


# --- quotes -----------------------------------------------------------------------------


@login_required
def quote_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    filters = selectors.QuoteFilters.from_query(request.GET)
    page = paginate(request, selectors.quote_list(actor=actor, filters=filters))
    return render(
        request,
        "quotes/list.html",
        {
            "page": page,
            "filters": filters,
            "statuses": Quote.Status.choices,
            "units": units_for(actor=actor, module="quotes", action="view"),
            "sorts": [
                ("-date", _("Newest first")),
                ("date", _("Oldest first")),
                ("-gross", _("Total, largest first")),
                ("valid", _("Valid until")),
                ("number", _("Number")),
            ],
            "can_export": actor.can("quotes", "export"),
        },
    )


@login_required
def quote_list_export(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    return quote_export(actor=request.actor, fmt=fmt, query=request.GET)


def _quote_form_page(
    request: HttpRequest,
    *,
    actor: Actor,
    unit: BusinessUnit,
    day: Any,
    initial: dict[str, Any],
    lines: list[Row],
    save: Callable[[dict[str, Any], list[dict[str, Any]]], Quote],
    title: str,
    back: str,
    context: dict[str, Any],
) -> HttpResponse:
    """The quote form (header and lines) for create and edit."""
    form = QuoteForm(request.POST or None, initial=initial)
    line_messages: list[str] = []
    if request.method == "POST":
        lines = rows_from(request.POST, "lines", LINE_FIELDS)
        if form.is_valid():
            try:
                quote = save(form.cleaned_data, row_payload(lines))
            except ValidationError as exc:
                line_messages = row_errors(lines, "lines", exc.fields)
                header = {k: v for k, v in exc.fields.items() if not k.startswith("lines")}
                if header:
                    apply_errors(form, ValidationError(header))
            else:
                messages.success(request, _("Quote saved."))
                return redirect("quotes:detail", quote.pk)
    return render(
        request,
        "quotes/form.html",
        {
            "form": form,
            "rows": _blank(lines, LINE_FIELDS),
            "line_messages": line_messages,
            "catalogue": _catalogue(unit, day),
            "threshold": selectors.threshold_for(unit),
            "title": title,
            "back": back,
            **context,
        },
    )


def _header(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "valid_until": data["valid_until"],
        "discount_percent": data["discount_percent"] or 0,
        "terms": data["terms"],
        "notes": data["notes"],
    }


@login_required
def quote_create(request: HttpRequest) -> HttpResponse:
    """A new quote for the opportunity in ``?opportunity=`` (or the form's field)."""
    actor = request.actor
    actor.require("quotes", "create")
    raw = request.GET.get("opportunity", "")
    opportunity = opportunity_get(actor=actor, pk=int(raw)) if raw.isdecimal() else None
    if opportunity is None:
        messages.info(request, _("Open an opportunity and create its quote there."))
        return redirect("sales:list")
    today = timezone.localdate()

    def save(data: dict[str, Any], lines: list[dict[str, Any]]) -> Quote:
        header = _header(data)
        header["valid_until"] = header["valid_until"] or None
        return services.quote_create(
            actor=actor, opportunity_id=opportunity.pk, lines=lines, **header
        )

    return _quote_form_page(
        request,
        actor=actor,
        unit=opportunity.bu,
        day=today,
        initial={"discount_percent": "0"},
        lines=[],
        save=save,
        title=_("New quote for %(name)s") % {"name": opportunity.name},
        back=reverse("sales:detail", args=[opportunity.pk]),
        context={"opportunity": opportunity},
    )


@login_required
def quote_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    quote = selectors.quote_get(actor=actor, pk=pk, action="change")
    if not quote.is_editable:
        messages.error(
            request, _("Only a draft can be edited: revise the quote to make a new version.")
        )
        return redirect("quotes:detail", pk)
    lines = [
        Row(
            index=n,
            values={
                "product_id": str(ln.product_id),
                "description": ln.description,
                "quantity": f"{ln.quantity.normalize():f}",
                "unit_price": str(ln.unit_price),
                "discount_percent": f"{ln.discount_percent.normalize():f}",
                "tax_rate": f"{ln.tax_rate.normalize():f}",
            },
        )
        for n, ln in enumerate(selectors.quote_lines(quote))
    ]

    def save(data: dict[str, Any], rows: list[dict[str, Any]]) -> Quote:
        header = _header(data)
        if header["valid_until"] is None:
            header.pop("valid_until")
        return services.quote_update(actor=actor, pk=pk, lines=rows, **header)

    return _quote_form_page(
        request,
        actor=actor,
        unit=quote.bu,
        day=quote.quote_date,
        initial={
            "valid_until": quote.valid_until,
            "discount_percent": f"{quote.discount_percent.normalize():f}",
            "terms": quote.terms,
            "notes": quote.notes,
        },
        lines=lines,
        save=save,
        title=_("Edit quote %(label)s") % {"label": quote.label},
        back=reverse("quotes:detail", args=[pk]),
        context={"opportunity": quote.opportunity, "quote": quote},
    )


@login_required
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    quote = selectors.quote_get(actor=actor, pk=pk)
    can_change = Quote.objects.visible_to(actor, "change").filter(pk=pk).exists()
    threshold = selectors.threshold_for(quote.bu)
    return render(
        request,
        "quotes/detail.html",
        {
            "q": quote,
            "lines": selectors.quote_lines(quote),
            "versions": selectors.quote_versions(actor=actor, quote=quote),
            "threshold": threshold,
            "needs_approval": quote.max_discount > threshold,
            "can_change": can_change,
            "can_revise": can_change and actor.can("quotes", "create") and quote.can_revise,
            "can_delete": quote.status == Quote.Status.DRAFT
            and quote.version == 1
            and Quote.objects.visible_to(actor, "delete").filter(pk=pk).exists(),
            "in_words": amount_in_words(quote.gross_total),
            "history": paginate(request, object_history(obj=quote)),
            "S": Quote.Status,
        },
    )


def _run(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    actor = request.actor
    if action == "submit":
        quote = services.quote_submit(actor=actor, pk=pk, reason=request.POST.get("reason", ""))
        message = (
            _("Submitted: the discount waits for approval.")
            if quote.status == Quote.Status.PENDING
            else _("Submitted and approved: the discount is within the unit's threshold.")
        )
    elif action == "withdraw":
        quote = services.quote_withdraw(actor=actor, pk=pk)
        message = _("The approval request was withdrawn; the quote is a draft again.")
    elif action == "send":
        quote = services.quote_send(actor=actor, pk=pk)
        message = _("Marked as sent to the customer.")
    elif action == "accept":
        form = AcceptForm(request.POST)
        form.is_valid()
        quote = services.quote_accept(
            actor=actor,
            pk=pk,
            update_opportunity=form.cleaned_data.get("update_opportunity") or False,
            opportunity_version=form.cleaned_data.get("opportunity_version"),
        )
        message = _("The customer accepted the quote.")
    elif action == "reject":
        quote = services.quote_reject(actor=actor, pk=pk, reason=request.POST.get("reason", ""))
        message = _("The customer rejected the quote.")
    else:  # revise
        quote = services.quote_revise(actor=actor, pk=pk)
        message = _("Version %(version)d created as a draft.") % {"version": quote.version}
        messages.success(request, message)
        return redirect("quotes:edit", quote.pk)
    messages.success(request, message)
    return redirect("quotes:detail", quote.pk)


def _action_view(action: str) -> Callable[[HttpRequest, int], HttpResponse]:
    @login_required
    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        return _run(request, pk, action)

    view.__name__ = f"quote_{action}"
    return view


quote_submit = _action_view("submit")
quote_withdraw = _action_view("withdraw")
quote_send = _action_view("send")
quote_accept = _action_view("accept")
quote_reject = _action_view("reject")
quote_revise = _action_view("revise")


@login_required
@require_POST
def quote_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.quote_delete(actor=request.actor, pk=pk)
    messages.success(request, _("Quote deleted."))
    return redirect("quotes:list")


@login_required
def quote_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The quote on one A4 page for the browser's print dialogue."""
    quote = selectors.quote_get(actor=request.actor, pk=pk)
    # In Chinese whatever the reader's language, as the PDF: it goes to the customer.
    with translation.override("zh-hans"):
        return render(
            request,
            "quotes/print.html",
            {
                "q": quote,
                "lines": selectors.quote_lines(quote),
                "group_name": group_name(quote.bu),
                "in_words": amount_in_words(quote.gross_total),
            },
        )


@login_required
def quote_download(request: HttpRequest, pk: int) -> HttpResponse:
    quote = selectors.quote_get(actor=request.actor, pk=pk)
    return pdf_response(quote)


def pdf_response(quote: Quote) -> HttpResponse:
    response = HttpResponse(
        quote_pdf(quote, selectors.quote_lines(quote)), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="{quote.number}-v{quote.version}.pdf"'
    return response


# --- products -----------------------------------------------------------------------------


@login_required
def product_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    filters = selectors.ProductFilters.from_query(request.GET)
    page = paginate(request, selectors.product_list(actor=actor, filters=filters))
    admin_units = set(
        units_for(actor=actor, module="quotes", action="admin").values_list("pk", flat=True)
    )
    return render(
        request,
        "quotes/products.html",
        {
            "page": page,
            "filters": filters,
            "categories": selectors.categories(actor=actor),
            "units": units_for(actor=actor, module="quotes", action="view"),
            "admin_units": admin_units,
            "can_admin": bool(admin_units),
        },
    )


def _admin_units(actor: Actor) -> list[BusinessUnit]:
    actor.require("quotes", "admin")
    return list(units_for(actor=actor, module="quotes", action="admin"))


def _form_page(request: HttpRequest, form: Any, *, title: str, back: str) -> HttpResponse:
    return render(
        request,
        "quotes/product_form.html",
        {"form": form, "title": title, "back": back, "units_of_measure": UNITS_OF_MEASURE},
    )


@login_required
def product_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    units = _admin_units(actor)
    form = ProductForm(
        request.POST or None,
        units=units,
        initial={"bu_id": actor.bu.pk if actor.bu else None, "is_active": True},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.product_create(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Product created."))
            return redirect("quotes:products")
    return _form_page(request, form, title=_("New product"), back=reverse("quotes:products"))


@login_required
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    product = selectors.product_get(actor=actor, pk=pk, action="admin")
    form = ProductForm(
        request.POST or None,
        units=[],
        editing=True,
        initial={
            "code": product.code,
            "name": product.name,
            "unit_of_measure": product.unit_of_measure,
            "category": product.category,
            "description": product.description,
            "list_price": product.list_price,
            "tax_rate": f"{product.tax_rate.normalize():f}",
            "is_active": product.is_active,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.product_update(actor=actor, pk=pk, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Product saved."))
            return redirect("quotes:products")
    return _form_page(
        request,
        form,
        title=_("Edit %(name)s") % {"name": product.name},
        back=reverse("quotes:products"),
    )


# --- price lists --------------------------------------------------------------------------


@login_required
def price_list_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    bu_id = query_int(request.GET.get("bu_id"))
    items = selectors.price_list_list(actor=actor, bu_id=bu_id)
    admin_units = set(
        units_for(actor=actor, module="quotes", action="admin").values_list("pk", flat=True)
    )
    return render(
        request,
        "quotes/price_lists.html",
        {
            "page": paginate(request, items),
            "units": units_for(actor=actor, module="quotes", action="view"),
            "bu_id": bu_id,
            "admin_units": admin_units,
            "today": timezone.localdate(),
        },
    )


def _price_list_page(
    request: HttpRequest,
    *,
    form: PriceListForm,
    unit: BusinessUnit | None,
    items: list[Row],
    save: Callable[[dict[str, Any], list[dict[str, Any]]], PriceList],
    title: str,
    units: list[BusinessUnit],
) -> HttpResponse:
    item_messages: list[str] = []
    if request.method == "POST":
        items = rows_from(request.POST, "items", ITEM_FIELDS)
        if form.is_valid():
            try:
                save(form.cleaned_data, row_payload(items))
            except ValidationError as exc:
                item_messages = row_errors(items, "items", exc.fields)
                header = {k: v for k, v in exc.fields.items() if not k.startswith("items")}
                if header:
                    apply_errors(form, ValidationError(header, message=str(exc.message)))
            else:
                messages.success(request, _("Price list saved."))
                return redirect("quotes:price_lists")
    # The products the list's unit may price: its catalogue (inherited ones included).
    ancestors = {i for u in ([unit] if unit else units) for i in u.ancestor_ids()}
    products = list(
        Product.objects.filter(bu_id__in=ancestors, is_active=True)
        .select_related("bu")
        .order_by("bu__path", "code")
    )
    return render(
        request,
        "quotes/price_list_form.html",
        {
            "form": form,
            "rows": _blank(items, ITEM_FIELDS, 5),
            "item_messages": item_messages,
            "products": products,
            "title": title,
            "back": reverse("quotes:price_lists"),
        },
    )


@login_required
def price_list_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    units = _admin_units(actor)
    form = PriceListForm(
        request.POST or None,
        units=units,
        initial={"bu_id": actor.bu.pk if actor.bu else None, "is_active": True},
    )

    def save(data: dict[str, Any], items: list[dict[str, Any]]) -> PriceList:
        return services.price_list_create(actor=actor, items=items, **data)

    return _price_list_page(
        request,
        form=form,
        unit=None,
        items=[],
        save=save,
        title=_("New price list"),
        units=units,
    )


@login_required
def price_list_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    price_list = selectors.price_list_get(actor=actor, pk=pk, action="admin")
    form = PriceListForm(
        request.POST or None,
        units=[],
        editing=True,
        initial={
            "name": price_list.name,
            "valid_from": price_list.valid_from,
            "valid_to": price_list.valid_to,
            "is_active": price_list.is_active,
        },
    )
    items = [
        Row(index=n, values={"product_id": str(i.product_id), "unit_price": str(i.unit_price)})
        for n, i in enumerate(selectors.price_list_items(price_list))
    ]

    def save(data: dict[str, Any], rows: list[dict[str, Any]]) -> PriceList:
        return services.price_list_update(actor=actor, pk=pk, items=rows, **data)

    return _price_list_page(
        request,
        form=form,
        unit=price_list.bu,
        items=items,
        save=save,
        title=_("Edit %(name)s") % {"name": price_list.name},
        units=[price_list.bu],
    )


# --- settings -----------------------------------------------------------------------------


@login_required
def quote_settings(request: HttpRequest) -> HttpResponse:
    """Each administered unit's discount threshold and number prefix (empty: inherited)."""
    actor = request.actor
    form = SettingsForm(request.POST or None)
    errors: dict[int, list[str]] = {}
    if request.method == "POST" and form.is_valid():
        try:
            services.quote_settings_set(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            errors[form.cleaned_data["bu_id"]] = [m for ms in exc.fields.values() for m in ms]
        else:
            messages.success(request, _("Settings saved."))
            return redirect("quotes:settings")
    rows = selectors.settings_overview(actor=actor)
    for row in rows:
        row["errors"] = errors.get(row["unit"].pk, [])
    return render(
        request,
        "quotes/settings.html",
        {"rows": rows, "default_threshold": selectors.DEFAULT_DISCOUNT_THRESHOLD},
    )
