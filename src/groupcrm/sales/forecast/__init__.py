"""Forecast, quotas, attainment and commission (design.md §3 sales/)."""
