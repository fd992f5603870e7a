"""Reads on forecast, quotas and commission: figures per rep or unit for a period.

Won revenue is credited through revenue splits: an opportunity without splits credits
100 % to its own unit and owner, one with splits credits each unit (and rep) its share,
in the month it closed. Open opportunities count the same way in their expected close
month, by forecast category. All sums are SQL aggregates (GROUP BY unit, rep, month):
nothing loops over opportunities in Python; the roll-ups up the unit tree and the
commission rates work on those few grouped rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Substr, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.core.actor import Actor
from groupcrm.core.errors import ValidationError
from groupcrm.core.permissions import DataScope
from groupcrm.core.scoping import scoped_get
from groupcrm.customers.models import Customer
from groupcrm.org.models import PATH_STEP, BusinessUnit, Membership, User
from groupcrm.org.selectors import units_for
from groupcrm.sales.forecast.models import CommissionRule, CreditMonth, PipelineCell, Quota
from groupcrm.sales.models import Opportunity, RevenueSplit

ZERO = Decimal(0)
CENT = Decimal("0.01")
MONEY = DecimalField(max_digits=24, decimal_places=6)
FIGURES = ("won", "commit", "best_case", "pipeline", "weighted")
SEGMENT = PATH_STEP + 1  # one level of a materialised path: 8 digits and "/"


class Level:
    REP = "rep"
    TEAM = "team"
    BU = "bu"
    GROUP = "group"
    ALL = (REP, TEAM, BU, GROUP)


def level_choices() -> list[tuple[str, str]]:
    return [
        (Level.REP, _("Sales rep")),
        (Level.TEAM, _("Team (unit and the units below it)")),
        (Level.BU, _("Business unit")),
        (Level.GROUP, _("Group")),
    ]


# --- periods -----------------------------------------------------------------------------


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """A month (``2026-03``), a quarter (``2026-Q1``) or a year (``2026``)."""

    start: dt.date
    months: int
    code: str

    @classmethod
    def parse(cls, text: str | None, field: str = "period") -> Period:
        text = (text or "").strip().upper()
        if not text:
            return cls.current_quarter()
        if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
            year, month = int(m[1]), int(m[2])
            if 1 <= month <= 12 and 2000 <= year <= 2100:
                return cls(dt.date(year, month, 1), 1, text)
        elif m := re.fullmatch(r"(\d{4})-?Q([1-4])", text):
            year, quarter = int(m[1]), int(m[2])
            if 2000 <= year <= 2100:
                return cls(dt.date(year, quarter * 3 - 2, 1), 3, f"{year}-Q{quarter}")
        elif re.fullmatch(r"\d{4}", text) and 2000 <= int(text) <= 2100:
            return cls(dt.date(int(text), 1, 1), 12, text)
        raise ValidationError(
            {field: _("Enter a period as a month (2026-03), a quarter (2026-Q1) or a year.")}
        )

    @classmethod
    def current_quarter(cls) -> Period:
        today = timezone.localdate()
        quarter = (today.month - 1) // 3 + 1
        return cls(dt.date(today.year, quarter * 3 - 2, 1), 3, f"{today.year}-Q{quarter}")

    @property
    def end(self) -> dt.date:
        """The first day after the period."""
        return add_months(self.start, self.months)

    @property
    def month_list(self) -> list[dt.date]:
        return [add_months(self.start, n) for n in range(self.months)]

    @property
    def year(self) -> Period:
        return Period(dt.date(self.start.year, 1, 1), 12, str(self.start.year))

    def contains(self, month: dt.date) -> bool:
        return self.start <= month < self.end


def _aware(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


# --- scope -------------------------------------------------------------------------------


def _credit_scope(actor: Actor, bu_field: str, user_field: str) -> Q | None:
    """Which credited (unit, rep) pairs the actor's ``forecast.view`` reaches; None: all.

    The same reach as ScopedModel.scope_q, applied to the credited unit and rep (which,
    for a split, are not the opportunity's own)."""
    actor.require("forecast", "view")
    if actor.is_system or actor.is_superuser:
        return None
    condition = Q(pk__in=[])
    for grant in actor.grants("forecast", "view"):
        if grant.scope == DataScope.GROUP:
            return None
        if grant.scope == DataScope.SUBTREE:
            condition |= Q(**{f"{bu_field}__path__startswith": grant.bu_path})
        elif grant.scope == DataScope.TEAM:
            condition |= Q(**{f"{bu_field}_id": grant.bu_id})
        else:
            condition |= Q(**{f"{bu_field}_id": grant.bu_id, f"{user_field}_id": actor.user_id})
    return condition


def visible_units(actor: Actor) -> list[BusinessUnit]:
    """The units whose figures the actor may look at (the unit picker)."""
    actor.require("forecast", "view")
    return list(units_for(actor=actor, module="forecast", action="view"))


def _selected(actor: Actor, bu_id: int | None) -> BusinessUnit | None:
    if bu_id is None:
        return None
    unit = next((u for u in visible_units(actor) if u.pk == bu_id), None)
    if unit is None:
        raise ValidationError({"bu_id": _("Choose a business unit you may see figures of.")})
    return unit


# --- credits: the grouped SQL -----------------------------------------------------------


@dataclass
class Credit:
    bu_id: int
    bu_path: str
    user_id: int | None
    month: dt.date
    won: Decimal = ZERO
    commit: Decimal = ZERO
    best_case: Decimal = ZERO
    pipeline: Decimal = ZERO
    weighted: Decimal = ZERO


def _month(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.date().replace(day=1)
    return value.replace(day=1)


def _no_splits() -> Exists:
    return Exists(RevenueSplit.objects.filter(opportunity=OuterRef("pk")))


def _share(expression: Any) -> ExpressionWrapper:
    return ExpressionWrapper(expression, output_field=MONEY)


def _open_sums(prefix: str, factor: Any) -> dict[str, Any]:
    """commit / best case / pipeline amounts and the weighted amount of open rows."""
    category = f"{prefix}forecast_category"
    amount = F(f"{prefix}amount") * factor
    kinds = Opportunity.ForecastCategory
    return {
        "commit": Sum(_share(amount), filter=Q(**{category: kinds.COMMIT})),
        "best_case": Sum(_share(amount), filter=Q(**{category: kinds.BEST_CASE})),
        "pipeline": Sum(_share(amount), filter=Q(**{category: kinds.PIPELINE})),
        "weighted": Sum(
            _share(amount * F(f"{prefix}probability") / 100),
            filter=~Q(**{category: kinds.OMITTED}),
        ),
    }


def live_credits() -> list[Credit]:
    """Won (by close month) and open (by expected close month, per forecast category)
    amounts credited to each (unit, rep, month), straight from the opportunities and
    their splits: four grouped queries, for ``services.forecast_refresh``."""
    whole = Opportunity.objects.filter(~_no_splits())
    shared = RevenueSplit.objects.all()
    won, open_ = Opportunity.Status.WON, Opportunity.Status.OPEN
    queries = [
        whole.filter(status=won, closed_at__isnull=False)
        .annotate(m=TruncMonth("closed_at"), user_id=F("owner_id"), path=F("bu__path"))
        .values("bu_id", "path", "user_id", "m")
        .annotate(won=Sum("amount")),
        shared.filter(opportunity__status=won, opportunity__closed_at__isnull=False)
        .annotate(m=TruncMonth("opportunity__closed_at"), path=F("bu__path"))
        .values("bu_id", "path", "user_id", "m")
        .annotate(won=Sum(_share(F("opportunity__amount") * F("percent") / 100))),
        whole.filter(status=open_)
        .annotate(m=TruncMonth("expected_close"), user_id=F("owner_id"), path=F("bu__path"))
        .values("bu_id", "path", "user_id", "m")
        .annotate(**_open_sums("", 1)),
        shared.filter(opportunity__status=open_)
        .annotate(m=TruncMonth("opportunity__expected_close"), path=F("bu__path"))
        .values("bu_id", "path", "user_id", "m")
        .annotate(**_open_sums("opportunity__", F("percent") / 100)),
    ]
    out: dict[tuple[int, int | None, dt.date], Credit] = {}
    for query in queries:
        for row in query.order_by():
            key = (row["bu_id"], row["user_id"], _month(row["m"]))
            credit = out.get(key) or out.setdefault(
                key, Credit(row["bu_id"], row["path"], row["user_id"], key[2])
            )
            for name in FIGURES:
                if row.get(name):
                    setattr(credit, name, getattr(credit, name) + Decimal(row[name]))
    return list(out.values())


def credits(actor: Actor, period: Period, unit: BusinessUnit | None = None) -> list[Credit]:
    """The credited amounts per (unit, rep, month) of ``period`` within the actor's
    reach and ``unit``'s subtree, as of the last refresh (CreditMonth)."""
    items = CreditMonth.objects.filter(month__gte=period.start, month__lt=period.end)
    scope = _credit_scope(actor, "bu", "user")
    if scope is not None:
        items = items.filter(scope)
    if unit is not None:
        items = items.filter(bu__path__startswith=unit.path)
    return [
        Credit(
            row["bu_id"],
            row["bu__path"],
            row["user_id"],
            row["month"],
            **{name: row[name] for name in FIGURES},
        )
        for row in items.values("bu_id", "bu__path", "user_id", "month", *FIGURES)
    ]


def refreshed_at() -> dt.datetime | None:
    """When the figures were last rebuilt (None: never)."""
    return (
        CreditMonth.objects.order_by("-refreshed_at").values_list("refreshed_at", flat=True).first()
    )


def quotas(actor: Actor, period: Period, unit: BusinessUnit | None = None) -> QuerySet[Quota]:
    items = Quota.objects.visible_to(actor, "view").filter(
        period__gte=period.start, period__lt=period.end
    )
    if unit is not None:
        items = items.filter(bu__path__startswith=unit.path)
    return items


# --- the forecast table ----------------------------------------------------------------


@dataclass
class Row:
    key: int | None
    label: str
    depth: int = 0
    path: str = ""
    quota: Decimal = ZERO
    won: Decimal = ZERO
    commit: Decimal = ZERO
    best_case: Decimal = ZERO
    pipeline: Decimal = ZERO
    weighted: Decimal = ZERO
    has_quota: bool = False

    def add(self, credit: Credit) -> None:
        for name in FIGURES:
            setattr(self, name, getattr(self, name) + getattr(credit, name))

    @property
    def forecast(self) -> Decimal:
        """What the unit or rep expects to book: won plus committed."""
        return self.won + self.commit

    @property
    def attainment(self) -> Decimal | None:
        """Won as a percentage of the quota (None without a quota)."""
        if not self.has_quota or not self.quota:
            return None
        return (self.won * 100 / self.quota).quantize(Decimal("0.1"), ROUND_HALF_UP)

    def as_dict(self) -> dict[str, Any]:
        money = {
            name: str(getattr(self, name).quantize(CENT, ROUND_HALF_UP))
            for name in ("quota", *FIGURES, "forecast")
        }
        attainment = self.attainment
        return {
            "key": self.key,
            "label": self.label,
            "depth": self.depth,
            **money,
            "attainment": str(attainment) if attainment is not None else None,
        }


@dataclass
class Forecast:
    period: Period
    level: str
    unit: BusinessUnit | None
    rows: list[Row]
    total: Row
    months: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not any(r.has_quota or any(getattr(r, n) for n in FIGURES) for r in self.rows)


def _unit_quotas(
    units: list[BusinessUnit],
    unit_rows: dict[tuple[int, dt.date], Decimal],
    rep_rows: dict[tuple[int, dt.date], Decimal],
    months: list[dt.date],
) -> dict[tuple[int, dt.date], Decimal]:
    """A unit's quota in a month: its own (set for the unit as a whole), else the sum of
    its reps' quotas and of its child units' quotas (deepest units first)."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for unit in units:
        children[unit.parent_id].append(unit.pk)
    result: dict[tuple[int, dt.date], Decimal] = {}
    for unit in sorted(units, key=lambda u: -u.depth):
        for month in months:
            own = unit_rows.get((unit.pk, month))
            if own is not None:
                result[unit.pk, month] = own
                continue
            below = [result[c, month] for c in children[unit.pk] if (c, month) in result]
            reps = rep_rows.get((unit.pk, month))
            if below or reps is not None:
                result[unit.pk, month] = sum(below, reps or ZERO)
    return result


def forecast(
    *, actor: Actor, period: Period, level: str = Level.TEAM, bu_id: int | None = None
) -> Forecast:
    """The forecast table of ``period`` at ``level`` within ``bu_id``'s subtree (default:
    what the actor may see), with a row per rep or unit, a total and the months of the
    period's year for the chart."""
    if level not in Level.ALL:
        raise ValidationError({"level": _("Choose a level: rep, team, bu or group.")})
    unit = _selected(actor, bu_id)
    year = period.year
    all_credits = credits(actor, year, unit)
    quota_rows = list(quotas(actor, year, unit).values_list("bu_id", "user_id", "period", "amount"))
    in_period = [c for c in all_credits if period.contains(c.month)]
    units = [u for u in visible_units(actor) if unit is None or u.path.startswith(unit.path)]
    if level == Level.REP:
        rows, total_quota = _rep_rows(in_period, quota_rows, period)
    else:
        rows, total_quota = _unit_rows(level, units, in_period, quota_rows, period)
    total = Row(None, _("Total"), quota=total_quota, has_quota=bool(total_quota))
    for credit in in_period:
        total.add(credit)
    return Forecast(
        period, level, unit, rows, total, _months(level, units, all_credits, quota_rows, year)
    )


def _rep_rows(
    credits_: list[Credit], quota_rows: list[tuple], period: Period
) -> tuple[list[Row], Decimal]:
    rows: dict[int | None, Row] = {}
    for _bu_id, user_id, month, amount in quota_rows:
        if user_id is not None and period.contains(month):
            row = rows.setdefault(user_id, Row(user_id, ""))
            row.quota += amount
            row.has_quota = True
    for credit in credits_:
        rows.setdefault(credit.user_id, Row(credit.user_id, "")).add(credit)
    names = {
        u.pk: u.display_name or u.username
        for u in User.objects.filter(pk__in=[k for k in rows if k is not None])
    }
    for key, row in rows.items():
        row.label = names.get(key, "") if key is not None else _("No rep (unit share)")
    ordered = sorted(rows.values(), key=lambda r: (r.key is None, -r.won, r.label))
    return ordered, sum((r.quota for r in ordered), ZERO)


def _unit_rows(
    level: str,
    units: list[BusinessUnit],
    credits_: list[Credit],
    quota_rows: list[tuple],
    period: Period,
) -> tuple[list[Row], Decimal]:
    if level == Level.TEAM:
        shown = units
    else:
        depth = 1 if level == Level.BU else 0
        shown = [u for u in units if u.depth == depth] or units[:1]
    rows = {u.pk: Row(u.pk, u.name, depth=u.depth, path=u.path) for u in shown}
    by_path = {u.path: u.pk for u in shown}
    for credit in credits_:
        # Every shown unit on the credited unit's path (itself and its ancestors) gets it.
        for cut in range(SEGMENT, len(credit.bu_path) + 1, SEGMENT):
            pk = by_path.get(credit.bu_path[:cut])
            if pk is not None:
                rows[pk].add(credit)
    months = period.month_list
    unit_quota = _quota_by_unit(units, quota_rows, months)
    for row in rows.values():
        for month in months:
            if (row.key, month) in unit_quota:
                row.quota += unit_quota[row.key, month]  # type: ignore[index]
                row.has_quota = True
    top = [
        r
        for r in rows.values()
        if not any(r.path != o.path and r.path.startswith(o.path) for o in rows.values())
    ]
    ordered = sorted(rows.values(), key=lambda r: r.path)
    base = min((r.depth for r in ordered), default=0)
    for row in ordered:
        row.depth -= base
    return ordered, sum((r.quota for r in top), ZERO)


def _quota_by_unit(
    units: list[BusinessUnit], quota_rows: list[tuple], months: list[dt.date]
) -> dict[tuple[int, dt.date], Decimal]:
    own: dict[tuple[int, dt.date], Decimal] = {}
    reps: dict[tuple[int, dt.date], Decimal] = defaultdict(Decimal)
    for bu_id, user_id, month, amount in quota_rows:
        if user_id is None:
            own[bu_id, month] = amount
        else:
            reps[bu_id, month] += amount
    return _unit_quotas(units, own, reps, months)


def _months(
    level: str,
    units: list[BusinessUnit],
    credits_: list[Credit],
    quota_rows: list[tuple],
    year: Period,
) -> list[dict[str, Any]]:
    """Quota, won and forecast (won + commit) per month of the year, for the chart."""
    months = year.month_list
    if level == Level.REP:
        quota = defaultdict(Decimal)
        for _bu, user_id, month, amount in quota_rows:
            if user_id is not None:
                quota[month] += amount
    else:
        by_unit = _quota_by_unit(units, quota_rows, months)
        paths = [u.path for u in units]
        tops = [u for u in units if not any(u.path != p and u.path.startswith(p) for p in paths)]
        quota = defaultdict(Decimal)
        for unit in tops:
            for month in months:
                quota[month] += by_unit.get((unit.pk, month), ZERO)
    won: dict[dt.date, Decimal] = defaultdict(Decimal)
    commit: dict[dt.date, Decimal] = defaultdict(Decimal)
    for credit in credits_:
        won[credit.month] += credit.won
        commit[credit.month] += credit.commit
    return [
        {
            "month": m.strftime("%Y-%m"),
            "quota": str(quota[m].quantize(CENT)),
            "won": str(won[m].quantize(CENT, ROUND_HALF_UP)),
            "forecast": str((won[m] + commit[m]).quantize(CENT, ROUND_HALF_UP)),
        }
        for m in months
    ]


# --- the group pipeline roll-up ---------------------------------------------------------


@dataclass
class GroupRollup:
    units: list[BusinessUnit]
    rows: list[dict[str, Any]]


def _cell_scope(actor: Actor) -> Q | bool | None:
    """Which summary cells the actor's ``opportunities.view`` reaches: None for all,
    a condition, or False when only own-record grants apply (cells have no owner)."""
    if actor.is_system or actor.is_superuser:
        return None
    condition, wider = Q(pk__in=[]), False
    for grant in actor.grants("opportunities", "view"):
        if grant.scope == DataScope.GROUP:
            return None
        if grant.scope == DataScope.SUBTREE:
            condition |= Q(bu__path__startswith=grant.bu_path)
            wider = True
        elif grant.scope == DataScope.TEAM:
            condition |= Q(bu_id=grant.bu_id)
            wider = True
    return condition if wider else False


def _whole_division(actor: Actor) -> int | None:
    """The business unit below the group whose subtree is all the actor's scope reaches
    (a subsidiary's manager), else None: its ranking is precomputed."""
    grants = actor.grants("opportunities", "view")
    if len(grants) == 1 and grants[0].scope == DataScope.SUBTREE:
        parts = [part for part in grants[0].bu_path.split("/") if part]
        if len(parts) == 2:
            return int(parts[1])
    return None


def group_pipeline(*, actor: Actor, top: int = 20) -> GroupRollup:
    """Open pipeline per customer group (the root of the customer's hierarchy) and per
    business unit (the units right below the group), for the ``top`` customer groups by
    open amount; only what the actor's opportunity scope reaches. Read from the cells of
    the last refresh; someone who sees only their own opportunities gets them live."""
    actor.require("forecast", "view")
    top = max(1, min(top, 100))
    if not actor.can("opportunities", "view"):
        return GroupRollup([], [])
    scope = _cell_scope(actor)
    if scope is False:
        return _live_group_pipeline(actor, top)
    cells = PipelineCell.objects.all()
    division = _whole_division(actor)
    if scope is None:
        cells = cells.filter(rank__lte=top)
    elif division is not None:
        cells = cells.filter(division_id=division, division_rank__lte=top)
    else:
        cells = cells.filter(scope)
        leaders = (
            cells.values("root_id").annotate(sum=Sum("total")).order_by("-sum", "root_id")[:top]
        )
        cells = cells.filter(root_id__in=[row["root_id"] for row in leaders])
    rows = cells.annotate(unit=Substr("bu__path", 1, 2 * SEGMENT)).values(
        "root_id", "unit", "total", "weighted", "count"
    )
    return _rollup(
        [
            (row["root_id"], row["unit"], row["total"], row["weighted"], row["count"])
            for row in rows
        ],
        top,
    )


def _live_group_pipeline(actor: Actor, top: int) -> GroupRollup:
    items = Opportunity.objects.visible_to(actor, "view").filter(status=Opportunity.Status.OPEN)
    rows = (
        items.annotate(
            root=Substr("customer__path", 1, PATH_STEP), unit=Substr("bu__path", 1, 2 * SEGMENT)
        )
        .values("root", "unit")
        .annotate(
            total=Sum("amount"),
            weighted=Sum(_share(F("amount") * F("probability") / 100)),
            count=Count("pk"),
        )
        .order_by()
    )
    return _rollup(
        [(int(r["root"]), r["unit"], r["total"], r["weighted"], r["count"]) for r in rows], top
    )


def _rollup(cells: list[tuple[int, str, Decimal, Decimal, int]], top: int) -> GroupRollup:
    """Cells (customer group, unit path prefix, amounts) summed per business unit below
    the group, the ``top`` customer groups by open amount first."""
    grid: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    for root, unit_path, total, weighted, count in cells:
        bu = int([part for part in unit_path.split("/") if part][-1])
        cell = grid[root].setdefault(bu, {"total": ZERO, "weighted": ZERO, "count": 0})
        cell["total"] += total
        cell["weighted"] += weighted or ZERO
        cell["count"] += count
    totals = {root: sum(c["total"] for c in units.values()) for root, units in grid.items()}
    leaders = sorted(totals, key=lambda root: (-totals[root], root))[:top]
    units = list(
        BusinessUnit.objects.filter(pk__in={bu for r in leaders for bu in grid[r]}).order_by("path")
    )
    names = dict(Customer.objects.filter(pk__in=leaders).values_list("pk", "legal_name"))
    rows = [
        {
            "customer_id": root,
            "customer_name": names.get(root, ""),
            "total": totals[root],
            "weighted": sum((c["weighted"] for c in grid[root].values()), ZERO),
            "count": sum(c["count"] for c in grid[root].values()),
            "cells": [grid[root].get(u.pk) for u in units],
        }
        for root in leaders
    ]
    return GroupRollup(units, rows)


# --- commission --------------------------------------------------------------------------


@dataclass
class CommissionLine:
    user_id: int
    name: str
    units: list[str]
    won: Decimal
    quota: Decimal | None
    attainment: Decimal | None
    rules: list[str]
    rate: Decimal | None  # the effective rate (commission / won), for display
    commission: Decimal
    unruled: Decimal  # won with no rule to pay it by


def _rule_for(
    rules: list[CommissionRule],
    unit_path: str,
    user_id: int,
    role_ids: set[int],
    month: dt.date,
) -> CommissionRule | None:
    """The most specific rule valid in ``month``: for the rep, else their role, else the
    unit; among those the one of the nearest unit."""
    best: tuple[int, int] | None = None
    found = None
    for rule in rules:
        if not unit_path.startswith(rule.bu.path) or rule.valid_from > month:
            continue
        if rule.valid_to is not None and rule.valid_to < month:
            continue
        if rule.user_id is not None and rule.user_id != user_id:
            continue
        if rule.role_id is not None and rule.role_id not in role_ids:
            continue
        rank = (2 if rule.user_id else 1 if rule.role_id else 0, rule.bu.depth)
        if best is None or rank > best:
            best, found = rank, rule
    return found


def commission_report(
    *, actor: Actor, period: Period, bu_id: int | None = None
) -> list[CommissionLine]:
    """Commission per rep: each month's credited won amount (splits included) times the
    rate of the rule that applies then, at the tier the rep's attainment over the whole
    period reaches."""
    unit = _selected(actor, bu_id)
    rep_credits = [c for c in credits(actor, period, unit) if c.user_id and c.won]
    quota_of: dict[int, Decimal] = defaultdict(Decimal)
    for user_id, amount in (
        quotas(actor, period, unit).filter(user__isnull=False).values_list("user_id", "amount")
    ):
        quota_of[user_id] += amount
    user_ids = {c.user_id for c in rep_credits} | set(quota_of)
    if not user_ids:
        return []
    rules = list(CommissionRule.objects.select_related("bu").filter(valid_from__lt=period.end))
    roles: dict[int, set[int]] = defaultdict(set)
    for user_id, role_id in Membership.objects.filter(
        user_id__in=user_ids, is_active=True
    ).values_list("user_id", "role_id"):
        roles[user_id].add(role_id)
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids)}
    unit_names = dict(BusinessUnit.objects.values_list("pk", "name"))
    won_of: dict[int, Decimal] = defaultdict(Decimal)
    for credit in rep_credits:
        won_of[credit.user_id] += credit.won  # type: ignore[index]
    lines = []
    for user_id in user_ids:
        won = won_of[user_id]
        quota = quota_of.get(user_id)
        attainment = (won * 100 / quota).quantize(Decimal("0.1"), ROUND_HALF_UP) if quota else None
        commission = unruled = ZERO
        used: dict[int, str] = {}
        mine = [c for c in rep_credits if c.user_id == user_id]
        for credit in mine:
            rule = _rule_for(rules, credit.bu_path, user_id, roles[user_id], credit.month)
            if rule is None:
                unruled += credit.won
                continue
            rate = rule.rate_for(attainment)
            used[rule.pk] = f"{rule.name} ({rate}%)"
            commission += credit.won * rate / 100
        commission = commission.quantize(CENT, ROUND_HALF_UP)
        user = users[user_id]
        lines.append(
            CommissionLine(
                user_id=user_id,
                name=user.display_name or user.username,
                units=sorted({unit_names.get(c.bu_id, "") for c in mine}),
                won=won.quantize(CENT, ROUND_HALF_UP),
                quota=quota,
                attainment=attainment,
                rules=list(used.values()),
                rate=(commission * 100 / won).quantize(CENT, ROUND_HALF_UP) if won else None,
                commission=commission,
                unruled=unruled.quantize(CENT, ROUND_HALF_UP),
            )
        )
    return sorted(lines, key=lambda line: (-line.commission, -line.won, line.name))


# --- lists for the admin pages ------------------------------------------------------------


def quota_list(
    *,
    actor: Actor,
    bu_id: int | None = None,
    user_id: int | None = None,
    period: Period | None = None,
) -> QuerySet[Quota]:
    items = Quota.objects.visible_to(actor, "view").select_related("bu", "user")
    if bu_id:
        items = items.filter(bu_id=bu_id)
    if user_id:
        items = items.filter(user_id=user_id)
    if period is not None:
        items = items.filter(period__gte=period.start, period__lt=period.end)
    return items.order_by("period", "bu__path", "user_id", "pk")


def rule_get(*, actor: Actor, pk: int, action: str = "view") -> CommissionRule:
    return scoped_get(CommissionRule, actor=actor, pk=pk, action=action)


def quota_get(*, actor: Actor, pk: int, action: str = "view") -> Quota:
    return scoped_get(Quota, actor=actor, pk=pk, action=action)


def rule_list(*, actor: Actor, bu_id: int | None = None) -> QuerySet[CommissionRule]:
    items = CommissionRule.objects.visible_to(actor, "view").select_related("bu", "role", "user")
    if bu_id:
        items = items.filter(bu_id=bu_id)
    return items.order_by("bu__path", "-valid_from", "pk")
