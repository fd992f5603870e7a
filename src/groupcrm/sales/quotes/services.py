"""Writes on products, price lists, quote settings and quotes (design.md §4).

A quote moves draft → pending approval → approved → sent → accepted / rejected / expired.
Submitting asks for approval (kind ``quotes.discount``, through groupcrm.approvals) when
its highest discount exceeds the unit's threshold, else approves it at once. Only a
draft is edited; an approved, sent, rejected or expired quote is revised into a new
draft version and the old one becomes read-only ("superseded"). Every status change is a
conditional UPDATE on the status read, so of two concurrent moves exactly one wins.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.approvals import services as approval_services
from groupcrm.approvals.models import ApprovalRequest
from groupcrm.audit.services import audit_action, audit_create, audit_delete, audit_update, snapshot
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, ValidationError
from groupcrm.core.events import publish
from groupcrm.core.scoping import ensure_in_scope, scoped_get
from groupcrm.org.models import BusinessUnit
from groupcrm.org.selectors import units_for
from groupcrm.sales import services as sales_services
from groupcrm.sales.models import Opportunity
from groupcrm.sales.quotes import money, selectors
from groupcrm.sales.quotes.models import (
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteLine,
    QuoteSequence,
    QuoteSettings,
)

APPROVAL_KIND = "quotes.discount"
SUBJECT_TYPE = "quotes.quote"
MAX_PRICE = Decimal("999999999999.99")  # 14 digits with 2 decimals
MAX_QUANTITY = Decimal("9999999999.99")
MAX_LINES = 200
DEFAULT_VALIDITY_DAYS = 30
PRODUCT_TEXT = {"code": 40, "name": 120, "unit_of_measure": 10, "category": 60}
Status = Quote.Status


# --- parsing ------------------------------------------------------------------------------


def parse_decimal(
    value: Any,
    errors: dict[str, Any],
    field: str,
    *,
    maximum: Decimal,
    positive: bool = False,
    required: bool = True,
    message: str = "",
) -> Decimal | None:
    """A finite decimal with at most two decimals within [0, maximum] (or above 0)."""
    if value is None or value == "" or isinstance(value, bool):
        if required:
            errors[field] = _("This field is required.")
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        number = Decimal("NaN")
    # Bounds first: quantizing a huge number (1e999) raises InvalidOperation.
    if (
        not number.is_finite()
        or number < 0
        or (positive and number == 0)
        or number > maximum
        or number != number.quantize(money.CENT)
    ):
        errors[field] = message or _("Enter a number.")
        return None
    return number.quantize(money.CENT)


def _percent(value: Any, errors: dict[str, Any], field: str, *, required: bool = True) -> Any:
    return parse_decimal(
        value,
        errors,
        field,
        maximum=Decimal(100),
        required=required,
        message=_("Enter a percentage from 0 to 100 with at most 2 decimals."),
    )


def _price(value: Any, errors: dict[str, Any], field: str, *, required: bool = True) -> Any:
    return parse_decimal(
        value,
        errors,
        field,
        maximum=MAX_PRICE,
        required=required,
        message=_("Enter a price in CNY that is not negative, e.g. 1280.00."),
    )


def _text(data: dict[str, Any], out: dict[str, Any], errors: dict[str, Any], limits: dict) -> None:
    for name, limit in limits.items():
        if name in data:
            value = data[name]
            if value is not None and not isinstance(value, str):
                errors[name] = _("Enter text.")
                continue
            out[name] = (value or "").strip()
            if len(out[name]) > limit:
                errors[name] = _("At most %(limit)d characters.") % {"limit": limit}


def _admin_unit(actor: Actor, bu_id: Any) -> BusinessUnit:
    actor.require("quotes", "admin")
    unit_id = bu_id or (actor.bu.pk if actor.bu else None)
    units = units_for(actor=actor, module="quotes", action="admin")
    unit = units.filter(pk=unit_id).first() if isinstance(unit_id, int) else None
    if unit is None:
        raise ValidationError({"bu_id": _("Choose a business unit whose catalogue you manage.")})
    return unit


# --- products ---------------------------------------------------------------------------


def _clean_product(data: dict[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _text(data, out, errors, PRODUCT_TEXT)
    if "description" in data:
        out["description"] = (data["description"] or "").strip()
    for name in ("code", "name", "unit_of_measure"):
        if name in out and not out[name]:
            errors[name] = _("This field is required.")
    if "list_price" in data:
        out["list_price"] = _price(data["list_price"], errors, "list_price")
    if "tax_rate" in data:
        out["tax_rate"] = _percent(data["tax_rate"], errors, "tax_rate")
    if "is_active" in data:
        out["is_active"] = bool(data["is_active"])
    return out


def _code_taken(unit_id: int, code: str, exclude: int | None = None) -> bool:
    return Product.objects.filter(bu_id=unit_id, code__iexact=code).exclude(pk=exclude).exists()


def _code_conflict() -> ValidationError:
    return ValidationError(
        {"code": _("This unit's catalogue already has a product with this code.")},
        code="duplicate_code",
    )


@transaction.atomic
def product_create(
    *,
    actor: Actor,
    code: str,
    name: str,
    unit_of_measure: str,
    list_price: Any,
    tax_rate: Any,
    bu_id: int | None = None,
    category: str = "",
    description: str = "",
    is_active: bool = True,
) -> Product:
    """A product in a unit's catalogue (``quotes.admin``); its code is unique in the unit."""
    unit = _admin_unit(actor, bu_id)
    errors: dict[str, Any] = {}
    data = _clean_product(
        {
            "code": code,
            "name": name,
            "unit_of_measure": unit_of_measure,
            "category": category,
            "description": description,
            "list_price": list_price,
            "tax_rate": tax_rate,
            "is_active": is_active,
        },
        errors,
    )
    if errors:
        raise ValidationError(errors)
    if _code_taken(unit.pk, data["code"]):
        raise _code_conflict()
    try:
        with transaction.atomic():
            product = Product.objects.create(bu=unit, **data)
    except IntegrityError:  # a concurrent twin took the code
        raise _code_conflict() from None
    audit_create(actor=actor, obj=product)
    publish(
        actor=actor,
        name="quotes.product_created",
        payload={"product_id": product.pk, "bu_id": unit.pk, "code": product.code},
    )
    return product


