from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "groupcrm.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from groupcrm.core.permissions import register_module

        register_module(
            "opportunities",
            _("Opportunities"),
            ("view", "create", "change", "delete", "export", "admin"),
        )
