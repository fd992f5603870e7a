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
        from groupcrm.customers.merge import register_merge_link
        from groupcrm.sales.contracts import (
            expenses,
            selectors,  # noqa: F401  (the 360° receivables card)
            subscribers,  # noqa: F401  (registers handlers)
        )

        # A merged customer's contracts follow it to the survivor (and back).
        register_merge_link("contracts.Contract", "customer")
        expenses.register()