@transaction.atomic
def product_update(*, actor: Actor, pk: int, **fields: Any) -> Product:
    actor.require("quotes", "admin")
    product = scoped_get(Product, actor=actor, pk=pk, action="admin")
    errors: dict[str, Any] = {}
    data = _clean_product(fields, errors)
    if errors:
        raise ValidationError(errors)
    if "code" in data and _code_taken(product.bu_id, data["code"], exclude=product.pk):
        raise _code_conflict()
    before = snapshot(product)
    for name, value in data.items():
        setattr(product, name, value)
    product.save()
    audit_update(actor=actor, obj=product, before=before)
    publish(
        actor=actor,
        name="quotes.product_updated",
        payload={"product_id": product.pk, "bu_id": product.bu_id},
    )
    return product


# --- price lists ------------------------------------------------------------------------


def _clean_items(unit: BusinessUnit, items: Any, errors: dict[str, Any]) -> list[tuple[int, Any]]:
    if not isinstance(items, list):
        errors["items"] = _("Send a list of products and prices.")
        return []
    catalogue = set(selectors.catalogue_for(unit).values_list("pk", flat=True))
    out: list[tuple[int, Any]] = []
    seen: set[int] = set()
    for index, item in enumerate(items):
        item = item if isinstance(item, dict) else {}
        product_id = item.get("product_id")
        if not isinstance(product_id, int) or product_id not in catalogue:
            errors[f"items.{index}.product_id"] = _(
                "Choose an active product of this unit's catalogue."
            )
            continue
        if product_id in seen:
            errors[f"items.{index}.product_id"] = _("Each product may appear only once.")
            continue
        seen.add(product_id)
        price = _price(item.get("unit_price"), errors, f"items.{index}.unit_price")
        out.append((product_id, price))
    return out


def _check_overlap(
    unit: BusinessUnit, valid_from: dt.date, valid_to: dt.date | None, exclude: int | None
) -> None:
    """Two active price lists of one unit may not be valid on the same day."""
    others = PriceList.objects.filter(bu=unit, is_active=True).exclude(pk=exclude)
    others = others.filter(valid_to__isnull=True) | others.filter(valid_to__gte=valid_from)
    if valid_to is not None:
        others = others.filter(valid_from__lte=valid_to)
    clash = others.order_by("valid_from").first()
    if clash is None:
        return
    message = _(
        "The price list “%(name)s” of this unit is already valid from %(start)s to %(end)s: "
        "validity periods of one unit may not overlap."
    ) % {
        "name": clash.name,
        "start": clash.valid_from.isoformat(),
        "end": clash.valid_to.isoformat() if clash.valid_to else _("open end"),
    }
    raise ValidationError({"valid_from": message}, message=message, code="price_list_overlap")


