"""What changes the credited figures — an opportunity won, its splits, its unit —
rebuilds the forecast's summary at once, so a win shows on the dashboard without waiting
for the five-minute job; a burst of them rebuilds it at most every half minute (the job
picks up the rest, and every other change: a rebuild takes about 20 s at 1M
opportunities, too much for every stage move)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from groupcrm.core.actor import Actor
from groupcrm.core.events import subscriber
from groupcrm.core.models import OutboxEvent
from groupcrm.sales.forecast.selectors import refreshed_at
from groupcrm.sales.forecast.services import forecast_refresh

AT_MOST_EVERY = dt.timedelta(seconds=30)


def refresh_after_change(event: OutboxEvent) -> None:
    last = refreshed_at()
    if last is None or timezone.now() - last >= AT_MOST_EVERY:
        forecast_refresh(actor=Actor.system("forecast_refresh"))


for _name in (
    "sales.opportunity_won",
    "sales.opportunity_splits_changed",
    "sales.opportunity_transferred",
):
    subscriber(_name)(refresh_after_change)
