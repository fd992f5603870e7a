"""Shapes of UI input for the organisation. Rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from groupcrm.core.actor import Actor
from groupcrm.core.permissions import ACTIONS, MODULES, DataScope
from groupcrm.org.models import ApiToken, BusinessUnit, Role
from groupcrm.org.selectors import units_for


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: BusinessUnit) -> str:
        return f"{'— ' * obj.depth}{obj.name}"


def unit_field(
    actor: Actor, action: str, *, module: str = "org", required: bool = True, label: Any = None
) -> UnitChoiceField:
    """A unit picker offering only the active units where the actor may ``action``."""
    return UnitChoiceField(
        queryset=units_for(actor=actor, module=module, action=action),
        required=required,
        label=label or _("business unit"),
    )


class UnitForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=120)
    code = forms.SlugField(
        label=_("code"), max_length=40, help_text=_("Short unique code, e.g. hx-mfg")
    )
    kind = forms.ChoiceField(label=_("kind"), choices=BusinessUnit.Kind.choices)

    def __init__(self, *args: Any, actor: Actor, with_parent: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if with_parent:
            self.fields["parent"] = unit_field(
                actor, "create", required=False, label=_("parent unit")
            )


class MoveForm(forms.Form):
    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"] = unit_field(actor, "change", label=_("new parent unit"))


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("username"), max_length=150)
    display_name = forms.CharField(label=_("display name"), max_length=60, required=False)
    email = forms.EmailField(label=_("email"), required=False)
    phone = forms.CharField(label=_("phone"), max_length=30, required=False)
    title = forms.CharField(label=_("job title"), max_length=60, required=False)
    language = forms.ChoiceField(label=_("language"), choices=settings.LANGUAGES)
    password = forms.CharField(
        label=_("initial password"),
        widget=forms.PasswordInput(render_value=True),
        help_text=_("At least 12 characters, not a common password."),
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bu"] = unit_field(actor, "create")
        self.fields["role"] = forms.ModelChoiceField(
            queryset=Role.objects.filter(is_active=True), label=_("role")
        )


class UserEditForm(forms.Form):
    display_name = forms.CharField(label=_("display name"), max_length=60, required=False)
    email = forms.EmailField(label=_("email"), required=False)
    phone = forms.CharField(label=_("phone"), max_length=30, required=False)
    title = forms.CharField(label=_("job title"), max_length=60, required=False)
    language = forms.ChoiceField(label=_("language"), choices=settings.LANGUAGES)


class MembershipForm(forms.Form):
    is_primary = forms.BooleanField(label=_("primary"), required=False)

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bu"] = unit_field(actor, "admin")
        self.fields["role"] = forms.ModelChoiceField(
            queryset=Role.objects.filter(is_active=True), label=_("role")
        )
        self.order_fields(["bu", "role", "is_primary"])


def permission_choices() -> list[tuple[Any, list[tuple[str, Any]]]]:
    return [
        (module.label, [(f"{module.code}.{a}", ACTIONS[a]) for a in module.actions])
        for module in MODULES.values()
    ]


class RoleForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=60)
    code = forms.SlugField(label=_("code"), max_length=40)
    description = forms.CharField(
        label=_("description"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    data_scope = forms.ChoiceField(label=_("data scope"), choices=DataScope.choices)
    mfa_required = forms.BooleanField(label=_("two-factor authentication required"), required=False)
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)
    permissions = forms.MultipleChoiceField(
        label=_("permissions"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["permissions"].choices = permission_choices()


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label=_("current password"), widget=forms.PasswordInput)
    new_password = forms.CharField(
        label=_("new password"),
        widget=forms.PasswordInput,
        help_text=_("At least 12 characters, not a common password."),
    )
    new_password2 = forms.CharField(label=_("new password (again)"), widget=forms.PasswordInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_password") != data.get("new_password2"):
            self.add_error("new_password2", _("The two passwords do not match."))
        return data


class TokenForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=60, initial="API")
    scope = forms.ChoiceField(label=_("scope"), choices=ApiToken.Scope.choices)
    expires_in_days = forms.IntegerField(
        label=_("valid for (days)"), initial=90, min_value=1, max_value=settings.API_TOKEN_MAX_DAYS
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("six-digit code"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )
