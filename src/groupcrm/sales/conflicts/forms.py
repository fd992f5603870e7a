"""The shape of the conflict pages' input; the rules live in conflicts.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from groupcrm.org.models import BusinessUnit
from groupcrm.sales.conflicts.models import Conflict


class RaiseForm(forms.Form):
    customer_id = forms.IntegerField(widget=forms.HiddenInput)
    bu_id = forms.TypedChoiceField(label=_("your unit"), coerce=int)
    other_bu_id = forms.TypedChoiceField(label=_("the other unit"), coerce=int)
    opportunity_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(
        label=_("reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What your unit has done with the customer, and why it should work it."),
    )

    def __init__(
        self, *args: Any, units: list[BusinessUnit], others: list[tuple[int, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bu_id"].choices = [(u.pk, u.name) for u in units]
        self.fields["other_bu_id"].choices = others


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("decision"), choices=[("", "—"), *Conflict.Decision.choices]
    )
    winner_bu_id = forms.TypedChoiceField(
        label=_("owning unit"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_("One owner: who keeps the customer. Joint: whose opportunity carries it."),
    )
    raised_percent = forms.DecimalField(
        label=_("share of the raising unit (%)"), required=False, max_digits=5, decimal_places=2
    )
    other_percent = forms.DecimalField(
        label=_("share of the other unit (%)"), required=False, max_digits=5, decimal_places=2
    )
    comment = forms.CharField(
        label=_("comment"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, conflict: Conflict, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["winner_bu_id"].choices = [
            ("", "—"),
            (conflict.raised_bu_id, conflict.raised_bu.name),
            (conflict.other_bu_id, conflict.other_bu.name),
        ]


class CoordinateForm(forms.Form):
    customer_id = forms.IntegerField(widget=forms.HiddenInput)
    bu_id = forms.IntegerField(widget=forms.HiddenInput)
    message = forms.CharField(label=_("message"), max_length=500, required=False)
