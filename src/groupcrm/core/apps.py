from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "groupcrm.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from groupcrm.core.permissions import register_module

        register_module("system", _("System"), ("view", "admin"))
