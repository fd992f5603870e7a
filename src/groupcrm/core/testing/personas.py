"""Fixed people in a small group, for every app's tests (design.md §10).

华夏控股 (group) → 华夏制造 (mfg) → 上海团队 (mfg-sh); 华夏控股 → 华夏金融 (fin).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from groupcrm.core.actor import Actor
from groupcrm.org.models import BusinessUnit, Role, User
from groupcrm.org.services import bu_create, role_create, token_create, user_create

PASSWORD = "Persona-Pa55word!"

MODULE_ACTIONS = {
    "org": ["view", "create", "change", "delete", "admin"],
    "announcements": ["view", "create", "change", "delete"],
    "audit": ["view", "export"],
    "system": ["view", "admin"],
    "customers": ["view", "create", "change", "delete", "export", "approve", "admin"],
    "contacts": ["view", "create", "change", "delete", "export", "reveal_pii"],
    "followups": ["view", "create", "change", "delete", "export"],
    "integration": ["view", "create", "admin"],
    "opportunities": ["view", "create", "change", "delete", "export", "admin"],
    "approvals": ["view", "approve", "admin"],
    "leads": ["view", "create", "change", "delete", "export", "admin"],
    "referrals": ["view", "create", "change"],
    "conflicts": ["view", "create", "approve", "admin"],
    "quotes": ["view", "create", "change", "delete", "export", "admin"],
    "contracts": ["view", "create", "change", "delete", "export"],
    "expenses": ["view", "create", "change", "delete"],
    "forecast": ["view", "export", "admin"],
}
WORK = ("view", "create", "change", "delete")
SALES = ("leads", "referrals", "conflicts", "quotes", "contracts", "expenses", "forecast")
CRM = ("customers", "contacts", "followups", "opportunities", *SALES)


def perms(*modules: str, actions: tuple[str, ...] | None = None) -> list[str]:
    return [
        f"{m}.{a}" for m in modules for a in MODULE_ACTIONS[m] if actions is None or a in actions
    ]


@dataclass
class Personas:
    units: dict[str, BusinessUnit] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    def __getattr__(self, name: str) -> User:
        try:
            return self.__dict__["users"][name]
        except KeyError:
            raise AttributeError(name) from None

    def actor(self, name: str) -> Actor:
        return Actor(User.objects.get(pk=self.users[name].pk))

    def token(self, name: str, scope: str = "write") -> str:
        _token, secret = token_create(
            actor=self.actor(name), name="test", scope=scope, expires_in_days=1
        )
        return secret


def build_personas() -> Personas:
    system = Actor.system("tests")
    p = Personas()
    for code, name, kind, parent in [
        ("hx", "华夏控股", "group", None),
        ("mfg", "华夏制造", "subsidiary", "hx"),
        ("mfg-sh", "上海团队", "team", "mfg"),
        ("fin", "华夏金融", "subsidiary", "hx"),
    ]:
        p.units[code] = bu_create(
            actor=system,
            name=name,
            code=code,
            kind=kind,
            parent_id=p.units[parent].pk if parent else None,
        )
    everything = perms("org", "announcements", "audit", "system", "integration", "approvals", *CRM)
    for code, permissions, scope in [
        ("admin", everything, "group"),
        ("analyst", perms("org", "announcements", "audit", *CRM, actions=("view",)), "group"),
        (
            "manager",
            perms("org", "announcements", "audit", "integration", "approvals", *CRM),
            "subtree",
        ),
        (
            "lead",
            [
                *perms("org", "announcements", *CRM, actions=WORK),
                "approvals.view",
                "approvals.approve",
            ],
            "team",
        ),
        ("am", perms("org", "announcements", *CRM, actions=WORK), "own"),
        ("nobody", [], "own"),
    ]:
        p.roles[code] = role_create(
            actor=system, name=code, code=code, permissions=permissions, data_scope=scope
        )
    for username, unit, role in [
        ("admin", "hx", "admin"),
        ("analyst", "hx", "analyst"),
        ("mfg_manager", "mfg", "manager"),
        ("mfg_lead", "mfg", "lead"),
        ("mfg_am", "mfg", "am"),
        ("mfg_am2", "mfg", "am"),
        ("sh_am", "mfg-sh", "am"),
        ("fin_manager", "fin", "manager"),
        ("fin_am", "fin", "am"),
        ("nobody", "mfg", "nobody"),
    ]:
        p.users[username] = user_create(
            actor=system,
            username=username,
            password=PASSWORD,
            bu_id=p.units[unit].pk,
            role_id=p.roles[role].pk,
            display_name=username,
            email=f"{username}@example.com",
        )
    return p
