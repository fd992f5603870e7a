"""Inserting many new rows of one model at once, for the bulk paths (imports).

On PostgreSQL the rows go through ``COPY … FROM STDIN``, which psycopg formats in C: for
a wide table it is several times faster than ``bulk_create``'s ``INSERT … UNNEST``, whose
arrays psycopg builds in Python. On SQLite ``bulk_create`` is already the fast way.
The objects must have their primary keys set (``reserve_ids``) when the caller needs
them afterwards, because COPY returns nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

from django.db import connection, models


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """Primary keys for rows about to be inserted, from the table's own sequence, so that
    values derived from the id (a tree path) are written by the same INSERT."""
    if not count:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite (AUTOINCREMENT): sqlite_sequence holds the highest id ever given; the
        # IMMEDIATE transaction keeps other writers out until the rows are in.
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        found = cursor.fetchone()
        start = (found[0] if found else 0) + 1
        return list(range(start, start + count))


# Fields whose Python value psycopg adapts as it is: no Django conversion per value.
PLAIN = (
    models.CharField,
    models.TextField,
    models.BigIntegerField,
    models.IntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.SmallIntegerField,
    models.BooleanField,
    models.FloatField,
    models.DecimalField,
    models.BigAutoField,
    models.AutoField,
    models.ForeignKey,
)


def _value_of(field: models.Field) -> Callable[[models.Model], Any]:
    if type(field) in PLAIN:  # exactly: subclasses (encrypted text…) convert their values
        return attrgetter(field.attname)
    if type(field) in (models.DateField, models.DateTimeField) and not (
        getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    ):
        return attrgetter(field.attname)
    return lambda obj: field.get_db_prep_save(field.pre_save(obj, add=True), connection)


def insert_rows(objs: Sequence[models.Model]) -> None:
    """INSERT new rows of one model (their ``pk`` set or left to the database)."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, batch_size=1000)
        return
    with_pk = objs[0].pk is not None
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    values = [_value_of(f) for f in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([value(obj) for value in values])
