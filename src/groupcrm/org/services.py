"""Writes on the organisation: units, users, roles, memberships, tokens, two-factor.

Each service is atomic, checks the actor's permission and scope, writes its change
records and publishes its events in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from groupcrm.audit.services import audit_action, audit_create, audit_delete, audit_update, snapshot
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from groupcrm.core.events import publish
from groupcrm.core.permissions import DataScope, all_permissions
from groupcrm.core.scoping import scoped_get
from groupcrm.core.tree import move_subtree
from groupcrm.org.models import ApiToken, BusinessUnit, Membership, Role, User

SCOPE_ORDER = [s.value for s in DataScope]


def _require_text(fields: dict[str, str], **values: str) -> None:
    for name, value in values.items():
        if not (value or "").strip():
            fields[name] = _("This field is required.")


# --- Business units ----------------------------------------------------------------------


def _check_bu_fields(name: str, code: str, kind: str) -> None:
    errors: dict[str, Any] = {}
    _require_text(errors, name=name, code=code)
    if kind not in BusinessUnit.Kind.values:
        errors["kind"] = _("Unknown kind of unit.")
    if code and not all(c.isalnum() or c in "-_" for c in code):
        errors["code"] = _("Use letters, digits, hyphens and underscores only.")
    if errors:
        raise ValidationError(errors)


def _save_unique_bu(unit: BusinessUnit) -> None:
    """Save, turning the two uniqueness rules into field errors (also under a race)."""
    clash = BusinessUnit.objects.exclude(pk=unit.pk)
    if clash.filter(code=unit.code).exists():
        raise ValidationError({"code": _("A unit with this code already exists.")})
    if clash.filter(parent_id=unit.parent_id, name=unit.name).exists():
        raise ValidationError(
            {"name": _("A unit with this name already exists under that parent.")}
        )
    try:
        with transaction.atomic():
            unit.save()
    except IntegrityError:
        raise Conflict(
            _("This unit was changed by someone else at the same time. Try again.")
        ) from None


@transaction.atomic
def bu_create(
    *, actor: Actor, name: str, code: str, kind: str, parent_id: int | None
) -> BusinessUnit:
    actor.require("org", "create")
    name, code = name.strip(), code.strip()
    _check_bu_fields(name, code, kind)
    if parent_id is None:
        if actor.widest_scope("org", "create") != DataScope.GROUP:
            raise PermissionDenied(_("Only group administrators can create a top-level unit."))
        parent = None
    else:
        parent = scoped_get(BusinessUnit, actor=actor, pk=parent_id, action="create")
        if not parent.is_active:
            raise ValidationError({"parent_id": _("The parent unit is inactive.")})
    unit = BusinessUnit(name=name, code=code, kind=kind, parent=parent)
    _save_unique_bu(unit)
    unit.path = (parent.path if parent else "") + unit.own_segment()
    unit.depth = parent.depth + 1 if parent else 0
    unit.save(update_fields=["path", "depth"])
    audit_create(actor=actor, obj=unit)
    publish(actor=actor, name="org.bu_created", payload={"bu_id": unit.pk, "name": unit.name})
    return unit


@transaction.atomic
def bu_update(*, actor: Actor, pk: int, name: str, code: str, kind: str) -> BusinessUnit:
    unit = scoped_get(BusinessUnit, actor=actor, pk=pk, action="change")
    name, code = name.strip(), code.strip()
    _check_bu_fields(name, code, kind)
    before = snapshot(unit)
    unit.name, unit.code, unit.kind = name, code, kind
    _save_unique_bu(unit)
    if audit_update(actor=actor, obj=unit, before=before):
        publish(actor=actor, name="org.bu_updated", payload={"bu_id": unit.pk})
    return unit


@transaction.atomic
def bu_move(*, actor: Actor, pk: int, parent_id: int) -> BusinessUnit:
    """Re-hang a unit (and its whole subtree) under another parent in one operation."""
    unit = scoped_get(BusinessUnit, actor=actor, pk=pk, action="change")
    if unit.parent_id is None:
        raise ValidationError({"parent_id": _("The group's top unit cannot be moved.")})
    parent = scoped_get(BusinessUnit, actor=actor, pk=parent_id, action="change")
    if parent.is_descendant_of(unit):
        raise ValidationError(
            {"parent_id": _("A unit cannot be moved under itself or one of its own sub-units.")}
        )
    if parent.pk == unit.parent_id:
        return unit
    if BusinessUnit.objects.filter(parent=parent, name=unit.name).exists():
        raise ValidationError({"parent_id": _("The new parent already has a unit with this name.")})
    before = snapshot(unit)
    move_subtree(BusinessUnit, unit, parent)
    audit_update(actor=actor, obj=unit, before=before, verb="move")
    publish(
        actor=actor,
        name="org.bu_moved",
        payload={"bu_id": unit.pk, "from": before["parent"], "to": parent.pk},
    )
    return unit


@transaction.atomic
def bu_set_active(*, actor: Actor, pk: int, active: bool) -> BusinessUnit:
    unit = scoped_get(BusinessUnit, actor=actor, pk=pk, action="change")
    if unit.is_active == active:
        return unit
    if not active and unit.children.filter(is_active=True).exists():
        raise Conflict(_("Deactivate the sub-units first."))
    if not active and unit.parent_id is None:
        raise Conflict(_("The group's top unit cannot be deactivated."))
    if active and unit.parent and not unit.parent.is_active:
        raise Conflict(_("Activate the parent unit first."))
    before = snapshot(unit)
    unit.is_active = active
    unit.save(update_fields=["is_active", "updated_at"])
    audit_update(actor=actor, obj=unit, before=before, verb="activate" if active else "deactivate")
    publish(actor=actor, name="org.bu_updated", payload={"bu_id": unit.pk, "is_active": active})
    return unit


@transaction.atomic
def bu_delete(*, actor: Actor, pk: int) -> None:
    """Only an empty unit can be deleted; anything in use is deactivated instead."""
    unit = scoped_get(BusinessUnit, actor=actor, pk=pk, action="delete")
    if unit.parent_id is None or unit.children.exists() or unit.memberships.exists():
        raise Conflict(_("This unit has sub-units or members: deactivate it instead."))
    audit_delete(actor=actor, obj=unit)
    try:
        with transaction.atomic():
            unit.delete()
    except ProtectedError:
        raise Conflict(_("Records still belong to this unit: deactivate it instead.")) from None
    publish(actor=actor, name="org.bu_deleted", payload={"bu_id": pk})


# --- Roles -------------------------------------------------------------------------------


def _check_role(name: str, code: str, permissions: list[str], data_scope: str) -> None:
    errors: dict[str, Any] = {}
    _require_text(errors, name=name, code=code)
    unknown = sorted(set(permissions) - set(all_permissions()))
    if unknown:
        errors["permissions"] = _("Unknown permissions: %(names)s") % {"names": ", ".join(unknown)}
    if data_scope not in DataScope.values:
        errors["data_scope"] = _("Unknown data scope.")
    if errors:
        raise ValidationError(errors)


def _require_role_admin(actor: Actor) -> None:
    """Roles are group-wide definitions: only group-scope administrators edit them."""
    if actor.widest_scope("org", "admin") != DataScope.GROUP:
        raise PermissionDenied(_("Only group administrators can manage roles."))


def _save_unique_role(role: Role) -> None:
    clash = Role.objects.exclude(pk=role.pk)
    if clash.filter(name=role.name).exists():
        raise ValidationError({"name": _("A role with this name already exists.")})
    if clash.filter(code=role.code).exists():
        raise ValidationError({"code": _("A role with this code already exists.")})
    role.save()


@transaction.atomic
def role_create(
    *,
    actor: Actor,
    name: str,
    code: str,
    description: str = "",
    permissions: list[str],
    data_scope: str,
    mfa_required: bool = False,
) -> Role:
    _require_role_admin(actor)
    _check_role(name, code, permissions, data_scope)
    role = Role(
        name=name.strip(),
        code=code.strip(),
        description=description,
        permissions=sorted(set(permissions)),
        data_scope=data_scope,
        mfa_required=mfa_required,
    )
    _save_unique_role(role)
    audit_create(actor=actor, obj=role)
    publish(actor=actor, name="org.role_created", payload={"role_id": role.pk})
    return role


@transaction.atomic
def role_update(
    *,
    actor: Actor,
    pk: int,
    name: str,
    code: str,
    description: str = "",
    permissions: list[str],
    data_scope: str,
    mfa_required: bool = False,
    is_active: bool = True,
) -> Role:
    _require_role_admin(actor)
    _check_role(name, code, permissions, data_scope)
    role = Role.objects.select_for_update().filter(pk=pk).first()
    if role is None:
        raise NotFound()
    before = snapshot(role)
    role.name, role.code, role.description = name.strip(), code.strip(), description
    role.permissions = sorted(set(permissions))
    role.data_scope, role.mfa_required, role.is_active = data_scope, mfa_required, is_active
    _save_unique_role(role)
    if audit_update(actor=actor, obj=role, before=before):
        publish(actor=actor, name="org.role_updated", payload={"role_id": role.pk})
    return role


# --- Users and memberships ---------------------------------------------------------------


def _check_no_escalation(actor: Actor, role: Role) -> None:
    """Nobody hands out more than they hold: the role's permissions must be among the
    actor's own, and its scope no wider than the actor's widest admin scope."""
    if actor.is_system or actor.is_superuser:
        return
    held = {p for m in actor.memberships for p in m.role.permissions}
    widest = actor.widest_scope("org", "admin")
    if (
        not set(role.permissions) <= held
        or widest is None
        or (SCOPE_ORDER.index(role.data_scope) > SCOPE_ORDER.index(widest))
    ):
        raise PermissionDenied(_("You cannot grant a role with more rights than your own."))


def _validate_user_fields(
    errors: dict[str, Any], *, username: str | None, email: str, language: str
) -> None:
    if username is not None:
        if not username.strip():
            errors["username"] = _("This field is required.")
        elif not all(c.isalnum() or c in "@.+-_" for c in username):
            errors["username"] = _("Use letters, digits and @ . + - _ only.")
        elif User.objects.filter(username__iexact=username).exists():
            errors["username"] = _("This username is already taken.")
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            errors["email"] = _("Enter a valid email address.")
    if language not in dict(settings.LANGUAGES):
        errors["language"] = _("Unknown language.")


@transaction.atomic
def user_create(
    *,
    actor: Actor,
    username: str,
    password: str,
    bu_id: int,
    role_id: int,
    display_name: str = "",
    email: str = "",
    phone: str = "",
    title: str = "",
    language: str = "zh-hans",
) -> User:
    """Create a user with a first membership (a user without one could see nothing)."""
    actor.require("org", "create")
    username = username.strip()
    errors: dict[str, Any] = {}
    _validate_user_fields(errors, username=username, email=email, language=language)
    candidate = User(username=username, email=email, display_name=display_name)
    try:
        password_validation.validate_password(password, candidate)
    except DjangoValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    bu = scoped_get(BusinessUnit, actor=actor, pk=bu_id, action="create")
    role = Role.objects.filter(pk=role_id, is_active=True).first()
    if role is None:
        raise ValidationError({"role_id": _("Choose an active role.")})
    _check_no_escalation(actor, role)
    user = User(
        username=username,
        email=email,
        display_name=display_name.strip(),
        phone=phone.strip(),
        title=title.strip(),
        language=language,
    )
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationError({"username": _("This username is already taken.")}) from None
    audit_create(actor=actor, obj=user)
    membership = Membership.objects.create(user=user, bu=bu, role=role, is_primary=True)
    audit_create(actor=actor, obj=membership)
    publish(
        actor=actor,
        name="org.user_created",
        payload={"user_id": user.pk, "bu_id": bu.pk, "role_id": role.pk},
    )
    return user


@transaction.atomic
def user_update(
    *,
    actor: Actor,
    pk: int,
    display_name: str,
    email: str,
    phone: str = "",
    title: str = "",
    language: str = "zh-hans",
) -> User:
    user = scoped_get(User, actor=actor, pk=pk, action="change")
    errors: dict[str, Any] = {}
    _validate_user_fields(errors, username=None, email=email, language=language)
    if errors:
        raise ValidationError(errors)
    before = snapshot(user)
    user.display_name, user.email = display_name.strip(), email.strip()
    user.phone, user.title, user.language = phone.strip(), title.strip(), language
    user.save()
    if audit_update(actor=actor, obj=user, before=before):
        publish(actor=actor, name="org.user_updated", payload={"user_id": user.pk})
    return user


@transaction.atomic
def user_set_active(*, actor: Actor, pk: int, active: bool) -> User:
    user = scoped_get(User, actor=actor, pk=pk, action="change")
    if user.pk == actor.user_id and not active:
        raise Conflict(_("You cannot deactivate yourself."))
    before = snapshot(user)
    user.is_active = active
    user.save(update_fields=["is_active"])
    if audit_update(
        actor=actor, obj=user, before=before, verb="activate" if active else "deactivate"
    ):
        user.api_tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        publish(
            actor=actor, name="org.user_updated", payload={"user_id": user.pk, "is_active": active}
        )
    return user


@transaction.atomic
def user_set_password(
    *, actor: Actor, pk: int, new_password: str, old_password: str | None = None
) -> User:
    """Change a password: one's own (old password required) or, as admin, another's."""
    if pk == actor.user_id:
        user = actor.user
        assert user is not None
        if not user.check_password(old_password or ""):
            raise ValidationError({"old_password": _("Your old password was entered incorrectly.")})
    else:
        user = scoped_get(User, actor=actor, pk=pk, action="change")
    try:
        password_validation.validate_password(new_password, user)
    except DjangoValidationError as exc:
        raise ValidationError({"new_password": list(exc.messages)}) from None
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit_action(actor=actor, obj=user, verb="password_change")
    return user


@transaction.atomic
def membership_add(
    *, actor: Actor, user_id: int, bu_id: int, role_id: int, is_primary: bool = False
) -> Membership:
    user = scoped_get(User, actor=actor, pk=user_id, action="view")
    bu = scoped_get(BusinessUnit, actor=actor, pk=bu_id, action="admin")
    role = Role.objects.filter(pk=role_id, is_active=True).first()
    if role is None:
        raise ValidationError({"role_id": _("Choose an active role.")})
    _check_no_escalation(actor, role)
    if Membership.objects.filter(user=user, bu=bu, role=role).exists():
        raise Conflict(_("This user already holds that role in that unit."))
    if is_primary:
        user.memberships.update(is_primary=False)
    membership = Membership.objects.create(
        user=user, bu=bu, role=role, is_primary=is_primary or not user.memberships.exists()
    )
    audit_create(actor=actor, obj=membership)
    publish(
        actor=actor,
        name="org.membership_added",
        payload={
            "membership_id": membership.pk,
            "user_id": user.pk,
            "bu_id": bu.pk,
            "role_id": role.pk,
        },
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: Actor, pk: int) -> None:
    membership = Membership.objects.select_related("bu").filter(pk=pk).first()
    if membership is None:
        raise NotFound()
    scoped_get(BusinessUnit, actor=actor, pk=membership.bu_id, action="admin")
    if membership.user_id == actor.user_id and "org.admin" in membership.role.permissions:
        raise Conflict(_("You cannot remove your own administrator membership."))
    audit_delete(actor=actor, obj=membership)
    user_id = membership.user_id
    membership.delete()
    publish(
        actor=actor,
        name="org.membership_removed",
        payload={"membership_id": pk, "user_id": user_id},
    )


# --- API tokens --------------------------------------------------------------------------

TOKEN_PREFIX = "gcrm"


def hash_token(secret: str) -> str:
    # Tokens are 256-bit random strings: a fast hash is safe and keeps lookups cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def token_create(
    *, actor: Actor, name: str, scope: str, expires_in_days: int
) -> tuple[ApiToken, str]:
    """Issue a token for the actor. The secret is returned once and never stored."""
    if actor.user is None:
        raise PermissionDenied()
    errors: dict[str, Any] = {}
    _require_text(errors, name=name)
    if scope not in ApiToken.Scope.values:
        errors["scope"] = _("Choose read or write.")
    if not 1 <= expires_in_days <= settings.API_TOKEN_MAX_DAYS:
        errors["expires_in_days"] = _("Choose between 1 and %(max)d days.") % {
            "max": settings.API_TOKEN_MAX_DAYS
        }
    if errors:
        raise ValidationError(errors)
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=actor.user,
        name=name.strip(),
        prefix=prefix,
        key_hash=hash_token(secret),
        scope=scope,
        expires_at=timezone.now() + timedelta(days=expires_in_days),
    )
    audit_create(actor=actor, obj=token)
    return token, secret


@transaction.atomic
def token_revoke(*, actor: Actor, pk: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=pk, user_id=actor.user_id).first()
    if token is None:
        raise NotFound()
    if token.revoked_at is None:
        before = snapshot(token)
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_update(actor=actor, obj=token, before=before, verb="revoke")
    return token


# --- Two-factor authentication (TOTP) ----------------------------------------------------


@transaction.atomic
def totp_enrol_start(*, actor: Actor) -> TOTPDevice:
    """A fresh, unconfirmed device; earlier unconfirmed attempts are discarded."""
    assert actor.user is not None
    TOTPDevice.objects.filter(user=actor.user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=actor.user, name=_("Authenticator app"), confirmed=False)


@transaction.atomic
def totp_enrol_confirm(*, actor: Actor, code: str) -> TOTPDevice:
    assert actor.user is not None
    device = TOTPDevice.objects.filter(user=actor.user, confirmed=False).last()
    if device is None:
        raise Conflict(_("Start the enrolment again."))
    if not device.verify_token((code or "").strip()):
        raise ValidationError({"code": _("The code is not valid. Check the time on your phone.")})
    TOTPDevice.objects.filter(user=actor.user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_action(actor=actor, obj=actor.user, verb="2fa_enrolled")
    return device


@transaction.atomic
def totp_disable(*, actor: Actor, pk: int) -> None:
    """Remove a user's authenticator: oneself, or an admin for a user who lost theirs."""
    user = (
        actor.user if pk == actor.user_id else scoped_get(User, actor=actor, pk=pk, action="change")
    )
    assert user is not None
    if pk == actor.user_id and actor.mfa_required:
        raise Conflict(_("Your role requires two-factor authentication; it cannot be turned off."))
    TOTPDevice.objects.filter(user=user).delete()
    audit_action(actor=actor, obj=user, verb="2fa_removed")
