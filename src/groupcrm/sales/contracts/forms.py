"""The shape of the contract and expense pages' input; the rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from groupcrm.sales.contracts.models import Contract, Expense, Instalment, Payment
from groupcrm.sales.models import Opportunity

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
PLAN_ROWS = 12  # rows the plan page offers: enough for a monthly year


class ContractForm(forms.Form):
    opportunity_id = forms.TypedChoiceField(label=_("won opportunity"), coerce=int)
    title = forms.CharField(
        label=_("title"),
        max_length=120,
        required=False,
        help_text=_("Leave empty to use the opportunity's name."),
    )
    # Kept as text: the service gives the one message for "abc", "-1", NaN and Infinity.
    amount = forms.CharField(
        label=_("amount (CNY)"),
        max_length=30,
        required=False,
        help_text=_("Leave empty to use the opportunity's amount."),
    )
    signed_on = forms.DateField(label=_("signed on"), widget=DATE, required=False)
    start_on = forms.DateField(label=_("starts on"), widget=DATE, required=False)
    end_on = forms.DateField(label=_("ends on"), widget=DATE, required=False)
    notes = forms.CharField(
        label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(
        self, *args: Any, opportunities: list[Opportunity] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if opportunities is None:
            del self.fields["opportunity_id"]
            self.fields["title"].required = True
            self.fields["amount"].required = True
            self.fields["title"].help_text = self.fields["amount"].help_text = ""
        else:
            self.fields["opportunity_id"].choices = [
                (o.pk, f"{o.name} · {o.customer.legal_name} · ¥{o.amount:,.2f}")
                for o in opportunities
            ]

    @staticmethod
    def initial_from(contract: Contract) -> dict[str, Any]:
        return {
            "title": contract.title,
            "amount": contract.amount,
            "signed_on": contract.signed_on,
            "start_on": contract.start_on,
            "end_on": contract.end_on,
            "notes": contract.notes,
        }


class PlanForm(forms.Form):
    """Rows of (due date, amount); a row left empty is not part of the plan."""

    def __init__(self, *args: Any, instalments: list[Instalment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = max(PLAN_ROWS, len(instalments) + 2)
        for index in range(self.rows):
            row = instalments[index] if index < len(instalments) else None
            self.fields[f"id_{index}"] = forms.IntegerField(
                widget=forms.HiddenInput, required=False, initial=row.pk if row else None
            )
            self.fields[f"due_on_{index}"] = forms.DateField(
                label=_("due on"), widget=DATE, required=False, initial=row.due_on if row else None
            )
            self.fields[f"amount_{index}"] = forms.CharField(
                label=_("amount (CNY)"),
                max_length=30,
                required=False,
                initial=row.amount if row else None,
            )

    def table(self) -> list[tuple[int, forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [
            (i + 1, self[f"id_{i}"], self[f"due_on_{i}"], self[f"amount_{i}"])
            for i in range(self.rows)
        ]

    def instalments(self) -> list[dict[str, Any]]:
        out = []
        for index in range(self.rows):
            due_on = self.cleaned_data.get(f"due_on_{index}")
            amount = (self.cleaned_data.get(f"amount_{index}") or "").strip()
            if due_on is None and not amount:
                continue
            out.append(
                {"id": self.cleaned_data.get(f"id_{index}"), "due_on": due_on, "amount": amount}
            )
        return out


class PaymentForm(forms.Form):
    instalment_id = forms.TypedChoiceField(label=_("instalment"), coerce=int)
    amount = forms.CharField(label=_("amount (CNY)"), max_length=30)
    received_on = forms.DateField(label=_("received on"), widget=DATE)
    method = forms.ChoiceField(label=_("method"), choices=Payment.Method.choices)
    reference = forms.CharField(label=_("reference"), max_length=100, required=False)

    def __init__(self, *args: Any, instalments: list[Instalment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["instalment_id"].choices = [
            (
                i.pk,
                _("#%(n)d due %(due)s, outstanding ¥%(left)s")
                % {"n": i.sequence, "due": i.due_on.isoformat(), "left": f"{i.outstanding:,.2f}"},
            )
            for i in instalments
            if i.outstanding > 0
        ]


class ExpenseForm(forms.Form):
    opportunity_id = forms.TypedChoiceField(label=_("opportunity"), coerce=int)
    kind = forms.ChoiceField(label=_("kind"), choices=Expense.Kind.choices)
    amount = forms.CharField(label=_("amount (CNY)"), max_length=30)
    spent_on = forms.DateField(label=_("spent on"), widget=DATE)
    description = forms.CharField(label=_("description"), max_length=300)
    receipt_ref = forms.CharField(
        label=_("receipt reference"),
        max_length=100,
        required=False,
        help_text=_("Invoice (发票) number or where the receipt is filed."),
    )

    def __init__(
        self, *args: Any, opportunities: list[Opportunity] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if opportunities is None:
            del self.fields["opportunity_id"]
        else:
            self.fields["opportunity_id"].choices = [
                (o.pk, f"{o.name} · {o.customer.legal_name}") for o in opportunities
            ]

    @staticmethod
    def initial_from(expense: Expense) -> dict[str, Any]:
        return {
            "kind": expense.kind,
            "amount": expense.amount,
            "spent_on": expense.spent_on,
            "description": expense.description,
            "receipt_ref": expense.receipt_ref,
        }
