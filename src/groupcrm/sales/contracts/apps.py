from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContractsConfig(AppConfig):
    name = "groupcrm.sales.contracts"
    label = "contracts"
    verbose_name = _("Contracts")

    def ready(self) -> None:
        from groupcrm.core.permissions import register_module

        register_module(
            "contracts",
            _("Contracts and payments"),
            ("view", "create", "change", "delete", "export"),
        )
        register_module("expenses", _("Sales expenses"), ("view", "create", "change", "delete"))
