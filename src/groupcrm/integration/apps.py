from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationConfig(AppConfig):
    name = "groupcrm.integration"
    label = "integration"
    verbose_name = _("Data integration")

    def ready(self) -> None:
        from groupcrm.core.permissions import register_module

        register_module("integration", _("Data integration"), ("view", "create", "admin"))
        from groupcrm.customers.merge import register_merge_hook, register_merge_link

        # A merged customer's lineage follows it to the survivor (and back on unmerge).
        register_merge_link("integration.SourceRecord", "customer")
        # lineage and quality add to the 360 view; survivorship subscribes to customer edits.
        from groupcrm.integration import lineage, quality, survivorship  # noqa: F401

        # So does the provenance of the values a merge fills in.
        register_merge_hook(survivorship.merged, survivorship.unmerged)
