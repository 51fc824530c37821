"""CSV import/export of customers with django-import-export (https://django-import-export.readthedocs.io).

Columns: ``id`` (empty or absent for new customers), ``name``, ``company``, ``email``, ``notes``,
``phones`` (numbers as typed, separated by ``;``). A row with a malformed phone number or no name
is reported by line, and the whole import is rolled back.
"""

from django.core.exceptions import ValidationError
from import_export import fields, resources

from customers.models import Customer, PhoneNumber
from customers.phones import InvalidPhoneNumber, normalize_phone

PHONE_SEPARATOR = ";"


class CustomerResource(resources.ModelResource):
    """Customers with their phone numbers in one ``phones`` column."""

    phones = fields.Field(column_name="phones")

    class Meta:
        model = Customer
        fields = ("id", "name", "company", "email", "notes", "phones")
        export_order = fields
        clean_model_instances = True
        skip_unchanged = False

    def before_import(self, dataset, **kwargs):
        """Accept files without an ``id`` column (every row is then a new customer)."""
        if dataset.headers and "id" not in dataset.headers:
            dataset.append_col([""] * len(dataset), header="id")
        super().before_import(dataset, **kwargs)

    def dehydrate_phones(self, customer):
        return f"{PHONE_SEPARATOR} ".join(p.raw for p in customer.phones.all())

    def import_instance(self, instance, row, **kwargs):
        """Read the fields, then check every number of ``phones`` (kept for after the save)."""
        super().import_instance(instance, row, **kwargs)
        raws = [r.strip() for r in (row.get("phones") or "").split(PHONE_SEPARATOR) if r.strip()]
        if not raws:
            raise ValidationError({"phones": "At least one phone number is needed."})
        errors = []
        for raw in raws:
            try:
                normalize_phone(raw)
            except InvalidPhoneNumber as exc:
                errors.append(str(exc))
        if errors:
            raise ValidationError({"phones": errors})
        instance._imported_phones = raws

    def after_save_instance(self, instance, row, **kwargs):
        """Replace the customer's phone numbers by the row's (nothing is written on a dry run)."""
        super().after_save_instance(instance, row, **kwargs)
        if kwargs.get("dry_run"):
            return
        raws = getattr(instance, "_imported_phones", [])
        instance.phones.all().delete()
        for raw in raws:
            PhoneNumber.objects.create(customer=instance, raw=raw)

    def import_data(self, dataset, **kwargs):
        """As ``ModelResource.import_data``, but any invalid row rolls back the whole import."""
        kwargs.setdefault("rollback_on_validation_errors", True)
        return super().import_data(dataset, **kwargs)
