"""Reads on sales: opportunity lists and pages, pipelines, the kanban board, and what
sales adds to the customer's 360° view (a timeline source and pipeline roll-ups)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, ExpressionWrapper, F, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, NotFound
from groupcrm.core.scoping import scoped_get
from groupcrm.customers import search
from groupcrm.customers.models import Customer
from groupcrm.customers.selectors import (
    MAX_ROLLUP_COMPANIES,
    TimelineEntry,
    TimelineQuery,
    register_rollup,
    register_timeline,
)
from groupcrm.org.selectors import unit_path
from groupcrm.sales.models import CURRENCY, Opportunity, Pipeline, Stage, StageChange
from groupcrm.sales.services import pipeline_for

SORTS = {
    "close": ("expected_close", "pk"),
    "-close": ("-expected_close", "-pk"),
    "amount": ("amount", "pk"),
    "-amount": ("-amount", "-pk"),
    "name": ("name", "pk"),
    "-updated": ("-updated_at", "-pk"),
    "stage": ("stage__order", "expected_close", "pk"),
}
BOARD_CARDS = 50  # cards shown per column; the column header counts them all
CUSTOMER_MATCHES = 500  # customers a name search narrows the list to


def query_int(value: str | None) -> int | None:
    """An id or number from a query string; None when it is not one, or too large to
    name a row (SQLite cannot even compare it: OverflowError)."""
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    return number if number is None or abs(number) < 2**63 else None


def _month(value: str | None) -> dt.date | None:
    try:
        return dt.datetime.strptime(value, "%Y-%m").date() if value else None
    except ValueError:
        return None


@dataclass
class OpportunityFilters:
    """One filter set for the list page and the API."""

    status: str = ""
    stage_id: int | None = None
    bu_id: int | None = None
    owner_id: int | None = None
    customer_id: int | None = None
    q: str = ""  # customer name, 拼音 or initials, USCC
    close_month: dt.date | None = None  # any day of the month; the month counts
    pipeline_id: int | None = None
    forecast_category: str = ""
    sort: str = ""

    @classmethod
    def from_query(cls, query: QueryDict) -> OpportunityFilters:
        return cls(
            status=query.get("status", ""),
            stage_id=query_int(query.get("stage_id")),
            bu_id=query_int(query.get("bu_id")),
            owner_id=query_int(query.get("owner_id")),
            customer_id=query_int(query.get("customer_id")),
            q=query.get("q", "").strip(),
            close_month=_month(query.get("close_month")),
            pipeline_id=query_int(query.get("pipeline_id")),
            forecast_category=query.get("forecast_category", ""),
            sort=query.get("sort", ""),
        )


def opportunity_list(
    *, actor: Actor, filters: OpportunityFilters | None = None
) -> QuerySet[Opportunity]:
    f = filters or OpportunityFilters()
    items = Opportunity.objects.visible_to(actor, "view").select_related(
        "customer", "bu", "owner", "stage"
    )
    if f.status in Opportunity.Status.values:
        items = items.filter(status=f.status)
    if f.forecast_category in Opportunity.ForecastCategory.values:
        items = items.filter(forecast_category=f.forecast_category)
    if f.stage_id:
        items = items.filter(stage_id=f.stage_id)
    if f.pipeline_id:
        items = items.filter(pipeline_id=f.pipeline_id)
    if f.bu_id:
        items = items.filter(bu__path__startswith=unit_path(f.bu_id))
    if f.owner_id:
        items = items.filter(owner_id=f.owner_id)
    if f.customer_id:
        items = items.filter(customer_id=f.customer_id)
    if f.q:
        items = items.filter(customer_id__in=search.search_ids(f.q, limit=CUSTOMER_MATCHES))
    if f.close_month:
        items = items.filter(
            expected_close__year=f.close_month.year, expected_close__month=f.close_month.month
        )
    return items.order_by(*SORTS.get(f.sort, SORTS["close"]))


def opportunity_get(*, actor: Actor, pk: int, action: str = "view") -> Opportunity:
    return scoped_get(Opportunity, actor=actor, pk=pk, action=action)


def duration_text(seconds: int) -> str:
    days, rest = divmod(max(0, seconds), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": rest // 60}
    return _("%(minutes)d min") % {"minutes": rest // 60}


def time_in_stage(opportunity: Opportunity) -> str:
    return duration_text(int((timezone.now() - opportunity.stage_entered_at).total_seconds()))


def stage_history(opportunity: Opportunity) -> list[StageChange]:
    """The stage changes, latest first, each with its time in the previous stage."""
    changes = list(opportunity.stage_changes.select_related("from_stage", "to_stage", "by"))
    for change in changes:
        change.time_in_previous = duration_text(change.seconds_in_previous)
    return changes


def pipelines_for(*, actor: Actor) -> list[Pipeline]:
    """Every pipeline with its stages, the one the actor's unit uses first."""
    actor.require("opportunities", "view")
    pipelines = list(Pipeline.objects.select_related("bu").prefetch_related("stages"))
    if actor.bu is None:
        return pipelines
    try:
        mine = pipeline_for(actor.bu).pk
    except Conflict:  # no pipeline configured at all: nothing to put first
        return pipelines
    return sorted(pipelines, key=lambda p: p.pk != mine)


