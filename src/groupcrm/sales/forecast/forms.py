"""The shape of the forecast pages' input; the rules live in forecast.services."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from groupcrm.org.models import BusinessUnit, Role, User
from groupcrm.sales.forecast.models import CommissionRule
from groupcrm.sales.forecast.services import MAX_MONTHS

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
UNIT_ITSELF = "unit"


def _person(user: User) -> str:
    return user.display_name or user.username


class QuotaBulkForm(forms.Form):
    targets = forms.MultipleChoiceField(
        label=_("for"),
        help_text=_("The unit as a whole and/or its sales reps (hold Ctrl to choose several)."),
    )
    start = forms.CharField(
        label=_("first month"), widget=forms.TextInput(attrs={"type": "month"}), max_length=7
    )
    months = forms.IntegerField(label=_("number of months"), min_value=1, max_value=MAX_MONTHS)
    # Kept as text: the service gives one message for "abc", "-1" and 0.
    amount = forms.CharField(label=_("quota per month (CNY)"), max_length=30)

    def __init__(self, *args: Any, people: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["targets"].choices = [(UNIT_ITSELF, _("The unit as a whole"))] + [
            (str(p.pk), _person(p)) for p in people
        ]

    def user_ids(self) -> list[int | None]:
        return [None if t == UNIT_ITSELF else int(t) for t in self.cleaned_data["targets"]]


class QuotaImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Columns unit, user, month, amount (UTF-8, with a header): the unit's code, a "
            "username or empty for the unit's own quota, YYYY-MM, the amount in CNY."
        ),
    )


class QuotaForm(forms.Form):
    amount = forms.CharField(label=_("quota (CNY)"), max_length=30)


class TiersField(forms.CharField):
    """Tiers typed as lines ``from attainment %: rate %``, e.g. ``100: 8``."""

    def to_python(self, value: Any) -> list[dict[str, str]]:
        text = super().to_python(value) or ""
        tiers = []
        for line in text.replace("，", ",").replace("：", ":").replace(",", "\n").splitlines():
            if not line.strip():
                continue
            start, _sep, rate = line.partition(":")
            try:
                Decimal(start.strip().rstrip("%")), Decimal(rate.strip().rstrip("%"))
            except InvalidOperation:
                raise forms.ValidationError(
                    _("Write each tier as “attainment %: rate %”, e.g. 100: 8.")
                ) from None
            tiers.append({"from": start.strip().rstrip("%"), "rate": rate.strip().rstrip("%")})
        return tiers

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, list):
            return "\n".join(f"{t['from']}: {t['rate']}" for t in value)
        return value or ""


class RuleForm(forms.Form):
    bu_id = forms.TypedChoiceField(label=_("business unit"), coerce=int)
    name = forms.CharField(label=_("name"), max_length=80)
    role_id = forms.TypedChoiceField(label=_("role"), coerce=int, required=False, empty_value=None)
    user_id = forms.TypedChoiceField(
        label=_("sales rep"), coerce=int, required=False, empty_value=None
    )
    rate = forms.CharField(label=_("rate (%)"), max_length=10)
    tiers = TiersField(
        label=_("tiers by attainment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One per line: from which attainment of the quota (%) which rate (%) applies, "
            "e.g. “100: 8” and “120: 10”."
        ),
    )
    valid_from = forms.DateField(label=_("valid from"), widget=DATE)
    valid_to = forms.DateField(label=_("valid to"), widget=DATE, required=False)

    def __init__(
        self,
        *args: Any,
        units: list[BusinessUnit],
        roles: list[Role],
        people: list[User],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bu_id"].choices = [(u.pk, u.name) for u in units]
        self.fields["role_id"].choices = [("", _("Any role"))] + [(r.pk, r.name) for r in roles]
        self.fields["user_id"].choices = [("", _("Any rep"))] + [(p.pk, _person(p)) for p in people]

    @staticmethod
    def initial_from(rule: CommissionRule) -> dict[str, Any]:
        return {
            "bu_id": rule.bu_id,
            "name": rule.name,
            "role_id": rule.role_id,
            "user_id": rule.user_id,
            "rate": rule.rate,
            "tiers": rule.tiers,
            "valid_from": rule.valid_from,
            "valid_to": rule.valid_to,
        }


class SplitForm(forms.Form):
    bu_id = forms.TypedChoiceField(label=_("business unit"), coerce=int)
    user_id = forms.TypedChoiceField(
        label=_("sales rep"), coerce=int, required=False, empty_value=None
    )
    percent = forms.DecimalField(label=_("share (%)"), max_digits=5, decimal_places=2)

    def __init__(
        self, *args: Any, units: list[BusinessUnit], people: list[User], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bu_id"].choices = [(u.pk, u.name) for u in units]
        self.fields["user_id"].choices = [("", _("No rep"))] + [(p.pk, _person(p)) for p in people]


SplitFormSet = forms.formset_factory(SplitForm, extra=2, max_num=10, can_delete=True)
