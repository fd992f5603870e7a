from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from groupcrm.core.actor import Actor
from groupcrm.org.forms import unit_field


class AnnouncementForm(forms.Form):
    title = forms.CharField(label=_("title"), max_length=120)
    body = forms.CharField(label=_("content"), widget=forms.Textarea(attrs={"rows": 6}))
    pinned = forms.BooleanField(label=_("pinned"), required=False)
    publish_at = forms.DateTimeField(
        label=_("publish at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    expires_at = forms.DateTimeField(
        label=_("expires at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, actor: Actor, with_unit: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if with_unit:
            self.fields["bu"] = unit_field(
                actor, "create", module="announcements", label=_("publish to unit")
            )
            self.order_fields(["bu", "title", "body"])
