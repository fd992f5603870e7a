"""The permission vocabulary: modules (one per app that owns data) and actions.

A Role holds ``"module.action"`` strings and one data scope. Apps register their module
in ``AppConfig.ready`` so that the role editor and the navigation know what exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTIONS: dict[str, Promise] = {
    "view": _("View"),
    "create": _("Create"),
    "change": _("Change"),
    "delete": _("Delete"),
    "export": _("Export"),
    "reveal_pii": _("Reveal personal data"),
    "approve": _("Approve"),
    "admin": _("Administer"),
}


class DataScope(models.TextChoices):
    """How far a role's grants reach, narrowest first."""

    OWN = "own", _("Own records")
    TEAM = "team", _("Own team (the membership's unit)")
    SUBTREE = "subtree", _("Unit and all units below it")
    GROUP = "group", _("Whole group")


@dataclass(frozen=True)
class Module:
    code: str
    label: Promise
    actions: tuple[str, ...]


MODULES: dict[str, Module] = {}


def register_module(code: str, label: Promise, actions: tuple[str, ...]) -> None:
    unknown = set(actions) - set(ACTIONS)
    if unknown:
        raise ValueError(f"unknown actions for module {code}: {sorted(unknown)}")
    MODULES[code] = Module(code, label, actions)


def all_permissions() -> list[str]:
    return [f"{m.code}.{a}" for m in MODULES.values() for a in m.actions]
