"""Indexes for the forecast (sales.forecast): won by close time, open by expected close,
open by customer (the group pipeline roll-up). On PostgreSQL they cover the grouped
columns (INCLUDE), so the aggregates read the index only.

Raw SQL, kept out of the model state on purpose: Django's ``Index(include=…)`` is
PostgreSQL-only and would differ between the two databases' states."""

from django.db import migrations

INDEXES = [
    ("sales_opp_won_at", "status, closed_at", "bu_id, owner_id, amount"),
    (
        "sales_opp_open_close",
        "status, expected_close",
        "bu_id, owner_id, amount, probability, forecast_category",
    ),
    ("sales_opp_status_customer", "status, customer_id", "bu_id, amount, probability"),
]


def create(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, columns, include in INDEXES:
        extra = f" INCLUDE ({include})" if postgres else ""
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON sales_opportunity ({columns}){extra}"
        )


def drop(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    for name, _columns, _include in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("sales", "0003_forecast_category_splits")]

    operations = [migrations.RunPython(create, drop)]
