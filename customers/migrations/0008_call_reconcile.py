from django.db import migrations, models


def fill_number_keys(apps, schema_editor):
    """Existing records get the caller and callee keys the model now computes on save."""
    from customers.models import number_key

    CallRecord = apps.get_model("customers", "CallRecord")
    for record in CallRecord.objects.iterator():
        CallRecord.objects.filter(pk=record.pk).update(
            caller_key=number_key(record.caller), callee_key=number_key(record.callee)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_call_start_known"),
    ]

    operations = [
        migrations.AddField(
            model_name="callrecord",
            name="ccc_state",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "not yet confirmed"),
                    ("confirmed", "confirmed by CCC"),
                    ("unknown", "unknown to CCC"),
                ],
                default="",
                max_length=10,
                verbose_name="CCC",
            ),
        ),
        migrations.AddField(
            model_name="callrecord",
            name="ccc_checked_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="checked with CCC"),
        ),
        migrations.AddField(
            model_name="callrecord",
            name="released_by",
            field=models.CharField(blank=True, max_length=32, verbose_name="released by"),
        ),
        migrations.AddField(
            model_name="callrecord",
            name="release_reason",
            field=models.CharField(blank=True, max_length=128, verbose_name="release reason"),
        ),
        migrations.AddField(
            model_name="callrecord",
            name="skill_group",
            field=models.CharField(blank=True, max_length=64, verbose_name="skill group"),
        ),
        migrations.AddField(
            model_name="callrecord",
            name="caller_key",
            field=models.CharField(blank=True, editable=False, max_length=32),
        ),
        migrations.AddField(
            model_name="callrecord",
            name="callee_key",
            field=models.CharField(blank=True, editable=False, max_length=32),
        ),
        migrations.AddIndex(
            model_name="callrecord",
            index=models.Index(fields=["caller_key"], name="callrecord_caller_key"),
        ),
        migrations.AddIndex(
            model_name="callrecord",
            index=models.Index(fields=["callee_key"], name="callrecord_callee_key"),
        ),
        migrations.RunPython(fill_number_keys, migrations.RunPython.noop),
    ]
