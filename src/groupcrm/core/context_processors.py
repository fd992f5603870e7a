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


# Later modules (customers, sales, service…) add their entries here when they exist.
NAVIGATION: list[NavItem] = [
    NavItem(_("Dashboard"), "dashboard", "speedometer2", ""),
    NavItem(_("Customers"), "customers:list", "building", "customers"),
    NavItem(_("My customers"), "customers:relationships", "person-vcard", "customers"),
    NavItem(_("Public pool"), "customers:pool", "water", "customers"),
    NavItem(_("Follow-ups"), "customers:followups", "chat-left-text", "followups"),
    NavItem(_("Opportunities"), "sales:list", "graph-up-arrow", "opportunities"),
    NavItem(_("Sales board"), "sales:board", "kanban", "opportunities"),
    NavItem(_("Ownership conflicts"), "conflicts:list", "flag", "conflicts"),
    NavItem(_("Conflict arbitration"), "conflicts:queue", "hammer", "conflicts", "approve"),
    NavItem(_("Leads"), "leads:list", "funnel", "leads"),
    NavItem(_("Referrals"), "leads:referrals", "share", "referrals"),
    NavItem(_("Quotes"), "quotes:list", "file-earmark-ruled", "quotes"),
    NavItem(_("Products"), "quotes:products", "box-seam", "quotes"),
    NavItem(_("Contracts"), "contracts:list", "file-earmark-text", "contracts"),
    NavItem(_("Receivables"), "contracts:receivables", "cash-coin", "contracts"),
    NavItem(_("Expenses"), "contracts:expenses", "receipt", "expenses"),
    NavItem(_("Forecast and attainment"), "forecast:dashboard", "graph-up", "forecast"),
    NavItem(_("Quotas"), "forecast:quotas", "bullseye", "forecast", "admin"),
    NavItem(_("Commission"), "forecast:commission", "cash-coin", "forecast"),
    NavItem(_("Approvals"), "approvals:inbox", "check2-square", "approvals"),
    NavItem(_("Imports"), "integration:jobs", "upload", "integration"),
    NavItem(_("Duplicates"), "integration:duplicates", "intersect", "customers", "admin"),
    NavItem(_("Data quality"), "integration:quality", "clipboard2-check", "customers"),
    NavItem(_("Announcements"), "announcements:list", "megaphone", "announcements"),
    NavItem(_("Org chart"), "org:chart", "diagram-3", "org"),
    NavItem(_("Business units"), "org:units", "buildings", "org"),
    NavItem(_("Users"), "org:users", "people", "org"),
    NavItem(_("Roles"), "org:roles", "shield-lock", "org", "admin"),
    NavItem(_("Audit log"), "audit:log", "journal-text", "audit"),
    NavItem(_("Access log"), "audit:access", "eye", "audit"),
    NavItem(_("Events"), "system:events", "broadcast", "system", "admin"),
]

# A count shown next to a navigation item (e.g. what awaits approval), by URL name; apps
# register theirs in AppConfig.ready so the shell does not import them.
NAV_BADGES: dict[str, Callable[[Any], int]] = {}


def shell(request: HttpRequest) -> dict[str, Any]:
    actor = getattr(request, "actor", None)
    if not actor:
        return {}
    nav = [
        {
            "label": item.label,
            "url": reverse(item.url_name),
            "icon": item.icon,
            "active": request.resolver_match is not None
            and request.resolver_match.view_name == item.url_name,
            "badge": NAV_BADGES[item.url_name](actor) if item.url_name in NAV_BADGES else 0,
        }
        for item in NAVIGATION
        if not item.module or actor.can(item.module, item.action)
    ]
    return {"nav": nav, "unread_notifications": unread_count(actor=actor), "actor": actor}
