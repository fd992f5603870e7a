from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConflictsConfig(AppConfig):
    name = "groupcrm.sales.conflicts"
    label = "conflicts"
    verbose_name = _("Ownership conflicts")

    def ready(self) -> None:
        from groupcrm.approvals.registry import register_kind
        from groupcrm.core.permissions import register_module

        register_module(
            "conflicts", _("Ownership conflicts"), ("view", "create", "approve", "admin")
        )
        from groupcrm.customers.merge import register_merge_link

        # A merged customer's conflicts follow it to the survivor (and back); the group a
        # merged top company led is the survivor's now.
        register_merge_link("conflicts.Conflict", "customer")
        register_merge_link("conflicts.Conflict", "group_root")
        # selectors registers the 360 view's card; subscribers the notifications.
        from groupcrm.core.context_processors import NAV_BADGES
        from groupcrm.sales.conflicts import selectors, services, subscribers  # noqa: F401

        NAV_BADGES["conflicts:queue"] = lambda actor: selectors.conflict_queue(actor=actor).count()
        register_kind(
            services.APPROVAL_KIND,
            _("Ownership conflict"),
            module="conflicts",
            on_approved=services.on_approved,
            on_rejected=services.on_rejected,
            describe=services.describe_request,
            subject_url="conflicts:detail",
        )
