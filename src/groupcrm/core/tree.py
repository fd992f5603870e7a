"""Materialised-path trees (business units, customer groups): one statement re-hangs a
whole subtree, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr


def move_subtree(
    model: type[models.Model], node: models.Model, parent: models.Model | None
) -> None:
    """Move ``node`` and everything below it under ``parent`` (None: to the top).

    The caller has checked that ``parent`` is not inside the subtree."""
    old_prefix = node.path  # type: ignore[attr-defined]
    new_prefix = (parent.path if parent else "") + node.own_segment()  # type: ignore[attr-defined]
    depth_delta = (parent.depth + 1 if parent else 0) - node.depth  # type: ignore[attr-defined]
    model._default_manager.filter(path__startswith=old_prefix).update(
        path=Concat(Value(new_prefix), Substr("path", len(old_prefix) + 1)),
        depth=F("depth") + depth_delta,
    )
    model._default_manager.filter(pk=node.pk).update(parent=parent)
    node.refresh_from_db()
