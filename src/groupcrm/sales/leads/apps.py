from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "groupcrm.sales.leads"
    label = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        from groupcrm.core.permissions import register_module

        register_module(
            "leads", _("Leads"), ("view", "create", "change", "delete", "export", "admin")
        )
        register_module("referrals", _("Referrals"), ("view", "create", "change"))
        # selectors registers the 360 page's referrals card; subscribers the notifications.
        from groupcrm.sales.leads import selectors, subscribers  # noqa: F401
