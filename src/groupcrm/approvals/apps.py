from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "groupcrm.approvals"
    label = "approvals"
    verbose_name = _("Approvals")

    def ready(self) -> None:
        from groupcrm.core.permissions import register_module

        register_module("approvals", _("Approvals"), ("view", "approve", "admin"))
