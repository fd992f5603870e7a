"""Background exports of customer and contact lists."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["integration"])
