"""Search by part of a number, and by one or two characters, without walking the table.

``PhoneNumber.digits`` holds the digit runs a partial-number search looks in
(``customers.phones.search_digits``), filled here for the existing rows; on PostgreSQL a GIN
trigram index on it serves ``digits LIKE '%1234%'`` (https://www.postgresql.org/docs/current/
pgtrgm.html#PGTRGM-INDEX), and one on the upper-cased e-mail serves the admin's search there. A
trigram index cannot serve patterns of one or two characters: btree indexes on the first one and two (upper-cased) characters of name and company, followed
by the list's order (name, id), serve those searches as starts-with, one index range scan a page.
"""

import django.db.models.functions.text
from django.db import migrations, models

BATCH = 5000


def fill_digits(apps, schema_editor):
    from customers.phones import search_digits

    table = apps.get_model("customers", "PhoneNumber")._meta.db_table
    connection = schema_editor.connection
    last_id = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT id, raw FROM {table} WHERE id > %s ORDER BY id LIMIT %s", [last_id, BATCH]
            )
            rows = cursor.fetchall()
            if not rows:
                return
            cursor.executemany(
                f"UPDATE {table} SET digits = %s WHERE id = %s",
                [(search_digits(raw), pk) for pk, raw in rows],
            )
            last_id = rows[-1][0]


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS phone_digits_trgm ON customers_phonenumber "
        "USING gin (digits gin_trgm_ops)"
    )
    # The admin's search also looks in e-mail addresses (as 0002 does for name and company).
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS customer_email_trgm ON customers_customer "
        "USING gin ((UPPER(email::text)) gin_trgm_ops)"
    )
    # Statistics of the new index expressions: without them the planner guesses 1% of the table
    # for each pattern and picks a sequential scan.
    schema_editor.execute("ANALYZE customers_customer")
    schema_editor.execute("ANALYZE customers_phonenumber")


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS phone_digits_trgm")
        schema_editor.execute("DROP INDEX IF EXISTS customer_email_trgm")


def _prefix_index(field, n):
    return models.Index(
        django.db.models.functions.text.Left(django.db.models.functions.text.Upper(field), n),
        models.F("name"),
        models.F("id"),
        name=f"customer_{field}_p{n}",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0010_translated_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="phonenumber",
            name="digits",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                editable=False,
                max_length=80,
                verbose_name="search digits",
            ),
        ),
        migrations.RunPython(fill_digits, migrations.RunPython.noop),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
        *(
            migrations.AddIndex(model_name="customer", index=_prefix_index(field, n))
            for field in ("name", "company")
            for n in (1, 2)
        ),
    ]
