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
        from groupcrm.customers.merge import register_merge_link

        # A merged customer's referrals, and the leads that became it (where the lead's
        # company went), follow it to the survivor (and back).
        register_merge_link("leads.Referral", "customer")
        register_merge_link("leads.Lead", "converted_customer")
        # selectors registers the 360 page's referrals card; subscribers the notifications.
        from groupcrm.sales.leads import selectors, subscribers  # noqa: F401
