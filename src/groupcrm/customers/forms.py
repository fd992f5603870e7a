from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from groupcrm.customers.models import (
    Collaborator,
    Contact,
    Customer,
    CustomerRelationship,
    FollowUp,
    PoolRule,
)
from groupcrm.customers.reference import industry_choices
from groupcrm.org.models import User

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _blank(choices: Any) -> list[tuple[str, Any]]:
    return [("", "—"), *choices]


class CustomerForm(forms.Form):
    legal_name = forms.CharField(label=_("legal name"), max_length=200)
    short_name = forms.CharField(label=_("short name"), max_length=60, required=False)
    uscc = forms.CharField(
        label=_("unified social credit code"),
        max_length=40,
        required=False,
        help_text=_("18 characters, on the business licence."),
    )
    legal_form = forms.ChoiceField(
        label=_("legal form"), choices=_blank(Customer.LegalForm.choices), required=False
    )
    industry = forms.ChoiceField(label=_("industry"), required=False)
    size = forms.ChoiceField(
        label=_("company size"), choices=_blank(Customer.Size.choices), required=False
    )
    employees = forms.IntegerField(label=_("employees"), min_value=0, required=False)
    annual_revenue = forms.DecimalField(
        label=_("annual revenue (10k CNY)"), min_value=0, decimal_places=2, required=False
    )
    address = forms.CharField(
        label=_("address"),
        max_length=200,
        required=False,
        help_text=_("Province, city and district are read from the address."),
    )
    website = forms.CharField(label=_("website"), max_length=200, required=False)
    tags = forms.CharField(
        label=_("tags"), required=False, help_text=_("Separate tags with commas.")
    )
    source = forms.ChoiceField(
        label=_("source"), choices=Customer.Source.choices, initial=Customer.Source.MANUAL
    )
    group_grade = forms.ChoiceField(
        label=_("group grade"), choices=_blank(Customer.Grade.choices), required=False
    )
    parent_id = forms.IntegerField(
        label=_("parent company"),
        required=False,
        widget=forms.HiddenInput(attrs={"data-picker": "customer"}),
    )
    similar_override_reason = forms.CharField(
        label=_("reason to create despite similar names"),
        max_length=200,
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["industry"].choices = [("", "—"), *industry_choices(get_language() or "")]
        if editing:
            del self.fields["parent_id"]
            self.fields["status"] = forms.ChoiceField(
                label=_("status"),
                choices=[
                    (Customer.Status.ACTIVE, Customer.Status.ACTIVE.label),
                    (Customer.Status.ARCHIVED, Customer.Status.ARCHIVED.label),
                ],
            )
            self.fields["change_reason"] = forms.CharField(
                label=_("reason for the change"),
                max_length=200,
                required=False,
                help_text=_(
                    "Changes to the legal name, credit code or group grade wait for a "
                    "second person's approval."
                ),
            )

    def reveal_override(self) -> None:
        """After a similar-names warning: let the person give a reason and go on."""
        self.fields["similar_override_reason"].widget = forms.TextInput()

    def cleaned_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["tags"] = [t for t in data.get("tags", "").replace("，", ",").split(",") if t.strip()]
        return data


class MoveForm(forms.Form):
    parent_id = forms.IntegerField(
        label=_("new parent company"),
        required=False,
        widget=forms.HiddenInput(attrs={"data-picker": "customer"}),
        help_text=_("Leave empty to make it a top-level company."),
    )


class ContactForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=60)
    title = forms.CharField(label=_("job title"), max_length=60, required=False)
    department = forms.CharField(label=_("department"), max_length=60, required=False)
    role = forms.ChoiceField(
        label=_("decision-chain role"), choices=Contact.Role.choices, initial=Contact.Role.OTHER
    )
    mobile = forms.CharField(label=_("mobile phone"), max_length=40, required=False)
    phone = forms.CharField(label=_("office phone"), max_length=40, required=False)
    email = forms.CharField(label=_("email"), max_length=254, required=False)
    wechat_id = forms.CharField(label=_("WeChat ID"), max_length=40, required=False)
    id_number = forms.CharField(label=_("ID number"), max_length=18, required=False)
    birthday = forms.DateField(label=_("birthday"), required=False, widget=DATE)
    birthday_lunar = forms.BooleanField(label=_("birthday is a lunar date"), required=False)
    preferred_channel = forms.ChoiceField(
        label=_("preferred channel"), choices=_blank(Contact.Channel.choices), required=False
    )
    notes = forms.CharField(
        label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    status = forms.ChoiceField(
        label=_("status"), choices=Contact.Status.choices, initial=Contact.Status.ACTIVE
    )


class FollowUpForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("type"), choices=FollowUp.Kind.choices, initial=FollowUp.Kind.CALL
    )
    occurred_at = forms.DateTimeField(label=_("time"), required=False, widget=DATETIME)
    content = forms.CharField(label=_("content"), widget=forms.Textarea(attrs={"rows": 3}))
    outcome = forms.CharField(label=_("outcome"), max_length=200, required=False)
    next_step = forms.CharField(label=_("next step"), max_length=200, required=False)
    next_due = forms.DateField(label=_("next step due"), required=False, widget=DATE)
    location = forms.CharField(
        label=_("check-in location"),
        max_length=200,
        required=False,
        help_text=_("For visits: where you checked in."),
    )
    contact_ids = forms.TypedMultipleChoiceField(
        label=_("contacts"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault(
            "occurred_at", timezone.localtime().replace(second=0, microsecond=0)
        )
        super().__init__(*args, **kwargs)
        self.fields["contact_ids"].choices = [
            (c.pk, f"{c.name} · {c.get_role_display()}")
            for c in customer.contacts.filter(status=Contact.Status.ACTIVE)
        ]


class RelationshipForm(forms.Form):
    stage = forms.ChoiceField(label=_("stage"), choices=CustomerRelationship.Stage.choices)
    grade = forms.ChoiceField(label=_("unit grade"), required=False)
    notes = forms.CharField(
        label=_("internal notes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Seen only inside your unit's scope."),
    )
    protected_until = forms.DateField(
        label=_("protected until"),
        required=False,
        widget=DATE,
        help_text=_("No automatic return to the pool before this day."),
    )

    def __init__(self, *args: Any, grades: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grade"].choices = [("", "—"), *((g, g) for g in grades)]


class OwnerForm(forms.Form):
    owner_id = forms.TypedChoiceField(label=_("account manager"), coerce=int)

    def __init__(self, *args: Any, people: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_id"].choices = [
            (u.pk, f"{u.display_name or u.username} ({u.username})") for u in people
        ]


class ReleaseForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200)


class CollaboratorForm(forms.Form):
    user_id = forms.TypedChoiceField(label=_("user"), coerce=int)
    access = forms.ChoiceField(label=_("access"), choices=Collaborator.Access.choices)

    def __init__(self, *args: Any, people: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user_id"].choices = [
            (u.pk, f"{u.display_name or u.username} ({u.username})") for u in people
        ]


class PoolRuleForm(forms.ModelForm):
    grades = forms.CharField(
        label=_("unit grades"),
        help_text=_("Separate grades with commas, best first, e.g. A, B, C."),
    )

    class Meta:
        model = PoolRule
        fields = [
            "max_owned",
            "daily_claim_limit",
            "reclaim_after_days",
            "exempt_won",
            "exempt_open_opportunity",
            "reclaim_without_opportunity_days",
            "protection_days",
        ]

    def clean_grades(self) -> list[str]:
        raw = self.cleaned_data["grades"].replace("，", ",")
        return [g.strip() for g in raw.split(",") if g.strip()]
