"""Reads on the organisation, always through the scoping point."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from groupcrm.core.actor import Actor
from groupcrm.core.errors import NotFound
from groupcrm.core.permissions import DataScope
from groupcrm.core.scoping import scoped_get
from groupcrm.org.models import ApiToken, BusinessUnit, Membership, Role, User


def bu_list(
    *, actor: Actor, action: str = "view", active: bool | None = None
) -> QuerySet[BusinessUnit]:
    units = BusinessUnit.objects.visible_to(actor, action)
    if active is not None:
        units = units.filter(is_active=active)
    return units.order_by("path")


def units_for(*, actor: Actor, module: str, action: str) -> QuerySet[BusinessUnit]:
    """Units in which ``actor`` may ``action`` rows of ``module``: a unit picker's choices.

    Own and team scopes reach the membership's unit itself; subtree reaches below it."""
    units = BusinessUnit.objects.filter(is_active=True).order_by("path")
    if actor.is_system or actor.is_superuser:
        return units
    condition = Q(pk__in=[])
    for grant in actor.grants(module, action):
        if grant.scope == DataScope.GROUP:
            return units
        if grant.scope == DataScope.SUBTREE:
            condition |= Q(path__startswith=grant.bu_path)
        else:
            condition |= Q(pk=grant.bu_id)
    return units.filter(condition)


def unit_path(bu_id: int) -> str:
    """The tree path of a unit, for "this unit and below" filters; an unknown id gives
    a path no unit has, so the filter matches nothing."""
    return BusinessUnit.objects.filter(pk=bu_id).values_list("path", flat=True).first() or "-"


def bu_get(*, actor: Actor, pk: int, action: str = "view") -> BusinessUnit:
    return scoped_get(BusinessUnit, actor=actor, pk=pk, action=action)


@dataclass
class ChartNode:
    unit: BusinessUnit
    members: list[Membership] = field(default_factory=list)
    children: list[ChartNode] = field(default_factory=list)


def org_chart(*, actor: Actor) -> list[ChartNode]:
    """The visible part of the BU tree with each unit's active members (two queries)."""
    units = list(bu_list(actor=actor))
    members: dict[int, list[Membership]] = defaultdict(list)
    for m in (
        Membership.objects.filter(bu__in=units, is_active=True, user__is_active=True)
        .select_related("user", "role")
        .order_by("role__name", "user__username")
    ):
        members[m.bu_id].append(m)
    nodes = {u.pk: ChartNode(u, members[u.pk]) for u in units}
    roots = []
    for unit in units:
        parent = nodes.get(unit.parent_id) if unit.parent_id else None
        (parent.children if parent else roots).append(nodes[unit.pk])
    return roots


USER_ORDERINGS = {"username", "display_name", "date_joined", "last_login"}


def user_list(
    *,
    actor: Actor,
    q: str = "",
    bu_id: int | None = None,
    role_id: int | None = None,
    active: bool | None = None,
    ordering: str = "username",
) -> QuerySet[User]:
    users = User.objects.visible_to(actor, "view")
    if q:
        users = users.filter(
            Q(username__icontains=q) | Q(display_name__icontains=q) | Q(email__icontains=q)
        )
    if bu_id:
        path = BusinessUnit.objects.filter(pk=bu_id).values_list("path", flat=True).first() or "-"
        users = users.filter(
            pk__in=Membership.objects.filter(bu__path__startswith=path).values("user_id")
        )
    if role_id:
        users = users.filter(pk__in=Membership.objects.filter(role_id=role_id).values("user_id"))
    if active is not None:
        users = users.filter(is_active=active)
    if ordering.lstrip("-") not in USER_ORDERINGS:
        ordering = "username"
    return users.order_by(ordering).prefetch_related("memberships__bu", "memberships__role")


def user_get(*, actor: Actor, pk: int, action: str = "view") -> User:
    return scoped_get(User, actor=actor, pk=pk, action=action)


def membership_list(*, actor: Actor, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.visible_to(actor, "view")
        .filter(user=user)
        .select_related("bu", "role")
        .order_by("-is_primary", "bu__path")
    )


def role_list(*, actor: Actor) -> QuerySet[Role]:
    actor.require("org", "view")
    return Role.objects.annotate(member_count=Count("memberships")).order_by("name")


def role_get(*, actor: Actor, pk: int) -> Role:
    actor.require("org", "view")
    role = Role.objects.filter(pk=pk).first()
    if role is None:
        raise NotFound()
    return role


def token_list(*, actor: Actor) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user_id=actor.user_id)


def org_summary(*, actor: Actor) -> dict[str, Any]:
    """Dashboard figures within the viewer's scope: active units and users, and active
    users per top-level unit (two counts and one membership query, whatever the size)."""
    units = bu_list(actor=actor, active=True)
    people = User.objects.visible_to(actor).filter(is_active=True)
    top = units.order_by("depth").first()
    by_unit: list[dict[str, Any]] = []
    if top is not None:
        children = list(units.filter(parent=top).order_by("name"))
        members = set(
            Membership.objects.filter(bu__path__startswith=top.path, user__in=people)
            .values_list("user_id", "bu__path")
            .distinct()
        )
        for child in children:
            users = {uid for uid, path in members if path.startswith(child.path)}
            by_unit.append({"name": child.name, "value": len(users)})
    return {"unit_count": units.count(), "user_count": people.count(), "users_by_unit": by_unit}
