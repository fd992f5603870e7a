from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuotesConfig(AppConfig):
    name = "groupcrm.sales.quotes"
    label = "quotes"
    verbose_name = _("Quotes")

    def ready(self) -> None:
        from groupcrm.core.permissions import register_module

        register_module(
            "quotes",
            _("Quotes and products"),
            ("view", "create", "change", "delete", "export", "admin"),
        )
