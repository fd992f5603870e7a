from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from groupcrm.core.api_support import actor_of
from groupcrm.org.schemas import Strict
from groupcrm.sales.models import CURRENCY
from groupcrm.sales.quotes import selectors
from groupcrm.sales.quotes.money import amount_in_words
from groupcrm.sales.schemas import Amount

# Numbers come in as decimal strings ("1280.00"; JSON numbers are accepted too) and are
# checked by the service, so "abc", "-1" and "NaN" get one clear message per field.
PRICE_HELP = "CNY as a decimal string, at most 2 decimals, not negative."
PERCENT_HELP = "Per cent from 0 to 100, at most 2 decimals."


class ProductOut(Schema):
    id: int
    bu_id: int
    bu_name: str = Field(..., alias="bu.name")
    code: str
    name: str
    unit_of_measure: str
    category: str
    description: str
    list_price: str
    currency: str = CURRENCY
    tax_rate: str
    is_active: bool
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_list_price(obj: Any) -> str:
        return str(obj.list_price)

    @staticmethod
    def resolve_tax_rate(obj: Any) -> str:
        return str(obj.tax_rate)


class ProductIn(Strict):
    code: str
    name: str
    unit_of_measure: str = Field(..., description="E.g. 台, 套, 年, 次.")
    list_price: Amount = Field(..., description=PRICE_HELP)
    tax_rate: Amount = Field(..., description=PERCENT_HELP + " E.g. 13.")
    bu_id: int | None = Field(None, description="Default: the caller's unit.")
    category: str = ""
    description: str = ""
    is_active: bool = True


class ProductPatch(Strict):
    code: str | None = None
    name: str | None = None
    unit_of_measure: str | None = None
    list_price: Amount | None = Field(None, description=PRICE_HELP)
    tax_rate: Amount | None = Field(None, description=PERCENT_HELP)
    category: str | None = None
    description: str | None = None
    is_active: bool | None = None


class PriceItemIn(Strict):
    product_id: int
    unit_price: Amount = Field(..., description=PRICE_HELP)


class PriceItemOut(Schema):
    product_id: int
    product_code: str = Field(..., alias="product.code")
    product_name: str = Field(..., alias="product.name")
    unit_price: str

    @staticmethod
    def resolve_unit_price(obj: Any) -> str:
        return str(obj.unit_price)


class PriceListOut(Schema):
    id: int
    bu_id: int
    bu_name: str = Field(..., alias="bu.name")
    name: str
    currency: str
    valid_from: date
    valid_to: date | None
    is_active: bool
    items: list[PriceItemOut]

    @staticmethod
    def resolve_items(obj: Any) -> list[Any]:
        return list(obj.items.select_related("product").order_by("product__code"))


class PriceListIn(Strict):
    name: str
    valid_from: date
    valid_to: date | None = Field(None, description="Empty: no end.")
    bu_id: int | None = Field(None, description="Default: the caller's unit.")
    is_active: bool = True
    items: list[PriceItemIn] = []


class PriceListPatch(Strict):
    name: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    is_active: bool | None = None
    items: list[PriceItemIn] | None = Field(None, description="Replaces all the prices.")


class LineIn(Strict):
    product_id: int
    quantity: Amount = Field(..., description="Above 0, at most 2 decimals.")
    unit_price: Amount | None = Field(
        None, description="Default: the price list valid on the quote date, else list price."
    )
    discount_percent: Amount = Field(0, description=PERCENT_HELP)
    tax_rate: Amount | None = Field(None, description="Default: the product's.")
    description: str = Field("", description="Default: the product's name.")


class LineOut(Schema):
    position: int
    product_id: int
    product_code: str = Field(..., alias="product.code")
    description: str
    unit_of_measure: str
    quantity: str
    reference_price: str
    unit_price: str
    discount_percent: str
    tax_rate: str
    net_amount: str
    effective_discount: str

    @staticmethod
    def resolve_quantity(obj: Any) -> str:
        return str(obj.quantity)

    @staticmethod
    def resolve_reference_price(obj: Any) -> str:
        return str(obj.reference_price)

    @staticmethod
    def resolve_unit_price(obj: Any) -> str:
        return str(obj.unit_price)

    @staticmethod
    def resolve_discount_percent(obj: Any) -> str:
        return str(obj.discount_percent)

    @staticmethod
    def resolve_tax_rate(obj: Any) -> str:
        return str(obj.tax_rate)

    @staticmethod
    def resolve_net_amount(obj: Any) -> str:
        return str(obj.net_amount)

    @staticmethod
    def resolve_effective_discount(obj: Any) -> str:
        return str(obj.effective_discount)


