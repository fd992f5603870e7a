from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuotesConfig(AppConfig):
    name = "groupcrm.sales.quotes"
    label = "quotes"
    verbose_name = _("Quotes")

    def ready(self) -> None:
        from groupcrm.approvals.registry import register_kind
        from groupcrm.core.permissions import register_module
        from groupcrm.sales.quotes import (
            selectors,  # noqa: F401  (the 360 view's card)
            services,
        )

        register_module(
            "quotes",
            _("Quotes and products"),
            ("view", "create", "change", "delete", "export", "admin"),
        )
        register_kind(
            services.APPROVAL_KIND,
            _("Quote discount"),
            module="quotes",
            on_approved=services.on_discount_approved,
            on_rejected=services.on_discount_rejected,
            describe=services.describe_discount,
            subject_url="quotes:detail",
        )
        # A merged customer's quotes follow it to the survivor (and back), as its
        # opportunities do.
        from groupcrm.customers.merge import register_merge_link

        register_merge_link("quotes.Quote", "customer")
