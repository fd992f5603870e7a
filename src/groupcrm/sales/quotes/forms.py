"""The shape of the quote pages' input; the rules live in quotes.services.

Numbers stay text here: the service gives one clear message for "abc", "-1" and "NaN".
Line rows (a quote's lines, a price list's items) are plain numbered inputs
(``lines-0-quantity``…) that ``rows_from`` reads; rows left empty are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from groupcrm.org.models import BusinessUnit

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
UNITS_OF_MEASURE = ["台", "套", "年", "次", "个", "项", "月", "人天", "吨", "公里"]
LINE_FIELDS = (
    "product_id",
    "description",
    "quantity",
    "unit_price",
    "discount_percent",
    "tax_rate",
)
ITEM_FIELDS = ("product_id", "unit_price")
BLANK_ROWS = 3


@dataclass
class Row:
    """One numbered row of inputs, its values and its errors by field."""

    index: int
    values: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)


def rows_from(data: QueryDict, prefix: str, names: tuple[str, ...]) -> list[Row]:
    """The filled rows ``<prefix>-<n>-<name>`` in order of n (a row with no product and
    no other value is empty)."""
    indexes = sorted(
        {
            int(key.split("-")[1])
            for key in data
            if key.startswith(f"{prefix}-") and key.count("-") == 2 and key.split("-")[1].isdigit()
        }
    )
    rows = []
    for index in indexes:
        values = {name: data.get(f"{prefix}-{index}-{name}", "").strip() for name in names}
        if any(values.values()):
            rows.append(Row(index=len(rows), values=values))
    return rows


def row_payload(rows: list[Row]) -> list[dict[str, Any]]:
    """The service's input: ids as numbers (else left as text, for its message)."""
    out = []
    for row in rows:
        item: dict[str, Any] = {k: v for k, v in row.values.items() if v != ""}
        raw = item.get("product_id", "")
        item["product_id"] = int(raw) if raw.isdecimal() else None
        out.append(item)
    return out


def row_errors(rows: list[Row], prefix: str, fields: dict[str, list[str]]) -> list[str]:
    """Attach ``<prefix>.<n>.<name>`` errors to their rows; return the others."""
    rest = []
    for name, messages in fields.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == prefix and parts[1].isdigit():
            index = int(parts[1])
            if index < len(rows):
                rows[index].errors.setdefault(parts[2], []).extend(messages)
                continue
        if name == prefix or name.startswith(f"{prefix}."):
            rest.extend(messages)
    return rest


class QuoteForm(forms.Form):
    valid_until = forms.DateField(label=_("valid until"), widget=DATE, required=False)
    discount_percent = forms.CharField(
        label=_("overall discount (%)"),
        max_length=10,
        required=False,
        help_text=_("Applies to every line, on top of the lines' own discounts."),
    )
    terms = forms.CharField(
        label=_("terms"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Payment, delivery and warranty terms, printed on the quote."),
    )
    notes = forms.CharField(
        label=_("internal notes"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Not printed."),
    )


class ProductForm(forms.Form):
    bu_id = forms.TypedChoiceField(label=_("business unit"), coerce=int)
    code = forms.CharField(label=_("code"), max_length=40)
    name = forms.CharField(label=_("name"), max_length=120)
    unit_of_measure = forms.CharField(
        label=_("unit of measure"),
        max_length=10,
        widget=forms.TextInput(attrs={"list": "units-of-measure"}),
        help_text=_("E.g. 台, 套, 年, 次."),
    )
    category = forms.CharField(label=_("category"), max_length=60, required=False)
    description = forms.CharField(
        label=_("description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    list_price = forms.CharField(label=_("list price (CNY)"), max_length=30)
    tax_rate = forms.CharField(label=_("tax rate (%)"), max_length=10, initial="13")
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)

    def __init__(
        self, *args: Any, units: list[BusinessUnit], editing: bool = False, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.fields["bu_id"].choices = [(u.pk, u.name) for u in units]
        if editing:
            del self.fields["bu_id"]  # a product stays in its unit's catalogue


class PriceListForm(forms.Form):
    bu_id = forms.TypedChoiceField(label=_("business unit"), coerce=int)
    name = forms.CharField(label=_("name"), max_length=120)
    valid_from = forms.DateField(label=_("valid from"), widget=DATE)
    valid_to = forms.DateField(
        label=_("valid to"), widget=DATE, required=False, help_text=_("Empty: no end.")
    )
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)

    def __init__(
        self, *args: Any, units: list[BusinessUnit], editing: bool = False, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.fields["bu_id"].choices = [(u.pk, u.name) for u in units]
        if editing:
            del self.fields["bu_id"]


class SettingsForm(forms.Form):
    bu_id = forms.IntegerField(widget=forms.HiddenInput)
    discount_threshold = forms.CharField(
        label=_("discount approval threshold (%)"), max_length=10, required=False
    )
    number_prefix = forms.CharField(label=_("quote number prefix"), max_length=10, required=False)


class AcceptForm(forms.Form):
    update_opportunity = forms.BooleanField(required=False)
    opportunity_version = forms.IntegerField(required=False)
