from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnnouncementsConfig(AppConfig):
    name = "groupcrm.announcements"
    label = "announcements"
    verbose_name = _("Announcements")

    def ready(self) -> None:
        from groupcrm.core.permissions import register_module

        register_module("announcements", _("Announcements"), ("view", "create", "change", "delete"))
