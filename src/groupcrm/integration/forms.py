from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from groupcrm.core.actor import Actor
from groupcrm.integration.models import ImportJob, ImportSource
from groupcrm.org.forms import unit_field


class ImportForm(forms.Form):
    file = forms.FileField(label=_("file"), help_text=_("CSV (UTF-8 or GBK) or XLSX, up to 2 GB."))
    source = forms.ModelChoiceField(label=_("source"), queryset=ImportSource.objects.all())
    entity = forms.ChoiceField(label=_("what"), choices=ImportJob.Entity.choices)
    dry_run = forms.BooleanField(
        label=_("dry run: check every row, write nothing"), required=False, initial=True
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bu"] = unit_field(
            actor, "create", module="integration", label=_("import into unit")
        )
        self.order_fields(["file", "source", "entity", "bu", "dry_run"])


class SourceForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=60)
    kind = forms.ChoiceField(label=_("kind"), choices=ImportSource.Kind.choices)
