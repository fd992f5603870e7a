"""Imports, sources and their mappings, data quality: the REST face of the import pipeline."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["integration"])
