"""The one scoping point (design.md §4.3).

Every model whose rows belong to a business unit inherits ``ScopedModel`` and gets
``Model.objects.visible_to(actor, action)``. Selectors start from it; ``scoped_get``
replaces ``get_object_or_404`` and answers NotFound for rows out of scope, so existence
never leaks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from django.db import models
from django.db.models import Q

from groupcrm.core.errors import NotFound, PermissionDenied
from groupcrm.core.permissions import DataScope

if TYPE_CHECKING:
    from groupcrm.core.actor import Actor, Grant

M = TypeVar("M", bound=models.Model)
NOTHING = Q(pk__in=[])


class ScopedQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor, action: str = "view") -> ScopedQuerySet:
        model: Any = self.model
        if not actor.can(model.scope_module, action):
            return self.none()
        if actor.is_system or actor.is_superuser:
            return self
        condition = model.shared_q(actor, action)
        for grant in actor.grants(model.scope_module, action):
            if grant.scope == DataScope.GROUP:
                return self
            condition |= model.scope_q(grant, actor)
        return self.filter(condition)


class ScopedModel(models.Model):
    """Rows reachable through a BU. Subclasses name the module and the paths to BU/owner.

    ``scope_bu_field`` is the lookup path to the owning BusinessUnit ("" for a BU
    itself); ``scope_owner_field`` the path to the owning user ("" when rows have none).
    """

    scope_module: ClassVar[str]
    scope_bu_field: ClassVar[str] = "bu"
    scope_owner_field: ClassVar[str] = "owner"

    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def shared_q(cls, actor: Actor, action: str) -> Q:
        """Rows shared with the actor beyond their grants (e.g. collaborators)."""
        return NOTHING

    @classmethod
    def scope_q(cls, grant: Grant, actor: Actor) -> Q:
        prefix = f"{cls.scope_bu_field}__" if cls.scope_bu_field else ""
        if grant.scope == DataScope.SUBTREE:
            return Q(**{f"{prefix}path__startswith": grant.bu_path})
        team = Q(**{f"{prefix}pk": grant.bu_id})
        if grant.scope == DataScope.TEAM:
            return team
        if grant.scope == DataScope.OWN and cls.scope_owner_field:
            return team & Q(**{cls.scope_owner_field: actor.user_id})
        return NOTHING


def scoped_get(model: type[M], *, actor: Actor, pk: Any, action: str = "view") -> M:
    """The row ``pk`` if ``actor`` may ``action`` it, else NotFound (never a 403 leak)."""
    try:
        return model.objects.visible_to(actor, action).get(pk=pk)  # type: ignore[attr-defined]
    except (model.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def ensure_in_scope(obj: models.Model, *, actor: Actor, action: str) -> None:
    """After a write, inside the transaction: the row must still be within the actor's
    scope for ``action`` (a write cannot escape it; the transaction then rolls back)."""
    qs = type(obj).objects.visible_to(actor, action)  # type: ignore[attr-defined]
    if not qs.filter(pk=obj.pk).exists():
        raise PermissionDenied()
