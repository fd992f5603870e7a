"""Inserting many new rows of one model at once, for the bulk paths (imports).

On PostgreSQL the rows go through ``COPY … FROM STDIN``, which psycopg formats in C: for
a wide table it is several times faster than ``bulk_create``'s ``INSERT … UNNEST``, whose
arrays psycopg builds in Python. On SQLite ``bulk_create`` is already the fast way.
Fields set on save (``auto_now``, ``auto_now_add``) get one timestamp per statement, as
the database's ``now()`` would give them.
The objects must have their primary keys set (``reserve_ids``) when the caller needs
them afterwards, because COPY returns nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


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


def new_objects(model: type[M], values: Iterable[dict[str, Any]]) -> list[M]:
    """Unsaved objects of ``model`` from dicts of field values by attribute name
    (``created_by_id``); the fields not given take their defaults. Built the way Django
    builds the rows it loads, every field given in order, which is several times
    cheaper than keyword arguments."""
    fields = model._meta.concrete_fields
    position = {f.attname: i for i, f in enumerate(fields)}
    template = [f.get_default() for f in fields]
    # A callable default (list, dict…) gives every object a value of its own.
    fresh = [(i, f) for i, f in enumerate(fields) if f.has_default() and callable(f.default)]
    objs = []
    for given in values:
        args = template.copy()
        for i, f in fresh:
            args[i] = f.get_default()
        for name, value in given.items():
            args[position[name]] = value
        objs.append(model(*args))
    return objs


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


def _value_of(field: models.Field, first: models.Model) -> Callable[[models.Model], Any]:
    """How to read ``field``'s database value from each object of one INSERT (``first``
    is one of them)."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        # One timestamp for the whole statement, as the database's now() would give.
        return _stamp(field, field.pre_save(first, add=True))
    if type(field) in PLAIN or type(field) in (models.DateField, models.DateTimeField):
        # Exactly these types: subclasses (encrypted text…) convert their values.
        return attrgetter(field.attname)
    return lambda obj: field.get_db_prep_save(field.pre_save(obj, add=True), connection)


def _stamp(field: models.Field, value: Any) -> Callable[[models.Model], Any]:
    """Sets ``value`` on each object (as ``pre_save`` does) and gives its database form."""
    attname, prepared = field.attname, field.get_db_prep_save(value, connection)

    def stamp(obj: models.Model) -> Any:
        setattr(obj, attname, value)
        return prepared

    return stamp


def _copy(model: type[models.Model], fields: Sequence[models.Field], rows: Iterable[Any]) -> None:
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


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
    values = [_value_of(f, objs[0]) for f in fields]
    _copy(model, fields, ([value(obj) for value in values] for obj in objs))
    for obj in objs:  # saved now, as bulk_create leaves them (related managers need it)
        obj._state.adding, obj._state.db = False, connection.alias


def copy_rows(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT new rows of one model given as plain tuples of the fields ``names``
    (attribute names: ``customer_id``), without a model object per row: for the bulk
    paths, where building the objects costs more than writing them. Every other field
    takes its default, computed once for all rows (not for unique defaults)."""
    if not rows:
        return
    meta = model._meta
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(
            [model(**dict(zip(names, row, strict=True))) for row in rows], batch_size=1000
        )
        return
    by_attname = {f.attname: f for f in meta.concrete_fields}
    given = [by_attname[name] for name in names]
    template = model()
    rest = [f for f in meta.concrete_fields if f not in given and not f.primary_key]
    if any(f.unique and f.has_default() for f in rest):
        raise ValueError(f"{meta.label}: a unique default differs per row.")
    defaults = [_value_of(f, template)(template) for f in rest]
    convert = [
        None if type(f) in PLAIN else (lambda value, f=f: f.get_db_prep_save(value, connection))
        for f in given
    ]
    if not any(convert):
        _copy(model, [*given, *rest], ((*row, *defaults) for row in rows))
        return
    _copy(
        model,
        [*given, *rest],
        (
            (*(v if c is None else c(v) for v, c in zip(row, convert, strict=True)), *defaults)
            for row in rows
        ),
    )