def pipeline_get(*, actor: Actor, pk: int | None) -> Pipeline:
    pipelines = pipelines_for(actor=actor)
    if not pipelines:
        raise NotFound()
    if pk is None:
        return pipelines[0]
    for pipeline in pipelines:
        if pipeline.pk == pk:
            return pipeline
    raise NotFound()


@dataclass
class Column:
    stage: Stage
    count: int
    amount: Decimal
    cards: list[Opportunity]


def board(*, actor: Actor, pipeline: Pipeline, filters: OpportunityFilters) -> list[Column]:
    """The kanban columns: one per stage, with its count, total and first cards."""
    items = opportunity_list(actor=actor, filters=filters).filter(pipeline=pipeline)
    totals = {
        row["stage_id"]: row
        for row in items.order_by()
        .values("stage_id")
        .annotate(count=Count("pk"), total=Sum("amount"))
    }
    return [
        Column(
            stage=stage,
            count=totals.get(stage.pk, {}).get("count", 0),
            amount=totals.get(stage.pk, {}).get("total") or Decimal(0),
            cards=list(items.filter(stage=stage)[:BOARD_CARDS]) if stage.pk in totals else [],
        )
        for stage in pipeline.stages.all()
    ]


# --- the customer's 360° view ----------------------------------------------------------


@register_timeline
def opportunities(actor: Actor, customer: Customer, query: TimelineQuery) -> list[TimelineEntry]:
    """The customer's opportunities the viewer may see, each at its creation."""
    if query.kind not in ("", "opportunity") or not actor.can("opportunities", "view"):
        return []
    items = opportunity_list(
        actor=actor, filters=OpportunityFilters(customer_id=customer.pk, bu_id=query.bu_id)
    )
    if query.person_id:
        items = items.filter(owner_id=query.person_id)
    return [
        TimelineEntry(
            at=o.created_at,
            kind="opportunity",
            title=_("Opportunity: %(name)s") % {"name": o.name},
            body=f"{o.stage.name} · {o.amount:,.2f} {CURRENCY}",
            bu_id=o.bu_id,
            bu_name=o.bu.name,
            person_id=o.owner_id,
            person=o.owner.display_name or o.owner.username,
            link=reverse("sales:detail", args=[o.pk]),
            detail={
                "id": o.pk,
                "stage": o.stage.name,
                "status": o.status,
                "amount": str(o.amount),
                "currency": CURRENCY,
                "probability": o.probability,
                "expected_close": o.expected_close.isoformat(),
            },
        )
        for o in items.order_by("-created_at")[: query.limit]
    ]


def group_ids(customer: Customer) -> list[int]:
    """The customer and the companies below it (as the 360 view's roll-ups count)."""
    return list(
        Customer.objects.filter(path__startswith=customer.path)
        .exclude(status=Customer.Status.MERGED)
        .order_by()
        .values_list("pk", flat=True)[:MAX_ROLLUP_COMPANIES]
    )


def _weighted() -> ExpressionWrapper:
    return ExpressionWrapper(
        F("amount") * F("probability") / 100,
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )


def open_pipeline(actor: Actor, customer_ids: list[int]) -> dict[str, Decimal]:
    """Open amount and probability-weighted amount of the customers' open opportunities
    the viewer may see."""
    zero = Decimal(0)
    return (
        Opportunity.objects.visible_to(actor, "view")
        .filter(customer_id__in=customer_ids, status=Opportunity.Status.OPEN)
        .aggregate(total=Coalesce(Sum("amount"), zero), weighted=Coalesce(Sum(_weighted()), zero))
    )


def pipeline_by_unit(actor: Actor, customer_ids: list[int]) -> list[dict[str, Any]]:
    """The same figures per selling unit, largest first."""
    return list(
        Opportunity.objects.visible_to(actor, "view")
        .filter(customer_id__in=customer_ids, status=Opportunity.Status.OPEN)
        .values("bu_id", "bu__name")
        .annotate(count=Count("pk"), total=Sum("amount"), weighted=Sum(_weighted()))
        .order_by("-total", "bu_id")
    )


register_rollup(
    "open_pipeline",
    gettext_lazy("Open pipeline (CNY)"),
    lambda actor, ids: int(open_pipeline(actor, ids)["total"]),
)
register_rollup(
    "weighted_pipeline",
    gettext_lazy("Weighted pipeline (CNY)"),
    lambda actor, ids: int(open_pipeline(actor, ids)["weighted"]),
)


def splits_of(opportunity: Opportunity) -> list[tuple[int, int | None, Decimal]]:
    """(unit id, rep id, percent) credited with the opportunity's amount when won: its
    splits, else 100 % to its own unit and owner."""
    rows = [(s.bu_id, s.user_id, s.percent) for s in opportunity.splits.all()]
    return rows or [(opportunity.bu_id, opportunity.owner_id, Decimal(100))]