def _lock_unit(unit: BusinessUnit) -> None:
    """Serialise price list writes of one unit, so two overlapping lists cannot both
    pass the overlap check."""
    BusinessUnit.objects.select_for_update().filter(pk=unit.pk).first()


def _clean_price_list(data: dict[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _text(data, out, errors, {"name": 120})
    if "name" in out and not out["name"]:
        errors["name"] = _("This field is required.")
    for name in ("valid_from", "valid_to"):
        if name in data:
            value = data[name]
            if value is not None and not isinstance(value, dt.date):
                errors[name] = _("Enter a date.")
            out[name] = value
    if "valid_from" in out and out["valid_from"] is None:
        errors["valid_from"] = _("This field is required.")
    if "is_active" in data:
        out["is_active"] = bool(data["is_active"])
    return out


def _save_items(price_list: PriceList, items: list[tuple[int, Any]]) -> None:
    price_list.items.all().delete()
    PriceListItem.objects.bulk_create(
        PriceListItem(price_list=price_list, product_id=product_id, unit_price=price)
        for product_id, price in items
    )


def _items_snapshot(price_list: PriceList) -> list[list[Any]]:
    return [[i.product_id, str(i.unit_price)] for i in price_list.items.order_by("product_id")]


def _validate_period(valid_from: Any, valid_to: Any) -> None:
    if isinstance(valid_from, dt.date) and isinstance(valid_to, dt.date) and valid_to < valid_from:
        raise ValidationError({"valid_to": _("The end must not be before the start.")})


@transaction.atomic
def price_list_create(
    *,
    actor: Actor,
    name: str,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    bu_id: int | None = None,
    is_active: bool = True,
    items: list[dict[str, Any]] | None = None,
) -> PriceList:
    unit = _admin_unit(actor, bu_id)
    errors: dict[str, Any] = {}
    data = _clean_price_list(
        {"name": name, "valid_from": valid_from, "valid_to": valid_to, "is_active": is_active},
        errors,
    )
    cleaned = _clean_items(unit, items or [], errors)
    if errors:
        raise ValidationError(errors)
    _validate_period(data["valid_from"], data["valid_to"])
    _lock_unit(unit)
    if data["is_active"]:
        _check_overlap(unit, data["valid_from"], data["valid_to"], None)
    price_list = PriceList.objects.create(bu=unit, **data)
    _save_items(price_list, cleaned)
    audit_create(actor=actor, obj=price_list)
    audit_action(
        actor=actor,
        obj=price_list,
        verb="items_changed",
        changes={"items": [[], _items_snapshot(price_list)]},
    )
    publish(
        actor=actor,
        name="quotes.price_list_created",
        payload={"price_list_id": price_list.pk, "bu_id": unit.pk},
    )
    return price_list


@transaction.atomic
def price_list_update(
    *, actor: Actor, pk: int, items: list[dict[str, Any]] | None = None, **fields: Any
) -> PriceList:
    """Change the list's period, name or state; ``items`` (when given) replaces its prices."""
    actor.require("quotes", "admin")
    price_list = scoped_get(PriceList, actor=actor, pk=pk, action="admin")
    errors: dict[str, Any] = {}
    data = _clean_price_list(fields, errors)
    cleaned = _clean_items(price_list.bu, items, errors) if items is not None else None
    if errors:
        raise ValidationError(errors)
    merged = {
        "valid_from": price_list.valid_from,
        "valid_to": price_list.valid_to,
        "is_active": price_list.is_active,
        **data,
    }
    _validate_period(merged["valid_from"], merged["valid_to"])
    _lock_unit(price_list.bu)
    if merged["is_active"]:
        _check_overlap(price_list.bu, merged["valid_from"], merged["valid_to"], price_list.pk)
    before = snapshot(price_list)
    for name, value in data.items():
        setattr(price_list, name, value)
    price_list.save()
    audit_update(actor=actor, obj=price_list, before=before)
    if cleaned is not None:
        items_before = _items_snapshot(price_list)
        _save_items(price_list, cleaned)
        items_after = _items_snapshot(price_list)
        if items_after != items_before:
            audit_action(
                actor=actor,
                obj=price_list,
                verb="items_changed",
                changes={"items": [items_before, items_after]},
            )
    publish(
        actor=actor,
        name="quotes.price_list_updated",
        payload={"price_list_id": price_list.pk, "bu_id": price_list.bu_id},
    )
    return price_list


# --- a unit's settings ------------------------------------------------------------------


@transaction.atomic
def quote_settings_set(
    *, actor: Actor, bu_id: int, discount_threshold: Any = None, number_prefix: str = ""
) -> QuoteSettings:
    """A unit's own threshold and number prefix; empty values inherit."""
    unit = _admin_unit(actor, bu_id)
    errors: dict[str, Any] = {}
    threshold = _percent(discount_threshold, errors, "discount_threshold", required=False)
    prefix = (number_prefix or "").strip().upper()
    if prefix and (len(prefix) > 10 or not prefix.isascii() or not prefix.isalnum()):
        errors["number_prefix"] = _("Use up to 10 letters or digits, e.g. BJ.")
    if errors:
        raise ValidationError(errors)
    row, created = QuoteSettings.objects.get_or_create(bu=unit)
    before = snapshot(row)
    row.discount_threshold = threshold
    row.number_prefix = prefix
    row.save()
    if created:
        audit_create(actor=actor, obj=row)
    else:
        audit_update(actor=actor, obj=row, before=before)
    return row


# --- quotes: lines and totals -----------------------------------------------------------


def _clean_lines(
    quote: Quote, lines: Any, overall: Decimal, errors: dict[str, Any]
) -> list[QuoteLine]:
    """QuoteLine rows (unsaved) from the input, prices taken on the quote date."""
    if not isinstance(lines, list):
        errors["lines"] = _("Send a list of lines.")
        return []
    if len(lines) > MAX_LINES:
        errors["lines"] = _("At most %(n)d lines.") % {"n": MAX_LINES}
        return []
    catalogue = {p.pk: p for p in selectors.catalogue_for(quote.bu)}
    wanted = [
        catalogue[line["product_id"]]
        for line in lines
        if isinstance(line, dict) and line.get("product_id") in catalogue
    ]
    prices = selectors.reference_prices(quote.bu, wanted, quote.quote_date)
    out: list[QuoteLine] = []
    for index, line in enumerate(lines):
        prefix = f"lines.{index}."
        line = line if isinstance(line, dict) else {}
        raw_id = line.get("product_id")
        product = (
            catalogue.get(raw_id)
            if isinstance(raw_id, int) and not isinstance(raw_id, bool)
            else None
        )
        if product is None:
            errors[prefix + "product_id"] = _("Choose an active product of this unit's catalogue.")
        quantity = parse_decimal(
            line.get("quantity"),
            errors,
            prefix + "quantity",
            maximum=MAX_QUANTITY,
            positive=True,
            message=_("Enter a quantity above 0 with at most 2 decimals."),
        )
        unit_price = _price(line.get("unit_price"), errors, prefix + "unit_price", required=False)
        discount = _percent(line.get("discount_percent") or 0, errors, prefix + "discount_percent")
        tax_rate = _percent(line.get("tax_rate"), errors, prefix + "tax_rate", required=False)
        description = line.get("description") or ""
        if not isinstance(description, str) or len(description.strip()) > 300:
            errors[prefix + "description"] = _("At most %(limit)d characters.") % {"limit": 300}
        if (
            product is None
            or quantity is None
            or discount is None
            or prefix + "unit_price" in errors
        ):
            continue
        if prefix + "tax_rate" in errors:
            continue
        reference = prices[product.pk][0]
        price = reference if unit_price is None else unit_price
        out.append(
            QuoteLine(
                quote=quote,
                position=len(out) + 1,
                product=product,
                description=description.strip() or product.name,
                unit_of_measure=product.unit_of_measure,
                quantity=quantity,
                reference_price=reference,
                unit_price=price,
                discount_percent=discount,
                tax_rate=product.tax_rate if tax_rate is None else tax_rate,
                net_amount=money.line_amount(quantity, price, discount),
                effective_discount=money.effective_discount(reference, price, discount, overall),
            )
        )
    return out


def _apply_totals(quote: Quote, lines: list[QuoteLine]) -> None:
    result = money.totals([(ln.net_amount, ln.tax_rate) for ln in lines], quote.discount_percent)
    if result.gross_total > sales_services.MAX_AMOUNT:
        raise ValidationError({"lines": _("The quote's total is too large.")})
    quote.subtotal = result.subtotal
    quote.discount_amount = result.discount_amount
    quote.net_total = result.net_total
    quote.tax_total = result.tax_total
    quote.gross_total = result.gross_total
    quote.max_discount = max(
        [ln.effective_discount for ln in lines] + [quote.discount_percent], default=Decimal(0)
    )


def _save_lines(quote: Quote, lines: list[QuoteLine]) -> None:
    quote.lines.all().delete()
    QuoteLine.objects.bulk_create(lines)


def _lines_snapshot(quote: Quote) -> list[list[Any]]:
    return [
        [ln.product_id, str(ln.quantity), str(ln.unit_price), str(ln.discount_percent)]
        for ln in quote.lines.order_by("position")
    ]


def _clean_header(
    data: dict[str, Any], errors: dict[str, Any], *, quote_date: dt.date
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _text(data, out, errors, {"terms": 4000, "notes": 2000})
    if "discount_percent" in data:
        out["discount_percent"] = _percent(
            data["discount_percent"] or 0, errors, "discount_percent"
        )
    if "valid_until" in data:
        value = data["valid_until"]
        if not isinstance(value, dt.date):
            errors["valid_until"] = _("Enter a date.")
        elif value < quote_date:
            errors["valid_until"] = _("A quote cannot expire before its date.")
        elif value > quote_date + dt.timedelta(days=366):
            errors["valid_until"] = _("A quote is valid for at most a year.")
        else:
            out["valid_until"] = value
    return out


# --- quotes: create and edit ------------------------------------------------------------


def _next_number(unit: BusinessUnit, year: int) -> str:
    """The next number of the unit's prefix in ``year``: the sequence row is locked
    until commit, so two concurrent quotes never get the same number."""
    prefix = selectors.prefix_for(unit)
    try:
        with transaction.atomic():
            QuoteSequence.objects.get_or_create(prefix=prefix, year=year)
    except IntegrityError:  # a concurrent transaction created the row first
        pass
    sequence = QuoteSequence.objects.select_for_update().get(prefix=prefix, year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"{prefix}-{year}-{sequence.last:06d}"


def _opportunity_for(actor: Actor, opportunity_id: Any) -> Opportunity:
    opportunity = (
        Opportunity.objects.visible_to(actor, "view")
        .select_related("bu", "customer")
        .filter(pk=opportunity_id)
        .first()
        if isinstance(opportunity_id, int)
        else None
    )
    if opportunity is None:
        raise ValidationError({"opportunity_id": _("Choose an opportunity you can see.")})
    if opportunity.status != Opportunity.Status.OPEN:
        raise ValidationError(
            {"opportunity_id": _("Quotes are made for open opportunities.")},
            code="opportunity_closed",
        )
    return opportunity


@transaction.atomic
def quote_create(
    *,
    actor: Actor,
    opportunity_id: int,
    lines: list[dict[str, Any]] | None = None,
    quote_date: dt.date | None = None,
    valid_until: dt.date | None = None,
    discount_percent: Any = 0,
    terms: str = "",
    notes: str = "",
) -> Quote:
    """A draft quote (v1) for an opportunity: its unit, owner and customer; prices from
    the unit's price list valid on the quote date, else the products' list prices."""
    actor.require("quotes", "create")
    opportunity = _opportunity_for(actor, opportunity_id)
    today = timezone.localdate()
    quote_date = quote_date or today
    errors: dict[str, Any] = {}
    if not isinstance(quote_date, dt.date):
        raise ValidationError({"quote_date": _("Enter a date.")})
    data = _clean_header(
        {
            "terms": terms,
            "notes": notes,
            "discount_percent": discount_percent,
            "valid_until": valid_until or quote_date + dt.timedelta(days=DEFAULT_VALIDITY_DAYS),
        },
        errors,
        quote_date=quote_date,
    )
    quote = Quote(
        opportunity=opportunity,
        bu=opportunity.bu,
        owner_id=opportunity.owner_id,
        customer_id=opportunity.customer_id,
        quote_date=quote_date,
        created_by=actor.user,
        **{k: v for k, v in data.items() if v is not None},
    )
    cleaned = _clean_lines(quote, lines or [], quote.discount_percent or Decimal(0), errors)
    if errors:
        raise ValidationError(errors)
    _apply_totals(quote, cleaned)
    quote.number = _next_number(opportunity.bu, quote_date.year)
    quote.save()
    _save_lines(quote, cleaned)
    ensure_in_scope(quote, actor=actor, action="create")
    audit_create(actor=actor, obj=quote)
    publish(actor=actor, name="quotes.quote_created", payload=_event(quote))
    return quote


def _event(quote: Quote) -> dict[str, Any]:
    return {
        "quote_id": quote.pk,
        "number": quote.number,
        "version": quote.version,
        "opportunity_id": quote.opportunity_id,
        "customer_id": quote.customer_id,
        "bu_id": quote.bu_id,
        "status": quote.status,
        "gross_total": str(quote.gross_total),
        "max_discount": str(quote.max_discount),
    }


def _not_editable() -> Conflict:
    return Conflict(
        _("Only a draft can be edited: revise the quote to make a new version."),
        code="not_editable",
    )


@transaction.atomic
def quote_update(
    *, actor: Actor, pk: int, lines: list[dict[str, Any]] | None = None, **fields: Any
) -> Quote:
    """Change a draft's header; ``lines`` (when given) replaces its lines, prices taken
    anew where no unit price is given."""
    quote = scoped_get(Quote, actor=actor, pk=pk, action="change")
    if not quote.is_editable:
        raise _not_editable()
    errors: dict[str, Any] = {}
    unknown = set(fields) - {"terms", "notes", "discount_percent", "valid_until"}
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    data = _clean_header(fields, errors, quote_date=quote.quote_date)
    if errors:
        raise ValidationError(errors)
    before = snapshot(quote)
    lines_before = _lines_snapshot(quote)
    for name, value in data.items():
        setattr(quote, name, value)
    if lines is None:
        # Keep the lines, but the overall discount may have changed their discount.
        lines = [
            {
                "product_id": ln.product_id,
                "description": ln.description,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
                "discount_percent": ln.discount_percent,
                "tax_rate": ln.tax_rate,
            }
            for ln in quote.lines.order_by("position")
        ]
    cleaned = _clean_lines(quote, lines, quote.discount_percent, errors)
    if errors:
        raise ValidationError(errors)
    _apply_totals(quote, cleaned)
    updated = Quote.objects.filter(pk=quote.pk, status=Status.DRAFT).update(
        **{name: getattr(quote, name) for name in _WRITABLE}, updated_at=timezone.now()
    )
    if updated != 1:
        raise _not_editable()
    _save_lines(quote, cleaned)
    audit_update(actor=actor, obj=quote, before=before)
    lines_after = _lines_snapshot(quote)
    if lines_after != lines_before:
        audit_action(
            actor=actor,
            obj=quote,
            verb="lines_changed",
            changes={"lines": [lines_before, lines_after]},
        )
    publish(actor=actor, name="quotes.quote_updated", payload=_event(quote))
    return quote


_WRITABLE = (
    "terms",
    "notes",
    "discount_percent",
    "valid_until",
    "subtotal",
    "discount_amount",
    "net_total",
    "tax_total",
    "gross_total",
    "max_discount",
)


@transaction.atomic
def quote_delete(*, actor: Actor, pk: int) -> None:
    """Delete a first-version draft (later versions keep their history: leave them)."""
    quote = scoped_get(Quote, actor=actor, pk=pk, action="delete")
    if quote.status != Status.DRAFT or quote.version != 1:
        raise Conflict(_("Only the first draft of a quote can be deleted."), code="not_deletable")
    audit_delete(actor=actor, obj=quote)
    publish(actor=actor, name="quotes.quote_deleted", payload=_event(quote))
    quote.delete()


# --- quotes: the status flow ------------------------------------------------------------


def _move(
    actor: Actor, quote: Quote, expected: tuple[str, ...], status: str, **changes: Any
) -> Quote:
    """The conditional UPDATE from one of ``expected`` to ``status``, audited."""
    before = snapshot(quote)
    updated = Quote.objects.filter(pk=quote.pk, status__in=expected).update(
        status=status, updated_at=timezone.now(), **changes
    )
    if updated != 1:
        raise Conflict(
            _("Someone changed this quote's status meanwhile: reload it and try again."),
            code="stale",
        )
    quote.status = status
    for name, value in changes.items():
        setattr(quote, name, value)
    audit_update(actor=actor, obj=quote, before=before, verb=f"quote_{status}")
    return quote


def _wrong_status(quote: Quote, message: str) -> Conflict:
    return Conflict(message, code="wrong_status", extra={"status": quote.status})


@transaction.atomic
def quote_submit(*, actor: Actor, pk: int, reason: str = "") -> Quote:
    """Submit a draft: above the unit's discount threshold it waits for approval (the
    approvers of its unit are notified), else it is approved at once."""
    quote = scoped_get(Quote, actor=actor, pk=pk, action="change")
    if quote.status != Status.DRAFT:
        raise _wrong_status(quote, _("Only a draft can be submitted."))
    if not quote.lines.exists():
        message = _("Add at least one line before submitting.")
        raise ValidationError({"lines": message}, message=message, code="no_lines")
    if quote.valid_until < timezone.localdate():
        message = _("The quote's validity has already ended: extend it first.")
        raise ValidationError({"valid_until": message}, message=message)
    threshold = selectors.threshold_for(quote.bu)
    if quote.max_discount <= threshold:
        quote = _move(actor, quote, (Status.DRAFT,), Status.APPROVED, approval_comment="")
        publish(actor=actor, name="quotes.quote_approved", payload=_event(quote))
        return quote
    request = approval_services.approval_request(
        actor=actor,
        kind=APPROVAL_KIND,
        bu_id=quote.bu_id,
        subject_type=SUBJECT_TYPE,
        subject_id=quote.pk,
        title=_("Discount on quote %(label)s for %(customer)s")
        % {"label": quote.label, "customer": quote.customer.legal_name[:120]},
        payload={
            "quote_id": quote.pk,
            "number": quote.number,
            "version": quote.version,
            "max_discount": str(quote.max_discount),
            "threshold": str(threshold),
            "gross_total": str(quote.gross_total),
            "currency": quote.currency,
        },
        reason=reason,
    )
    quote = _move(
        actor, quote, (Status.DRAFT,), Status.PENDING, approval=request, approval_comment=""
    )
    publish(actor=actor, name="quotes.quote_submitted", payload=_event(quote))
    return quote


def _approval_subject(request: ApprovalRequest) -> Quote | None:
    """The quote a decision is about, if it still waits for exactly this request."""
    try:
        pk = int(request.subject_id)
    except ValueError:
        return None
    return Quote.objects.filter(pk=pk, status=Status.PENDING, approval_id=request.pk).first()


def on_discount_approved(request: ApprovalRequest, actor: Actor) -> None:
    """Runs inside the approver's decision: the quote is approved with it."""
    quote = _approval_subject(request)
    if quote is None:
        return
    quote = _move(
        actor, quote, (Status.PENDING,), Status.APPROVED, approval_comment=request.comment
    )
    publish(actor=actor, name="quotes.quote_approved", payload=_event(quote))


def on_discount_rejected(request: ApprovalRequest, actor: Actor) -> None:
    """Rejected or withdrawn: the quote goes back to draft with the approver's comment."""
    quote = _approval_subject(request)
    if quote is None:
        return
    quote = _move(actor, quote, (Status.PENDING,), Status.DRAFT, approval_comment=request.comment)
    publish(
        actor=actor,
        name="quotes.quote_approval_rejected",
        payload={**_event(quote), "approval_status": request.status},
    )


def describe_discount(request: ApprovalRequest) -> str:
    payload = request.payload or {}
    return _("Discount %(discount)s%% (threshold %(threshold)s%%) · %(total)s CNY") % {
        "discount": payload.get("max_discount", "?"),
        "threshold": payload.get("threshold", "?"),
        "total": payload.get("gross_total", "?"),
    }


@transaction.atomic
def quote_withdraw(*, actor: Actor, pk: int) -> Quote:
    """Take back the approval request of a pending quote: it goes back to draft."""
    quote = scoped_get(Quote, actor=actor, pk=pk, action="change")
    if quote.status != Status.PENDING or quote.approval_id is None:
        raise _wrong_status(quote, _("Only a quote waiting for approval can be withdrawn."))
    approval_services.approval_withdraw(actor=actor, pk=quote.approval_id)
    quote.refresh_from_db()
    return quote


@transaction.atomic
def quote_send(*, actor: Actor, pk: int) -> Quote:
    """Mark an approved quote as sent to the customer (its PDF goes with it)."""
    quote = scoped_get(Quote, actor=actor, pk=pk, action="change")
    if quote.status != Status.APPROVED:
        message = (
            _("The quote waits for discount approval: it can be sent once approved.")
            if quote.status in (Status.DRAFT, Status.PENDING)
            else _("Only an approved quote can be sent.")
        )
        raise _wrong_status(quote, message)
    if quote.valid_until < timezone.localdate():
        raise Conflict(
            _("The quote's validity has ended: revise it to send a new version."),
            code="expired",
        )
    quote = _move(actor, quote, (Status.APPROVED,), Status.SENT, sent_at=timezone.now())
    publish(actor=actor, name="quotes.quote_sent", payload=_event(quote))
    return quote


@transaction.atomic
def quote_accept(
    *,
    actor: Actor,
    pk: int,
    update_opportunity: bool = False,
    opportunity_version: int | None = None,
) -> Quote:
    """The customer accepted the sent quote. With ``update_opportunity`` the
    opportunity's amount becomes the quote's gross total (含税), through the sales
    service with the opportunity ``version`` the caller read (a stale one: 409)."""
    quote = scoped_get(Quote, actor=actor, pk=pk, action="change")
    if quote.status != Status.SENT:
        raise _wrong_status(quote, _("Only a sent quote can be accepted."))
    quote = _move(actor, quote, (Status.SENT,), Status.ACCEPTED, decided_at=timezone.now())
    if update_opportunity:
        if opportunity_version is None:
            message = _("Send the opportunity's version you read.")
            raise ValidationError({"opportunity_version": message}, message=message)
        sales_services.opportunity_update(
            actor=actor,
            pk=quote.opportunity_id,
            version=opportunity_version,
            amount=quote.gross_total,
        )
    publish(actor=actor, name="quotes.quote_accepted", payload=_event(quote))
    return quote


@transaction.atomic
def quote_reject(*, actor: Actor, pk: int, reason: str = "") -> Quote:
    """The customer turned the sent quote down (a reason helps the next version)."""
    quote = scoped_get(Quote, actor=actor, pk=pk, action="change")
    if quote.status != Status.SENT:
        raise _wrong_status(quote, _("Only a sent quote can be rejected."))
    reason = reason.strip() if isinstance(reason, str) else ""
    if len(reason) > 500:
        message = _("At most %(limit)d characters.") % {"limit": 500}
        raise ValidationError({"reason": message}, message=message)
    quote = _move(
        actor,
        quote,
        (Status.SENT,),
        Status.REJECTED,
        decided_at=timezone.now(),
        customer_reason=reason,
    )
    publish(actor=actor, name="quotes.quote_rejected", payload=_event(quote))
    return quote


@transaction.atomic
def quote_revise(*, actor: Actor, pk: int) -> Quote:
    """A new draft version of an approved, sent, rejected or expired quote, with the same
    lines and prices; the old version becomes read-only (superseded)."""
    actor.require("quotes", "create")
    quote = scoped_get(Quote, actor=actor, pk=pk, action="change")
    if not quote.can_revise:
        raise _wrong_status(
            quote,
            _("A draft is edited directly; a pending quote is withdrawn first.")
            if quote.status in (Status.DRAFT, Status.PENDING)
            else _("Only the current version of a quote can be revised."),
        )
    lines = list(quote.lines.order_by("position"))
    _move(actor, quote, (quote.status,), Status.SUPERSEDED)
    today = timezone.localdate()
    valid_until = max(quote.valid_until, today + dt.timedelta(days=DEFAULT_VALIDITY_DAYS))
    revised = Quote.objects.create(
        opportunity_id=quote.opportunity_id,
        bu_id=quote.bu_id,
        owner_id=quote.owner_id,
        customer_id=quote.customer_id,
        number=quote.number,
        version=quote.version + 1,
        quote_date=today,
        valid_until=min(valid_until, today + dt.timedelta(days=366)),
        discount_percent=quote.discount_percent,
        terms=quote.terms,
        notes=quote.notes,
        subtotal=quote.subtotal,
        discount_amount=quote.discount_amount,
        net_total=quote.net_total,
        tax_total=quote.tax_total,
        gross_total=quote.gross_total,
        max_discount=quote.max_discount,
        created_by=actor.user,
    )
    for line in lines:
        line.pk = None
        line.quote = revised
    QuoteLine.objects.bulk_create(lines)
    ensure_in_scope(revised, actor=actor, action="change")
    audit_create(actor=actor, obj=revised, verb="quote_revised")
    publish(
        actor=actor,
        name="quotes.quote_revised",
        payload={**_event(revised), "previous_quote_id": quote.pk},
    )
    return revised


@transaction.atomic
def quotes_expire(*, actor: Actor, today: dt.date | None = None) -> int:
    """Approved or sent quotes whose validity ended become expired (a daily job)."""
    today = today or timezone.localdate()
    due = Quote.objects.filter(
        status__in=(Status.APPROVED, Status.SENT), valid_until__lt=today
    ).order_by("pk")
    count = 0
    for quote in due:
        try:
            with transaction.atomic():
                _move(actor, quote, (Status.APPROVED, Status.SENT), Status.EXPIRED)
                publish(actor=actor, name="quotes.quote_expired", payload=_event(quote))
        except Conflict:  # moved by someone meanwhile
            continue
        count += 1
    return count
