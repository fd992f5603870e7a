"""The generic permission battery for quotas and commission rules (design.md §10)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models

from groupcrm.core.actor import Actor
from groupcrm.core.testing.battery import ScopedBattery
from groupcrm.core.testing.personas import Personas
from groupcrm.sales.forecast.models import CommissionRule, Quota

SYSTEM = Actor.system("tests")


class TestQuotaBattery(ScopedBattery):
    model = Quota
    ui_list = "forecast:quotas"
    ui_detail = "forecast:quota"
    ui_edit = "forecast:quota"
    ui_delete = "forecast:quota_delete"
    api_base = "/api/v1/sales/quotas"
    api_patch = {"amount": "123456"}

    def make(self, personas: Personas, unit: str, owner: str) -> models.Model:
        return Quota.objects.create(
            bu=personas.units[unit],
            user=getattr(personas, owner),
            period=dt.date(2026, 1, 1),
            amount=100000,
        )

    def edit_form(self, row: models.Model) -> dict[str, Any]:
        return {"amount": "200000"}


class TestCommissionRuleBattery(ScopedBattery):
    model = CommissionRule
    ui_list = "forecast:commission"
    ui_detail = "forecast:rule_edit"
    ui_edit = "forecast:rule_edit"
    ui_delete = "forecast:rule_delete"
    api_base = "/api/v1/sales/commission-rules"
    api_patch = {"rate": "4.5"}

    def make(self, personas: Personas, unit: str, owner: str) -> models.Model:
        return CommissionRule.objects.create(
            bu=personas.units[unit],
            user=getattr(personas, owner),
            name=f"{owner} 提成",
            rate=3,
            valid_from=dt.date(2026, 1, 1),
        )

    def edit_form(self, row: models.Model) -> dict[str, Any]:
        return {
            "bu_id": row.bu_id,  # type: ignore[attr-defined]
            "name": "改过的规则",
            "user_id": row.user_id,  # type: ignore[attr-defined]
            "rate": "5",
            "tiers": "100: 7",
            "valid_from": "2026-01-01",
        }
