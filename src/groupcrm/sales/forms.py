"""The shape of the sales pages' input; the rules live in sales.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from groupcrm.customers.models import Contact
from groupcrm.org.models import BusinessUnit, User
from groupcrm.sales.models import Opportunity

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OpportunityForm(forms.Form):
    customer_id = forms.IntegerField(
        label=_("customer"), widget=forms.HiddenInput(attrs={"data-picker": "customer"})
    )
    name = forms.CharField(label=_("name"), max_length=120)
    bu_id = forms.TypedChoiceField(label=_("business unit"), coerce=int)
    owner_id = forms.TypedChoiceField(label=_("owner"), coerce=int)
    # Kept as text: the service gives the one message for "abc", "-1", NaN and Infinity.
    amount = forms.CharField(label=_("amount (CNY)"), max_length=30)
    expected_close = forms.DateField(label=_("expected close"), widget=DATE)
    probability = forms.IntegerField(
        label=_("win probability (%)"),
        min_value=0,
        max_value=100,
        required=False,
        help_text=_("Leave empty to use the stage's probability."),
    )
    forecast_category = forms.ChoiceField(
        label=_("forecast category"),
        choices=Opportunity.ForecastCategory.choices,
        initial=Opportunity.ForecastCategory.PIPELINE,
        required=False,
        help_text=_("How sure you are it closes in its expected month (for the forecast)."),
    )
    next_step = forms.CharField(label=_("next step"), max_length=200, required=False)
    competitors = forms.CharField(
        label=_("competitors"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    decision_contact_ids = forms.TypedMultipleChoiceField(
        label=_("decision makers"), coerce=int, required=False
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        units: list[BusinessUnit],
        people: list[User],
        contacts: list[Contact],
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bu_id"].choices = [(u.pk, u.name) for u in units]
        self.fields["owner_id"].choices = [(p.pk, p.display_name or p.username) for p in people]
        self.fields["decision_contact_ids"].choices = [
            (c.pk, f"{c.name} · {c.title}" if c.title else c.name) for c in contacts
        ]
        if editing:
            # The customer and the unit of an opportunity do not change; merges move it.
            del self.fields["customer_id"], self.fields["bu_id"]
            self.fields["version"].required = True
        else:
            del self.fields["version"]

    @staticmethod
    def initial_from(opportunity: Opportunity) -> dict[str, Any]:
        return {
            "name": opportunity.name,
            "owner_id": opportunity.owner_id,
            "amount": opportunity.amount,
            "expected_close": opportunity.expected_close,
            "probability": opportunity.probability if opportunity.probability_manual else None,
            "forecast_category": opportunity.forecast_category,
            "next_step": opportunity.next_step,
            "competitors": opportunity.competitors,
            "decision_contact_ids": [c.pk for c in opportunity.decision_contacts.all()],
            "version": opportunity.version,
        }


class MoveForm(forms.Form):
    stage_id = forms.IntegerField()
    version = forms.IntegerField()
    lost_reason = forms.CharField(max_length=200, required=False)
