from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ForecastConfig(AppConfig):
    name = "groupcrm.sales.forecast"
    label = "forecast"
    verbose_name = _("Forecast")

    def ready(self) -> None:
        from groupcrm.core.permissions import register_module

        register_module("forecast", _("Forecast and quotas"), ("view", "export", "admin"))
        from groupcrm.sales.forecast import subscribers  # noqa: F401
