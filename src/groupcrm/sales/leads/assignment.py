"""Territories and assignment rules: who gets a unit's new lead.

A unit's active rules are tried in order; the first that matches the lead (a territory
rule: the lead's province and industry lie in its territory; a round-robin rule: any lead)
gives it to the next of its members in turn. A unit without a matching rule leaves the
lead unassigned, in the unit's queue. The turn is taken under a row lock on the rule
(``select_for_update``), so concurrent imports never give two leads the same turn.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from groupcrm.audit.services import audit_create, audit_delete, audit_update, snapshot
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, NotFound, ValidationError
from groupcrm.customers.reference import DIVISIONS, SECTIONS, is_industry
from groupcrm.org.models import BusinessUnit, User
from groupcrm.org.selectors import units_for
from groupcrm.sales.leads.models import AssignmentRule, Lead, Territory

MAX_ENTRIES = 50  # provinces or industries in one territory


def admin_units(actor: Actor) -> list[BusinessUnit]:
    """The units whose territories and rules the actor may administer."""
    return list(units_for(actor=actor, module="leads", action="admin"))


def _admin_unit(actor: Actor, bu_id: Any) -> BusinessUnit:
    actor.require("leads", "admin")
    unit = next((u for u in admin_units(actor) if u.pk == bu_id), None)
    if unit is None:
        raise ValidationError({"bu_id": _("Choose a business unit you administer.")})
    return unit


def split_list(value: Any) -> list[str]:
    """A list from a list, or from text separated by commas, 、, ； or new lines."""
    if isinstance(value, list | tuple | set):
        items = [str(v) for v in value]
    else:
        text = str(value or "")
        for sep in ("、", "，", ";", "；", "\n"):
            text = text.replace(sep, ",")
        items = text.split(",")
    return list(dict.fromkeys(i.strip() for i in items if i and i.strip()))


def industry_matches(code: str, wanted: list[str]) -> bool:
    """Whether a lead's division ``code`` lies in ``wanted`` (division codes or section
    letters such as "C" for all of manufacturing); an empty list matches anything."""
    if not wanted:
        return True
    if not code:
        return False
    section = DIVISIONS[code][0] if code in DIVISIONS else ""
    return code in wanted or section in wanted


def province_matches(province: str, wanted: list[str]) -> bool:
    if not wanted:
        return True
    # 广东 and 广东省 name the same province.
    short = province.removesuffix("省").removesuffix("市")
    return bool(province) and any(w.removesuffix("省").removesuffix("市") == short for w in wanted)


def _clean_territory(data: dict[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = (data["name"] or "").strip()
        if not out["name"]:
            errors["name"] = _("This field is required.")
        elif len(out["name"]) > 60:
            errors["name"] = _("At most 60 characters.")
    if "provinces" in data:
        out["provinces"] = split_list(data["provinces"])
        if len(out["provinces"]) > MAX_ENTRIES or any(len(p) > 20 for p in out["provinces"]):
            errors["provinces"] = _("At most 50 provinces of at most 20 characters each.")
    if "industries" in data:
        out["industries"] = [i.split()[0].upper() for i in split_list(data["industries"])]
        bad = [i for i in out["industries"] if not is_industry(i) and i not in SECTIONS]
        if bad:
            errors["industries"] = _(
                "Not an industry code of the national classification: %(codes)s."
            ) % {"codes": "、".join(bad)}
    return out


@transaction.atomic
def territory_create(
    *, actor: Actor, bu_id: int, name: str, provinces: Any = (), industries: Any = ()
) -> Territory:
    unit = _admin_unit(actor, bu_id)
    errors: dict[str, Any] = {}
    data = _clean_territory(
        {"name": name, "provinces": provinces, "industries": industries}, errors
    )
    if not errors and Territory.objects.filter(bu=unit, name=data["name"]).exists():
        errors["name"] = _("This unit already has a territory of this name.")
    if errors:
        raise ValidationError(errors)
    territory = Territory.objects.create(bu=unit, **data)
    audit_create(actor=actor, obj=territory)
    return territory


def territory_get(*, actor: Actor, pk: int) -> Territory:
    actor.require("leads", "admin")
    territory = Territory.objects.filter(pk=pk, bu__in=admin_units(actor)).first()
    if territory is None:
        raise NotFound()
    return territory


@transaction.atomic
def territory_update(*, actor: Actor, pk: int, **fields: Any) -> Territory:
    territory = territory_get(actor=actor, pk=pk)
    errors: dict[str, Any] = {}
    data = _clean_territory(fields, errors)
    if (
        data.get("name")
        and Territory.objects.filter(bu_id=territory.bu_id, name=data["name"])
        .exclude(pk=pk)
        .exists()
    ):
        errors["name"] = _("This unit already has a territory of this name.")
    if errors:
        raise ValidationError(errors)
    before = snapshot(territory)
    for name, value in data.items():
        setattr(territory, name, value)
    territory.save()
    audit_update(actor=actor, obj=territory, before=before)
    return territory


@transaction.atomic
def territory_delete(*, actor: Actor, pk: int) -> None:
    territory = territory_get(actor=actor, pk=pk)
    if territory.rules.exists():
        raise Conflict(
            _("Rules still use this territory: delete or change them first."),
            code="territory_in_use",
        )
    audit_delete(actor=actor, obj=territory)
    territory.delete()


def _clean_rule(
    unit: BusinessUnit, data: dict[str, Any], errors: dict[str, Any]
) -> tuple[dict[str, Any], list[int] | None]:
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = (data["name"] or "").strip()
        if not out["name"]:
            errors["name"] = _("This field is required.")
        elif len(out["name"]) > 60:
            errors["name"] = _("At most 60 characters.")
    if "order" in data:
        out["order"] = data["order"]
        if not isinstance(out["order"], int) or not 0 <= out["order"] <= 999:
            errors["order"] = _("Enter a whole number from 0 to 999.")
    if "is_active" in data:
        out["is_active"] = bool(data["is_active"])
    if "kind" in data:
        out["kind"] = data["kind"]
        if out["kind"] not in AssignmentRule.Kind.values:
            errors["kind"] = _("Choose one of the offered values.")
    if "territory_id" in data:
        territory_id = data["territory_id"] or None
        out["territory"] = (
            Territory.objects.filter(pk=territory_id, bu=unit).first() if territory_id else None
        )
        if territory_id and out["territory"] is None:
            errors["territory_id"] = _("Choose a territory of this unit.")
    members: list[int] | None = None
    if "member_ids" in data:
        members = sorted(set(data["member_ids"] or []))
        if not members:
            errors["member_ids"] = _("Choose at least one member.")
        valid = set(
            User.objects.filter(
                pk__in=members,
                is_active=True,
                memberships__is_active=True,
                memberships__bu__path__startswith=unit.path,
            ).values_list("pk", flat=True)
        )
        if set(members) - valid:
            errors["member_ids"] = _(
                "Members must be active people of %(unit)s or of a unit below it."
            ) % {"unit": unit.name}
    return out, members


def _check_kind(kind: str, territory: Territory | None, errors: dict[str, Any]) -> None:
    if kind == AssignmentRule.Kind.TERRITORY and territory is None:
        errors["territory_id"] = _("A territory rule needs a territory.")


@transaction.atomic
def rule_create(
    *,
    actor: Actor,
    bu_id: int,
    name: str,
    kind: str,
    member_ids: list[int],
    order: int | None = None,
    territory_id: int | None = None,
    is_active: bool = True,
) -> AssignmentRule:
    unit = _admin_unit(actor, bu_id)
    if order is None:
        last = AssignmentRule.objects.filter(bu=unit).order_by("-order").first()
        order = last.order + 1 if last else 1
    errors: dict[str, Any] = {}
    data, members = _clean_rule(
        unit,
        {
            "name": name,
            "kind": kind,
            "member_ids": member_ids,
            "order": order,
            "territory_id": territory_id,
            "is_active": is_active,
        },
        errors,
    )
    _check_kind(kind, data.get("territory"), errors)
    if errors:
        raise ValidationError(errors)
    if data["kind"] == AssignmentRule.Kind.ROUND_ROBIN:
        data["territory"] = None
    rule = AssignmentRule.objects.create(bu=unit, **data)
    rule.members.set(members or [])
    audit_create(actor=actor, obj=rule)
    return rule


def rule_get(*, actor: Actor, pk: int) -> AssignmentRule:
    actor.require("leads", "admin")
    rule = AssignmentRule.objects.filter(pk=pk, bu__in=admin_units(actor)).first()
    if rule is None:
        raise NotFound()
    return rule


@transaction.atomic
def rule_update(*, actor: Actor, pk: int, **fields: Any) -> AssignmentRule:
    rule = rule_get(actor=actor, pk=pk)
    errors: dict[str, Any] = {}
    data, members = _clean_rule(rule.bu, fields, errors)
    kind = data.get("kind", rule.kind)
    territory = data.get("territory", rule.territory)
    _check_kind(kind, territory, errors)
    if errors:
        raise ValidationError(errors)
    if kind == AssignmentRule.Kind.ROUND_ROBIN:
        data["territory"] = None
    before = snapshot(rule)
    for name, value in data.items():
        setattr(rule, name, value)
    rule.save()
    if members is not None:
        rule.members.set(members)
    audit_update(actor=actor, obj=rule, before=before)
    return rule


@transaction.atomic
def rule_delete(*, actor: Actor, pk: int) -> None:
    rule = rule_get(actor=actor, pk=pk)
    audit_delete(actor=actor, obj=rule)
    rule.delete()


# --- assignment ---------------------------------------------------------------------------


def rule_matches(rule: AssignmentRule, lead: Lead) -> bool:
    if rule.kind == AssignmentRule.Kind.ROUND_ROBIN:
        return True
    territory = rule.territory
    return territory is not None and (
        province_matches(lead.province, territory.provinces)
        and industry_matches(lead.industry, territory.industries)
    )


def _eligible_members(rule: AssignmentRule, unit: BusinessUnit) -> list[int]:
    """The rule's members still active in the unit (or below it), in a fixed order."""
    return sorted(
        set(
            rule.members.filter(
                is_active=True,
                memberships__is_active=True,
                memberships__bu__path__startswith=unit.path,
            ).values_list("pk", flat=True)
        )
    )


def next_owner(lead: Lead) -> int | None:
    """The owner the unit's rules give ``lead`` (taking that rule's turn), or None for the
    unit's queue. Call inside the transaction that saves the lead."""
    unit = lead.bu
    for rule in AssignmentRule.objects.filter(bu=unit, is_active=True).select_related("territory"):
        if not rule_matches(rule, lead):
            continue
        members = _eligible_members(rule, unit)
        if not members:
            continue
        # The row lock serialises concurrent assignments: each reads the cursor the
        # previous one wrote, so turns go round fairly.
        locked = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
        owner = members[locked.cursor % len(members)]
        AssignmentRule.objects.filter(pk=rule.pk).update(cursor=locked.cursor + 1)
        return owner
    return None
