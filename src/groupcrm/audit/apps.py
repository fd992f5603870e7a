from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "groupcrm.audit"
    label = "audit"
    verbose_name = _("Audit")

    def ready(self) -> None:
        from groupcrm.core.permissions import register_module

        register_module("audit", _("Audit log"), ("view", "export"))
