"""The duplicate review queues (customers and contacts) and batch dedup runs."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["integration"])
