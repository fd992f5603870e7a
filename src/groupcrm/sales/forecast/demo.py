"""Demo forecast: monthly quotas over the past year and the next quarter, commission
rules per subsidiary and forecast categories on the open demo opportunities, all through
the services (audit and events as real use leaves them). Run after the demo pipeline
(sales.demo.load_pipeline) and whatever splits its wins (referrals, conflicts)."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import ROUND_UP, Decimal

from django.db import transaction
from django.utils import timezone

from groupcrm.core.actor import Actor
from groupcrm.org.models import BusinessUnit, Membership
from groupcrm.sales.forecast.services import forecast_refresh, quota_bulk_set, rule_create
from groupcrm.sales.models import Opportunity
from groupcrm.sales.selectors import splits_of
from groupcrm.sales.services import opportunity_update

MONTHS_BACK, MONTHS_AHEAD = 11, 3  # the demo pipeline spans the past year
FLOOR = Decimal(300_000)  # a rep without wins still gets a quota
STEP = Decimal(10_000)
SALES_ROLES = ("account_manager", "sales_lead")


def _round(amount: Decimal) -> Decimal:
    return (amount / STEP).quantize(Decimal(1), ROUND_UP) * STEP


def load_forecast(*, rng_seed: int = 2026) -> dict[str, int]:
    """Quotas for every demo account manager and their units from eleven months ago to
    three months ahead, sized on what each rep is credited with in an average month of the
    past year (attainment over the year 70–125 %); a commission rule per subsidiary (2 %,
    3 % from 100 %, 4 % from 120 % attainment); forecast categories on the open
    opportunities by their probability."""
    rng = random.Random(rng_seed)
    system = Actor.system("demo")
    counts = {"quotas": 0, "commission_rules": 0, "forecast_categories": 0}
    today = timezone.localdate()
    first = today.replace(day=1)
    for _ in range(MONTHS_BACK):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    start, months = first.strftime("%Y-%m"), MONTHS_BACK + 1 + MONTHS_AHEAD
    # What each rep is credited with in an average month of the past year (splits included).
    since = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    won: dict[int, Decimal] = defaultdict(Decimal)
    for opportunity in Opportunity.objects.filter(
        status=Opportunity.Status.WON, closed_at__gte=since
    ).prefetch_related("splits"):
        for _bu_id, user_id, percent in splits_of(opportunity):
            if user_id is not None:
                won[user_id] += opportunity.amount * percent / 100 / (MONTHS_BACK + 1)
    reps: dict[int, list[int]] = defaultdict(list)
    for bu_id, user_id in (
        Membership.objects.filter(is_active=True, role__code__in=SALES_ROLES)
        .order_by("bu_id", "user_id")
        .values_list("bu_id", "user_id")
    ):
        reps[bu_id].append(user_id)
    with transaction.atomic():
        for bu_id, people in reps.items():
            unit_total = Decimal(0)
            for user_id in people:
                factor = Decimal(str(rng.uniform(0.7, 1.25)))
                amount = _round(won[user_id] / factor) if won.get(user_id) else FLOOR
                unit_total += amount
                counts["quotas"] += len(
                    quota_bulk_set(
                        actor=system,
                        bu_id=bu_id,
                        start=start,
                        months=months,
                        amount=amount,
                        user_ids=[user_id],
                    )
                )
            counts["quotas"] += len(
                quota_bulk_set(
                    actor=system,
                    bu_id=bu_id,
                    start=start,
                    months=months,
                    amount=_round(unit_total * Decimal("1.05")),
                    user_ids=[None],
                )
            )
        for unit in BusinessUnit.objects.filter(
            kind=BusinessUnit.Kind.SUBSIDIARY, is_active=True
        ).order_by("path"):
            rule_create(
                actor=system,
                bu_id=unit.pk,
                name=f"{unit.name}销售提成",
                rate="2",
                tiers=[{"from": 100, "rate": "3"}, {"from": 120, "rate": "4"}],
                valid_from=first,
            )
            counts["commission_rules"] += 1
        for opportunity in Opportunity.objects.filter(status=Opportunity.Status.OPEN).order_by(
            "pk"
        ):
            roll = rng.random()
            if roll < 0.05:
                category = Opportunity.ForecastCategory.OMITTED
            elif opportunity.probability >= 60 and roll < 0.8:
                category = Opportunity.ForecastCategory.COMMIT
            elif opportunity.probability >= 30 and roll < 0.7:
                category = Opportunity.ForecastCategory.BEST_CASE
            else:
                continue
            opportunity_update(
                actor=system,
                pk=opportunity.pk,
                version=opportunity.version,
                forecast_category=category,
            )
            counts["forecast_categories"] += 1
        forecast_refresh(actor=system)
    return counts