class QuoteOut(Schema):
    id: int
    number: str
    version: int
    status: str
    opportunity_id: int
    customer_id: int
    customer_name: str = Field(..., alias="customer.legal_name")
    bu_id: int
    owner_id: int
    quote_date: date
    valid_until: date
    currency: str
    discount_percent: str
    subtotal: str
    discount_amount: str
    net_total: str
    tax_total: str
    gross_total: str
    max_discount: str = Field(..., description="The highest effective discount of a line.")
    approval_id: int | None
    approval_comment: str
    sent_at: datetime | None
    decided_at: datetime | None
    customer_reason: str
    terms: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_discount_percent(obj: Any) -> str:
        return str(obj.discount_percent)

    @staticmethod
    def resolve_subtotal(obj: Any) -> str:
        return str(obj.subtotal)

    @staticmethod
    def resolve_discount_amount(obj: Any) -> str:
        return str(obj.discount_amount)

    @staticmethod
    def resolve_net_total(obj: Any) -> str:
        return str(obj.net_total)

    @staticmethod
    def resolve_tax_total(obj: Any) -> str:
        return str(obj.tax_total)

    @staticmethod
    def resolve_gross_total(obj: Any) -> str:
        return str(obj.gross_total)

    @staticmethod
    def resolve_max_discount(obj: Any) -> str:
        return str(obj.max_discount)


class VersionOut(Schema):
    id: int
    version: int
    status: str
    quote_date: date
    gross_total: str

    @staticmethod
    def resolve_gross_total(obj: Any) -> str:
        return str(obj.gross_total)


class QuoteDetail(QuoteOut):
    notes: str
    amount_in_words: str
    threshold: str = Field(..., description="The unit's discount approval threshold (%).")
    lines: list[LineOut]
    versions: list[VersionOut] = Field(..., description="Every version, newest first.")

    @staticmethod
    def resolve_amount_in_words(obj: Any) -> str:
        return amount_in_words(obj.gross_total)

    @staticmethod
    def resolve_threshold(obj: Any) -> str:
        return str(selectors.threshold_for(obj.bu))

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return selectors.quote_lines(obj)

    @staticmethod
    def resolve_versions(obj: Any, context: dict[str, Any]) -> list[Any]:
        return selectors.quote_versions(actor=actor_of(context["request"]), quote=obj)


class QuoteIn(Strict):
    opportunity_id: int
    lines: list[LineIn] = []
    quote_date: date | None = Field(None, description="Default: today.")
    valid_until: date | None = Field(None, description="Default: 30 days after the date.")
    discount_percent: Amount = Field(0, description="Overall discount. " + PERCENT_HELP)
    terms: str = ""
    notes: str = ""


class QuotePatch(Strict):
    lines: list[LineIn] | None = Field(None, description="Replaces all the lines.")
    valid_until: date | None = None
    discount_percent: Amount | None = Field(None, description=PERCENT_HELP)
    terms: str | None = None
    notes: str | None = None


class SubmitIn(Strict):
    reason: str = Field("", description="Why the discount; shown to the approvers.")


class AcceptIn(Strict):
    update_opportunity: bool = Field(
        False, description="Set the opportunity's amount to the quote's gross total."
    )
    opportunity_version: int | None = Field(
        None, description="The opportunity's version you read (required with the update)."
    )


class RejectIn(Strict):
    reason: str = ""


class SettingsOut(Schema):
    bu_id: int
    bu_name: str
    discount_threshold: str | None = Field(..., description="The unit's own; null: inherited.")
    number_prefix: str = Field(..., description="The unit's own; empty: inherited.")
    effective_threshold: str
    effective_prefix: str


class SettingsIn(Strict):
    discount_threshold: Amount | None = Field(None, description="null: inherit. " + PERCENT_HELP)
    number_prefix: str = Field("", description="Up to 10 letters or digits; empty: inherit.")
