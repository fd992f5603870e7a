"""The shape of the lead and referral pages' input; the rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from groupcrm.customers.reference import industry_choices
from groupcrm.org.models import BusinessUnit, User
from groupcrm.sales.leads.models import AssignmentRule, Lead, Territory

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _people(people: list[User]) -> list[tuple[Any, str]]:
    return [(p.pk, p.display_name or p.username) for p in people]


class LeadForm(forms.Form):
    company_name = forms.CharField(label=_("company name"), max_length=200)
    uscc = forms.CharField(label=_("USCC"), max_length=30, required=False)
    contact_name = forms.CharField(label=_("contact name"), max_length=60, required=False)
    phone = forms.CharField(label=_("phone"), max_length=40, required=False)
    email = forms.CharField(label=_("email"), max_length=200, required=False)
    province = forms.CharField(label=_("province"), max_length=20, required=False)
    city = forms.CharField(label=_("city"), max_length=30, required=False)
    industry = forms.ChoiceField(label=_("industry"), required=False)
    bu_id = forms.TypedChoiceField(label=_("business unit"), coerce=int)
    owner_id = forms.TypedChoiceField(
        label=_("owner"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("Leave empty to let the unit's assignment rules choose."),
    )
    notes = forms.CharField(
        label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(
        self,
        *args: Any,
        units: list[BusinessUnit],
        people: list[User],
        own_only: bool = False,
        masked: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["industry"].choices = [("", "—"), *industry_choices(get_language() or "")]
        self.fields["bu_id"].choices = [(u.pk, u.name) for u in units]
        self.fields["owner_id"].choices = [("", _("— by the rules / queue —")), *_people(people)]
        if own_only:
            # Someone who works only their own records owns what they capture or edit.
            self.fields["owner_id"].choices = _people(people)
            self.fields["owner_id"].required = True
            self.fields["owner_id"].help_text = ""
        if masked is not None:
            # Editing: personal data is never sent back to the browser in clear.
            del self.fields["bu_id"]
            if not self.fields["owner_id"].required:
                self.fields["owner_id"].help_text = _("Leave empty to put the lead in the queue.")
            for name in ("phone", "email"):
                self.fields[name].help_text = _("Now %(masked)s; leave empty to keep it.") % {
                    "masked": masked[name] or "—"
                }

    @staticmethod
    def initial_from(lead: Lead) -> dict[str, Any]:
        return {
            name: getattr(lead, name)
            for name in (
                "company_name",
                "uscc",
                "contact_name",
                "province",
                "city",
                "industry",
                "owner_id",
                "notes",
            )
        }


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Lead.Status.choices)
    reason = forms.CharField(max_length=200, required=False)


class ConvertForm(forms.Form):
    customer_id = forms.TypedChoiceField(
        label=_("customer"),
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    similar_override_reason = forms.CharField(
        label=_("reason to create a new customer anyway"), max_length=200, required=False
    )
    create_opportunity = forms.BooleanField(label=_("also create an opportunity"), required=False)
    opportunity_name = forms.CharField(label=_("opportunity name"), max_length=120, required=False)
    amount = forms.CharField(label=_("amount (CNY)"), max_length=30, required=False)
    expected_close = forms.DateField(label=_("expected close"), widget=DATE, required=False)

    def __init__(self, *args: Any, choices: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer_id"].choices = choices


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV or XLSX file"))
    bu_id = forms.TypedChoiceField(label=_("business unit"), coerce=int)

    def __init__(self, *args: Any, units: list[BusinessUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bu_id"].choices = [(u.pk, u.name) for u in units]


class TerritoryForm(forms.Form):
    bu_id = forms.TypedChoiceField(label=_("business unit"), coerce=int)
    name = forms.CharField(label=_("name"), max_length=60)
    provinces = forms.CharField(
        label=_("provinces"),
        required=False,
        help_text=_("Separated by commas, e.g. 上海市, 江苏省; empty: any province."),
    )
    industries = forms.CharField(
        label=_("industries"),
        required=False,
        help_text=_("Division codes or section letters, e.g. 34, 35 or C; empty: any."),
    )

    def __init__(
        self, *args: Any, units: list[BusinessUnit], editing: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bu_id"].choices = [(u.pk, u.name) for u in units]
        if editing:
            del self.fields["bu_id"]

    @staticmethod
    def initial_from(territory: Territory) -> dict[str, Any]:
        return {
            "name": territory.name,
            "provinces": ", ".join(territory.provinces),
            "industries": ", ".join(territory.industries),
        }


class RuleForm(forms.Form):
    bu_id = forms.TypedChoiceField(label=_("business unit"), coerce=int)
    name = forms.CharField(label=_("name"), max_length=60)
    order = forms.IntegerField(label=_("order"), min_value=0, max_value=999, required=False)
    kind = forms.ChoiceField(label=_("kind"), choices=AssignmentRule.Kind.choices)
    territory_id = forms.TypedChoiceField(
        label=_("territory"), coerce=int, empty_value=None, required=False
    )
    member_ids = forms.TypedMultipleChoiceField(label=_("members"), coerce=int)
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)

    def __init__(
        self,
        *args: Any,
        units: list[BusinessUnit],
        territories: list[Territory],
        people: list[User],
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bu_id"].choices = [(u.pk, u.name) for u in units]
        self.fields["territory_id"].choices = [
            ("", "—"),
            *[(t.pk, f"{t.name} · {t.bu.name}") for t in territories],
        ]
        self.fields["member_ids"].choices = _people(people)
        if editing:
            del self.fields["bu_id"]

    @staticmethod
    def initial_from(rule: AssignmentRule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "order": rule.order,
            "kind": rule.kind,
            "territory_id": rule.territory_id,
            "member_ids": [m.pk for m in rule.members.all()],
            "is_active": rule.is_active,
        }


class ReferralForm(forms.Form):
    item = forms.ChoiceField(label=_("lead or opportunity"))
    to_bu_id = forms.TypedChoiceField(label=_("to unit"), coerce=int)
    to_user_id = forms.TypedChoiceField(
        label=_("suggested owner"), coerce=int, empty_value=None, required=False
    )
    # Kept as text: the service gives one message for "abc", 0, 100 and 20.123.
    referrer_percent = forms.CharField(
        label=_("referrer's share (%)"),
        max_length=20,
        help_text=_("The share of the won amount credited to your unit and you, e.g. 20."),
    )
    note = forms.CharField(
        label=_("note for the receiving unit"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(
        self,
        *args: Any,
        items: list[tuple[str, str]],
        units: list[BusinessUnit],
        people: list[User],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = items
        self.fields["to_bu_id"].choices = [("", "—"), *[(u.pk, u.name) for u in units]]
        self.fields["to_user_id"].choices = [("", "—"), *_people(people)]

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        kind, _sep, pk = data.pop("item").partition(":")
        data["lead_id" if kind == "lead" else "opportunity_id"] = int(pk)
        return data


class AcceptForm(forms.Form):
    owner_id = forms.TypedChoiceField(label=_("owner"), coerce=int)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, people: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_id"].choices = _people(people)


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("reason for declining"), max_length=200, required=False)
