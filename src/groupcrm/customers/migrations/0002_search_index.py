"""The customer search index (customers.search): pg_trgm on PostgreSQL, FTS5 trigram on
SQLite. The services keep it current."""

from django.db import migrations

PG_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS cust_search_trgm ON customers_customer "
    "USING gin (search_text gin_trgm_ops)",
]
PG_BACKWARD = ["DROP INDEX IF EXISTS cust_search_trgm"]
SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS customers_search USING fts5(body, tokenize='trigram')",
    "INSERT INTO customers_search (rowid, body) SELECT id, search_text FROM customers_customer",
]
SQLITE_BACKWARD = ["DROP TABLE IF EXISTS customers_search"]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        )
    ]
