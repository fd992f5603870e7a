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
        from groupcrm.customers.merge import register_merge_link

        # A merged customer's opportunities follow it to the survivor (and back).
        register_merge_link("sales.Opportunity", "customer")
        # selectors registers the 360 view's opportunity timeline and pipeline roll-ups.
        from groupcrm.sales import selectors  # noqa: F401
