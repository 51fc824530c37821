"""On PostgreSQL, trigram indexes so that name/company substring search stays fast at scale.

Django's ``icontains`` on PostgreSQL compiles to ``UPPER(col::text) LIKE UPPER('%term%')``; a GIN
index on that expression with ``gin_trgm_ops`` (https://www.postgresql.org/docs/current/pgtrgm.html)
serves it. Other databases get nothing (SQLite scans, which is fine at demo sizes).
"""

from django.db import migrations

INDEXES = {
    "customer_name_trgm": "name",
    "customer_company_trgm": "company",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for index, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index} ON customers_customer "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
