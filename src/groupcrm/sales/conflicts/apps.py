from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConflictsConfig(AppConfig):
    name = "groupcrm.sales.conflicts"
    label = "conflicts"
    verbose_name = _("Ownership conflicts")

    def ready(self) -> None:
        from groupcrm.core.permissions import register_module

        register_module(
            "conflicts", _("Ownership conflicts"), ("view", "create", "approve", "admin")
        )
