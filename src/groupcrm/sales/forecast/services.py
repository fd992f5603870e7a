"""Writes on quotas and commission rules (design.md §4): atomic, ``forecast.admin`` in the
unit, audited, with an outbox event each."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.audit.services import audit_create, audit_delete, audit_update, snapshot
from groupcrm.core.actor import Actor
from groupcrm.core.errors import PermissionDenied, ValidationError
from groupcrm.core.events import publish
from groupcrm.core.scoping import ensure_in_scope, scoped_get
from groupcrm.customers import services as customer_services
from groupcrm.org.models import PATH_STEP, BusinessUnit, Role, User
from groupcrm.org.selectors import units_for
from groupcrm.sales.forecast.models import CommissionRule, CreditMonth, PipelineCell, Quota
from groupcrm.sales.forecast.selectors import live_credits
from groupcrm.sales.services import parse_amount

CENT = Decimal("0.01")
MAX_MONTHS = 36  # months one bulk set may cover
MAX_TIERS = 10


def month_of(value: Any, field: str, errors: dict[str, Any]) -> dt.date | None:
    """The first day of the month of a date or of ``YYYY-MM`` / ``YYYY-MM-DD`` text."""
    if isinstance(value, dt.date):
        return value.replace(day=1)
    text = str(value or "").strip()
    if len(text) in (7, 10):
        try:
            return dt.datetime.strptime(text[:7], "%Y-%m").date()
        except ValueError:
            pass
    errors[field] = _("Enter a month as YYYY-MM.")
    return None


def _admin_unit(actor: Actor, bu_id: Any) -> BusinessUnit:
    actor.require("forecast", "admin")
    unit = (
        units_for(actor=actor, module="forecast", action="admin").filter(pk=bu_id).first()
        if isinstance(bu_id, int) and not isinstance(bu_id, bool)
        else None
    )
    if unit is None:
        raise ValidationError({"bu_id": _("Choose a business unit whose quotas you manage.")})
    return unit


def _quota_amount(value: Any, errors: dict[str, Any]) -> Decimal | None:
    amount = parse_amount(value, errors)
    if amount is not None and amount <= 0:
        errors["amount"] = _("A quota must be above zero.")
        return None
    return amount


def _check_rep(unit: BusinessUnit, user_id: int | None, field: str = "user_id") -> None:
    if user_id is None:
        return
    try:
        customer_services.check_owner(unit, user_id)
    except ValidationError:
        raise ValidationError(
            {
                field: _("The sales rep must be a member of %(unit)s or of a unit below it.")
                % {"unit": unit.name}
            }
        ) from None


# --- quotas ------------------------------------------------------------------------------


def _quota_write(
    actor: Actor, unit: BusinessUnit, user_id: int | None, period: dt.date, amount: Decimal
) -> Quota:
    quota = (
        Quota.objects.select_for_update().filter(bu=unit, user_id=user_id, period=period).first()
    )
    if quota is None:
        quota = Quota.objects.create(bu=unit, user_id=user_id, period=period, amount=amount)
        audit_create(actor=actor, obj=quota)
    elif quota.amount != amount:
        before = snapshot(quota)
        quota.amount = amount
        quota.save(update_fields=["amount", "updated_at"])
        audit_update(actor=actor, obj=quota, before=before)
    else:
        return quota
    ensure_in_scope(quota, actor=actor, action="admin")
    publish(
        actor=actor,
        name="forecast.quota_set",
        payload={
            "quota_id": quota.pk,
            "bu_id": unit.pk,
            "user_id": user_id,
            "period": period.isoformat(),
            "amount": str(amount),
        },
    )
    return quota


@transaction.atomic
def quota_set(
    *, actor: Actor, bu_id: int, period: Any, amount: Any, user_id: int | None = None
) -> Quota:
    """Set the month's quota of a rep in a unit, or of the unit (``user_id`` None):
    created, or changed when one exists."""
    unit = _admin_unit(actor, bu_id)
    errors: dict[str, Any] = {}
    month = month_of(period, "period", errors)
    value = _quota_amount(amount, errors)
    if errors:
        raise ValidationError(errors)
    _check_rep(unit, user_id)
    return _quota_write(actor, unit, user_id, month, value)  # type: ignore[arg-type]


@transaction.atomic
def quota_bulk_set(
    *,
    actor: Actor,
    bu_id: int,
    start: Any,
    months: int,
    amount: Any,
    user_ids: list[int | None],
) -> list[Quota]:
    """The same monthly quota for several reps (None: the unit itself) over ``months``
    months from ``start``: all are written, or none."""
    unit = _admin_unit(actor, bu_id)
    errors: dict[str, Any] = {}
    first = month_of(start, "start", errors)
    value = _quota_amount(amount, errors)
    if not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        errors["months"] = _("Enter a number of months from 1 to %(max)d.") % {"max": MAX_MONTHS}
    if not user_ids:
        errors["user_ids"] = _("Choose the unit or at least one sales rep.")
    if errors:
        raise ValidationError(errors)
    for user_id in set(user_ids):
        _check_rep(unit, user_id, "user_ids")
    periods = [_add_months(first, n) for n in range(months)]  # type: ignore[arg-type]
    return [
        _quota_write(actor, unit, user_id, period, value)  # type: ignore[arg-type]
        for user_id in dict.fromkeys(user_ids)
        for period in periods
    ]


MAX_IMPORT_ROWS = 5000


@transaction.atomic
def quota_import(*, actor: Actor, rows: list[dict[str, str]]) -> list[Quota]:
    """Quotas from a spreadsheet: each row ``unit`` (the unit's code), ``user`` (a
    username, empty for the unit's own quota), ``month`` (YYYY-MM), ``amount``. Every
    row is checked first; one bad row imports nothing and is named by its line (the
    header is line 1)."""
    actor.require("forecast", "admin")
    if not rows or len(rows) > MAX_IMPORT_ROWS:
        raise ValidationError(
            {"file": _("The file must hold 1 to %(max)d quota rows.") % {"max": MAX_IMPORT_ROWS}}
        )
    units = {u.code: u for u in units_for(actor=actor, module="forecast", action="admin")}
    users = dict(User.objects.filter(is_active=True).values_list("username", "pk"))
    errors: dict[str, Any] = {}
    cleaned: list[tuple[BusinessUnit, int | None, dt.date, Decimal]] = []
    for line, row in enumerate(rows, start=2):
        found: dict[str, Any] = {}
        unit = units.get((row.get("unit") or "").strip())
        username = (row.get("user") or "").strip()
        user_id = users.get(username) if username else None
        month = month_of(row.get("month"), "month", found)
        amount = _quota_amount(row.get("amount"), found)
        if unit is None:
            found["unit"] = _("Choose a business unit whose quotas you manage.")
        elif username and user_id is None:
            found["user"] = _("No active user has this username.")
        else:
            try:
                _check_rep(unit, user_id, "user")
            except ValidationError as exc:
                found.update({k: v[0] for k, v in exc.fields.items()})
        if found:
            errors[f"line {line}"] = "; ".join(f"{k}: {v}" for k, v in found.items())
        else:
            cleaned.append((unit, user_id, month, amount))  # type: ignore[arg-type]
    if errors:
        message = _("Nothing was imported: %(count)d rows have errors.") % {"count": len(errors)}
        raise ValidationError(errors, message=message, code="invalid_rows")
    return [_quota_write(actor, *values) for values in cleaned]


def _add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


@transaction.atomic
def quota_update(*, actor: Actor, pk: int, amount: Any) -> Quota:
    quota = scoped_get(Quota, actor=actor, pk=pk, action="admin")
    errors: dict[str, Any] = {}
    value = _quota_amount(amount, errors)
    if errors:
        raise ValidationError(errors)
    return _quota_write(actor, quota.bu, quota.user_id, quota.period, value)  # type: ignore[arg-type]


@transaction.atomic
def quota_delete(*, actor: Actor, pk: int) -> None:
    quota = scoped_get(Quota, actor=actor, pk=pk, action="admin")
    audit_delete(actor=actor, obj=quota)
    publish(
        actor=actor,
        name="forecast.quota_deleted",
        payload={"quota_id": quota.pk, "bu_id": quota.bu_id, "user_id": quota.user_id},
    )
    quota.delete()


# --- commission rules ------------------------------------------------------------------


def _percent(value: Any, field: str, errors: dict[str, Any]) -> Decimal | None:
    try:
        rate = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        rate = Decimal("NaN")
    if isinstance(value, bool) or not rate.is_finite() or not 0 <= rate <= 100:
        errors[field] = _("Enter a rate from 0 to 100 per cent.")
    elif rate != rate.quantize(Decimal("0.01")):
        errors[field] = _("Enter a rate with at most 2 decimals.")
    else:
        return rate
    return None


def _clean_tiers(tiers: Any, errors: dict[str, Any]) -> list[dict[str, str]]:
    if not isinstance(tiers, list) or len(tiers) > MAX_TIERS:
        errors["tiers"] = _("Enter at most %(max)d tiers.") % {"max": MAX_TIERS}
        return []
    out: dict[Decimal, dict[str, str]] = {}
    for index, tier in enumerate(tiers):
        if not isinstance(tier, dict):
            errors[f"tiers.{index}"] = _("Each tier needs an attainment threshold and a rate.")
            continue
        try:
            start = Decimal(str(tier.get("from", "")).strip())
        except InvalidOperation:
            start = Decimal("NaN")
        if not start.is_finite() or not 0 < start <= 1000:
            errors[f"tiers.{index}.from"] = _(
                "Enter the attainment (%) from which the tier applies, above 0 and at most 1000."
            )
            continue
        rate = _percent(tier.get("rate", ""), f"tiers.{index}.rate", errors)
        if rate is None:
            continue
        if start in out:
            errors[f"tiers.{index}.from"] = _("Two tiers start at the same attainment.")
            continue
        out[start] = {"from": str(start.normalize()), "rate": str(rate)}
    return [out[k] for k in sorted(out)]


def _clean_rule(
    actor: Actor, data: dict[str, Any], current: CommissionRule | None
) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    bu_id = data.get("bu_id", current.bu_id if current else None)
    unit = _admin_unit(actor, bu_id)
    out: dict[str, Any] = {"bu": unit}
    name = (data.get("name", current.name if current else "") or "").strip()
    if not name:
        errors["name"] = _("This field is required.")
    elif len(name) > 80:
        errors["name"] = _("At most %(limit)d characters.") % {"limit": 80}
    out["name"] = name
    out["rate"] = _percent(data.get("rate", current.rate if current else ""), "rate", errors)
    out["tiers"] = _clean_tiers(data.get("tiers", current.tiers if current else []), errors)
    out["valid_from"] = data.get("valid_from", current.valid_from if current else None)
    out["valid_to"] = data.get("valid_to", current.valid_to if current else None)
    if not isinstance(out["valid_from"], dt.date):
        errors["valid_from"] = _("Enter the first day the rule applies.")
    elif out["valid_to"] is not None and out["valid_to"] < out["valid_from"]:
        errors["valid_to"] = _("The rule cannot end before it starts.")
    role_id = data.get("role_id", current.role_id if current else None)
    user_id = data.get("user_id", current.user_id if current else None)
    if role_id and user_id:
        errors["user_id"] = _("A rule applies to a role or to one rep, not both.")
    out["role"] = Role.objects.filter(pk=role_id, is_active=True).first() if role_id else None
    if role_id and out["role"] is None:
        errors["role_id"] = _("Choose an existing role.")
    out["user_id"] = user_id or None
    if errors:
        raise ValidationError(errors)
    _check_rep(unit, out["user_id"])
    _check_overlap(out, current)
    return out


def _check_overlap(data: dict[str, Any], current: CommissionRule | None) -> None:
    """Two rules for the same unit and the same people cannot be valid on the same day:
    the report would not know which one to pay by."""
    others = CommissionRule.objects.select_for_update().filter(
        bu=data["bu"], role=data["role"], user_id=data["user_id"]
    )
    if current is not None:
        others = others.exclude(pk=current.pk)
    if data["valid_to"] is not None:
        others = others.filter(valid_from__lte=data["valid_to"])
    clash = others.exclude(valid_to__lt=data["valid_from"]).order_by("valid_from").first()
    if clash is not None:
        message = _(
            "The rule “%(name)s” already applies to the same unit and people from %(start)s"
            " to %(end)s: end it first or choose other dates."
        ) % {
            "name": clash.name,
            "start": clash.valid_from.isoformat(),
            "end": clash.valid_to.isoformat() if clash.valid_to else _("open-ended"),
        }
        raise ValidationError({"valid_from": message}, message=message, code="overlapping_rule")


def _rule_event(actor: Actor, rule: CommissionRule, name: str) -> None:
    publish(
        actor=actor,
        name=name,
        payload={"rule_id": rule.pk, "bu_id": rule.bu_id, "rate": str(rule.rate)},
    )


@transaction.atomic
def rule_create(*, actor: Actor, **fields: Any) -> CommissionRule:
    """A commission rule: ``bu_id``, ``name``, ``rate``, ``valid_from``; optional
    ``valid_to``, ``role_id`` or ``user_id``, ``tiers``."""
    data = _clean_rule(actor, fields, None)
    rule = CommissionRule.objects.create(**data)
    ensure_in_scope(rule, actor=actor, action="admin")
    audit_create(actor=actor, obj=rule)
    _rule_event(actor, rule, "forecast.commission_rule_created")
    return rule


@transaction.atomic
def rule_update(*, actor: Actor, pk: int, **fields: Any) -> CommissionRule:
    rule = scoped_get(CommissionRule, actor=actor, pk=pk, action="admin")
    data = _clean_rule(actor, fields, rule)
    before = snapshot(rule)
    for name, value in data.items():
        setattr(rule, name, value)
    rule.save()
    ensure_in_scope(rule, actor=actor, action="admin")
    audit_update(actor=actor, obj=rule, before=before)
    _rule_event(actor, rule, "forecast.commission_rule_changed")
    return rule


@transaction.atomic
def rule_delete(*, actor: Actor, pk: int) -> None:
    rule = scoped_get(CommissionRule, actor=actor, pk=pk, action="admin")
    audit_delete(actor=actor, obj=rule)
    _rule_event(actor, rule, "forecast.commission_rule_deleted")
    rule.delete()


# --- the figures' summary ---------------------------------------------------------------

REFRESH_LOCK = 7_420_261  # pg advisory lock key of forecast_refresh

# Open pipeline per (customer group, selling unit), the groups ranked by their open
# amount across the group and within the business unit below the group (division) that
# sells. One statement: PostgreSQL and SQLite (window functions) alike.
PIPELINE_CELLS_SQL = f"""
INSERT INTO forecast_pipelinecell
    (root_id, bu_id, division_id, total, weighted, count, rank, division_rank)
SELECT root, bu_id, division, total, weighted, n,
       DENSE_RANK() OVER (ORDER BY root_total DESC, root),
       DENSE_RANK() OVER (PARTITION BY division ORDER BY division_total DESC, root)
FROM (
    SELECT root, bu_id, division, total, weighted, n,
           SUM(total) OVER (PARTITION BY root) AS root_total,
           SUM(total) OVER (PARTITION BY division, root) AS division_total
    FROM (
        SELECT CAST(SUBSTR(c.path, 1, {PATH_STEP}) AS INTEGER) AS root, o.bu_id,
               CAST(CASE WHEN LENGTH(b.path) > {PATH_STEP + 1}
                         THEN SUBSTR(b.path, {PATH_STEP + 2}, {PATH_STEP})
                         ELSE SUBSTR(b.path, 1, {PATH_STEP}) END AS INTEGER) AS division,
               SUM(o.amount) AS total, SUM(o.amount * o.probability / 100.0) AS weighted,
               COUNT(*) AS n
        FROM sales_opportunity o
        JOIN customers_customer c ON c.id = o.customer_id
        JOIN org_businessunit b ON b.id = o.bu_id
        WHERE o.status = 'open'
        GROUP BY 1, 2, 3
    ) cells
) ranked
"""


@transaction.atomic
def forecast_refresh(*, actor: Actor) -> dict[str, int]:
    """Rebuild the forecast's summary (credited amounts per unit, rep and month; open
    pipeline per customer group and unit) from the opportunities and their splits. Runs
    every five minutes (tasks.py) and on demand (forecast.admin); quotas and rules are
    read live. Readers see the previous summary until this commits."""
    if not (actor.is_system or actor.can("forecast", "admin")):
        raise PermissionDenied()
    if connection.vendor == "postgresql":
        # Two rebuilds at once (the job and a click) would each delete what was there
        # when they started and both insert: one waits for the other instead.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK])
    now = timezone.now()
    rows = [
        CreditMonth(
            bu_id=c.bu_id,
            user_id=c.user_id,
            month=c.month,
            won=c.won.quantize(CENT),
            commit=c.commit.quantize(CENT),
            best_case=c.best_case.quantize(CENT),
            pipeline=c.pipeline.quantize(CENT),
            weighted=c.weighted.quantize(CENT),
            refreshed_at=now,
        )
        for c in live_credits()
    ]
    CreditMonth.objects.all().delete()
    CreditMonth.objects.bulk_create(rows, batch_size=2000)
    PipelineCell.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(PIPELINE_CELLS_SQL)
        cells = cursor.rowcount
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE forecast_pipelinecell, forecast_creditmonth")
    return {"credits": len(rows), "pipeline_cells": cells}
