from decimal import Decimal, InvalidOperation

from django import forms, template
from django.utils.safestring import SafeString

from groupcrm.core.actor import Actor

register = template.Library()


@register.filter
def bs(field: forms.BoundField) -> SafeString:
    """Render a form field's widget with the Bootstrap class that fits it."""
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
        css = "form-check-input"
    elif isinstance(widget, forms.Select):
        css = "form-select"
    else:
        css = "form-control"
    if field.errors:
        css += " is-invalid"
    return field.as_widget(attrs={"class": css})


@register.filter
def cny(value: object) -> str:
    """An amount in yuan with thousands separators and two decimals (¥1,234,567.00);
    Django's zh-hans formats group no digits."""
    try:
        return f"¥{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return ""


@register.filter
def can(actor: Actor | None, permission: str) -> bool:
    """``actor|can:"opportunities.admin"``: whether the actor holds the permission."""
    module, _sep, action = permission.partition(".")
    return bool(actor and actor.can(module, action))
