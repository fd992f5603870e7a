from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "groupcrm.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from groupcrm.core.permissions import register_module

        register_module(
            "customers",
            _("Customers"),
            ("view", "create", "change", "delete", "export", "approve", "admin"),
        )
        register_module(
            "contacts",
            _("Contacts"),
            ("view", "create", "change", "delete", "export", "reveal_pii"),
        )
        register_module(
            "followups", _("Follow-ups"), ("view", "create", "change", "delete", "export")
        )
        from groupcrm.customers import subscribers  # noqa: F401  (registers handlers)
