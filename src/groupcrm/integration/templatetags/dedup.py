"""Readable reasons of a candidate pair: which field agreed, and how."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

register = template.Library()

FIELDS = {
    "name": _("name"),
    "uscc": _("credit code"),
    "phone": _("contact mobile"),
    "address": _("address"),
    "website": _("website"),
    "mobile": _("mobile"),
    "email": _("email"),
    "company": pgettext_lazy("duplicate reason", "company"),
}
AGREEMENTS = {"exact": _("same"), "partial": _("similar"), "differs": _("differs")}


@register.filter
def reason_field(name: str) -> str:
    """The field a reason is about, as people call it (the engine's name otherwise)."""
    return str(FIELDS.get(name, name))


@register.filter
def reason_agreement(agreement: str) -> str:
    return str(AGREEMENTS.get(agreement, agreement))
