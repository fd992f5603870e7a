from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "groupcrm.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from groupcrm.core.permissions import register_module
        from groupcrm.org import subscribers  # noqa: F401  (registers event subscribers)

        register_module("org", _("Organisation"), ("view", "create", "change", "delete", "admin"))
