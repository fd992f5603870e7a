"""The group's organisation: business units, users, roles, memberships, API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from groupcrm.core.permissions import DataScope
from groupcrm.core.scoping import NOTHING, ScopedModel, ScopedQuerySet

if TYPE_CHECKING:
    from groupcrm.core.actor import Actor, Grant

PATH_STEP = 8  # digits per level of BusinessUnit.path


class BusinessUnit(ScopedModel):
    """A node of the group tree: 集团 → 子公司/事业部 → 部门 → 团队, any depth.

    ``path`` is a materialised path of zero-padded ids ("00000001/00000004/") so that a
    subtree is one indexed prefix query on SQLite and PostgreSQL alike.
    """

    class Kind(models.TextChoices):
        GROUP = "group", _("Group")
        SUBSIDIARY = "subsidiary", _("Subsidiary")
        DIVISION = "division", _("Division")
        DEPARTMENT = "department", _("Department")
        TEAM = "team", _("Team")

    scope_module = "org"
    scope_bu_field = ""
    scope_owner_field = ""

    name = models.CharField(_("name"), max_length=120)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    audit_fields: ClassVar[tuple[str, ...]] = ("name", "code", "kind", "parent", "is_active")

    class Meta:
        verbose_name = _("business unit")
        verbose_name_plural = _("business units")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="org_bu_unique_name_under_parent"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def own_segment(self) -> str:
        return f"{self.pk:0{PATH_STEP}d}/"

    def is_descendant_of(self, other: BusinessUnit) -> bool:
        return self.path.startswith(other.path)

    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.split("/") if part]


class UserQuerySet(ScopedQuerySet):
    pass


class GroupUserManager(UserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    pass


class User(ScopedModel, AbstractUser):
    """A person who signs in. Which BUs they act in comes from their memberships."""

    scope_module = "org"
    scope_bu_field = ""
    scope_owner_field = ""

    display_name = models.CharField(_("display name"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    title = models.CharField(_("job title"), max_length=60, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans"
    )

    objects = GroupUserManager()

    audit_fields: ClassVar[tuple[str, ...]] = (
        "username",
        "display_name",
        "email",
        "phone",
        "title",
        "language",
        "is_active",
        "is_superuser",
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @classmethod
    def scope_q(cls, grant: Grant, actor: Actor) -> Q:
        """Users are reached through their memberships' units; everyone reaches self."""
        self_q = Q(pk=actor.user_id) if actor.user_id else NOTHING
        if grant.scope == DataScope.SUBTREE:
            members = Membership.objects.filter(bu__path__startswith=grant.bu_path)
        elif grant.scope == DataScope.TEAM:
            members = Membership.objects.filter(bu_id=grant.bu_id)
        else:
            return self_q
        return Q(pk__in=members.values("user_id")) | self_q


class Role(models.Model):
    """A set of permissions ("module.action") and a data scope."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    description = models.TextField(_("description"), blank=True)
    permissions = models.JSONField(_("permissions"), default=list, blank=True)
    data_scope = models.CharField(
        _("data scope"), max_length=10, choices=DataScope.choices, default=DataScope.OWN
    )
    mfa_required = models.BooleanField(_("two-factor authentication required"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    audit_fields: ClassVar[tuple[str, ...]] = (
        "name",
        "code",
        "description",
        "permissions",
        "data_scope",
        "mfa_required",
        "is_active",
    )

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(ScopedModel):
    """A user holds a role in a business unit; a user may hold several."""

    scope_module = "org"
    scope_owner_field = "user"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    bu = models.ForeignKey(
        BusinessUnit,
        verbose_name=_("business unit"),
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    role = models.ForeignKey(
        Role, verbose_name=_("role"), on_delete=models.PROTECT, related_name="memberships"
    )
    is_primary = models.BooleanField(_("primary"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    audit_fields: ClassVar[tuple[str, ...]] = ("user", "bu", "role", "is_primary", "is_active")

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["bu__path", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "bu", "role"], name="org_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.bu} · {self.role}"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret is stored; it is shown once."""

    class Scope(models.TextChoices):
        READ = "read", _("Read only")
        WRITE = "write", _("Read and write")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=60)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    audit_fields: ClassVar[tuple[str, ...]] = (
        "name",
        "prefix",
        "scope",
        "expires_at",
        "revoked_at",
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
