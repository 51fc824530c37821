"""Remove the bidirectional embedding/override/isolate controls (customers.text.BIDI_CONTROLS)
that rows saved before they were refused may hold: with them a name displays reversed. Removing
them changes no visible character; the reverse migration has nothing to restore."""

from django.db import migrations

from customers.text import BIDI_CONTROLS, strip_bidi_controls

CUSTOMER_FIELDS = ("name", "company", "email", "notes")


def _has_bidi(value):
    return any(c in BIDI_CONTROLS for c in value or "")


def strip(apps, schema_editor):
    for model_name, fields in (
        ("Customer", CUSTOMER_FIELDS),
        ("PhoneNumber", ("raw",)),
        ("CallRecord", ("notes",)),
    ):
        model = apps.get_model("customers", model_name)
        for row in model.objects.only("pk", *fields).iterator():
            changed = [f for f in fields if _has_bidi(getattr(row, f))]
            for field in changed:
                setattr(row, field, strip_bidi_controls(getattr(row, field)))
            if changed:
                row.save(update_fields=changed)


class Migration(migrations.Migration):
    dependencies = [("customers", "0008_call_reconcile")]

    operations = [migrations.RunPython(strip, migrations.RunPython.noop)]
