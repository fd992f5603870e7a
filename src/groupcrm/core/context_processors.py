"""What every page's shell needs: navigation for the modules that exist, unread count."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from groupcrm.core.selectors import unread_count


@dataclass(frozen=True)
class NavItem:
    label: Promise
    url_name: str
    icon: str
    module: str
    action: str = "view"
    # Items of one section share a drop-down menu of the top bar; None: on the bar itself.
    section: Promise | None = None


# Later modules (customers, sales, service…) add their entries here when they exist.
CUSTOMERS = _("Customer management")
SALES = _("Sales")
DATA = _("Data management")
ADMIN = _("Administration")

NAVIGATION: list[NavItem] = [
    NavItem(_("Dashboard"), "dashboard", "speedometer2", ""),
    NavItem(_("Customers"), "customers:list", "building", "customers", section=CUSTOMERS),
    NavItem(
        _("My customers"), "customers:relationships", "person-vcard", "customers", section=CUSTOMERS
    ),
    NavItem(_("Public pool"), "customers:pool", "water", "customers", section=CUSTOMERS),
    NavItem(
        _("Follow-ups"), "customers:followups", "chat-left-text", "followups", section=CUSTOMERS
    ),
    NavItem(_("Leads"), "leads:list", "funnel", "leads", section=SALES),
    NavItem(_("Lead queue"), "leads:queue", "inbox", "leads", "change", SALES),
    NavItem(_("Opportunities"), "sales:list", "graph-up-arrow", "opportunities", section=SALES),
    NavItem(_("Sales board"), "sales:board", "kanban", "opportunities", section=SALES),
    NavItem(_("Referrals"), "leads:referrals", "share", "referrals", section=SALES),
    NavItem(_("Ownership conflicts"), "conflicts:list", "flag", "conflicts", section=SALES),
    NavItem(_("Conflict arbitration"), "conflicts:queue", "hammer", "conflicts", "approve", SALES),
    NavItem(_("Quotes"), "quotes:list", "file-earmark-ruled", "quotes", section=SALES),
    NavItem(_("Products"), "quotes:products", "box-seam", "quotes", section=SALES),
    NavItem(_("Contracts"), "contracts:list", "file-earmark-text", "contracts", section=SALES),
    NavItem(_("Receivables"), "contracts:receivables", "cash-coin", "contracts", section=SALES),
    NavItem(_("Expenses"), "contracts:expenses", "receipt", "expenses", section=SALES),
    NavItem(
        _("Forecast and attainment"), "forecast:dashboard", "graph-up", "forecast", section=SALES
    ),
    NavItem(_("Quotas"), "forecast:quotas", "bullseye", "forecast", "admin", SALES),
    NavItem(_("Commission"), "forecast:commission", "cash-coin", "forecast", section=SALES),
    NavItem(_("Approvals"), "approvals:inbox", "check2-square", "approvals"),
    NavItem(_("Imports"), "integration:jobs", "upload", "integration", section=DATA),
    NavItem(_("Duplicates"), "integration:duplicates", "intersect", "customers", "admin", DATA),
    NavItem(
        _("Data quality"), "integration:quality", "clipboard2-check", "customers", section=DATA
    ),
    NavItem(_("Announcements"), "announcements:list", "megaphone", "announcements"),
    NavItem(_("Org chart"), "org:chart", "diagram-3", "org", section=ADMIN),
    NavItem(_("Business units"), "org:units", "buildings", "org", section=ADMIN),
    NavItem(_("Users"), "org:users", "people", "org", section=ADMIN),
    NavItem(_("Roles"), "org:roles", "shield-lock", "org", "admin", ADMIN),
    NavItem(_("Audit log"), "audit:log", "journal-text", "audit", section=ADMIN),
    NavItem(_("Access log"), "audit:access", "eye", "audit", section=ADMIN),
    NavItem(_("Events"), "system:events", "broadcast", "system", "admin", ADMIN),
]

# A count shown next to a navigation item (e.g. what awaits approval), by URL name; apps
# register theirs in AppConfig.ready so the shell does not import them.
NAV_BADGES: dict[str, Callable[[Any], int]] = {}


def shell(request: HttpRequest) -> dict[str, Any]:
    """The top bar: items the actor may use, each section's items in one drop-down
    (active and badged when one of its items is)."""
    actor = getattr(request, "actor", None)
    if not actor:
        return {}
    view_name = request.resolver_match.view_name if request.resolver_match else None
    nav: list[dict[str, Any]] = []
    sections: dict[str, dict[str, Any]] = {}
    for item in NAVIGATION:
        if item.module and not actor.can(item.module, item.action):
            continue
        entry = {
            "label": item.label,
            "url": reverse(item.url_name),
            "icon": item.icon,
            "active": view_name == item.url_name,
            "badge": NAV_BADGES[item.url_name](actor) if item.url_name in NAV_BADGES else 0,
        }
        if item.section is None:
            nav.append(entry)
            continue
        section = sections.get(str(item.section))
        if section is None:
            section = {"label": item.section, "children": [], "active": False, "badge": 0}
            sections[str(item.section)] = section
            nav.append(section)
        section["children"].append(entry)
        section["active"] |= entry["active"]
        section["badge"] += entry["badge"]
    return {"nav": nav, "unread_notifications": unread_count(actor=actor), "actor": actor}
