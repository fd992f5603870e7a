"""Periodic jobs of the forecast: each calls a service."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from groupcrm.core.actor import Actor
from groupcrm.sales.forecast.services import forecast_refresh


@db_periodic_task(crontab(minute="*/5"))
def refresh_forecast() -> dict[str, int]:
    """Rebuild the forecast's figures from the opportunities every five minutes."""
    return forecast_refresh(actor=Actor.system("forecast_refresh"))
