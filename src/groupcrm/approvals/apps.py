from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "groupcrm.approvals"
    label = "approvals"
    verbose_name = _("Approvals")

    def ready(self) -> None:
        from groupcrm.approvals import subscribers  # noqa: F401  (registers handlers)
        from groupcrm.approvals.selectors import pending_count
        from groupcrm.core.context_processors import NAV_BADGES
        from groupcrm.core.permissions import register_module

        register_module("approvals", _("Approvals"), ("view", "approve", "admin"))
        NAV_BADGES["approvals:inbox"] = lambda actor: pending_count(actor=actor)
