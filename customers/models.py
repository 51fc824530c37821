"""Customers and their phone numbers (raw text as typed plus an indexed lookup key)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from customers.phones import InvalidPhoneNumber, normalize_phone
from customers.text import validate_multiline, validate_single_line


class Customer(models.Model):
    """A customer the agents work; has one or more :class:`PhoneNumber` rows (``phones``)."""

    # No control characters (NUL...) in stored text: admin forms and CSV import both validate.
    name = models.CharField(max_length=200, validators=[validate_single_line])
    company = models.CharField(max_length=200, blank=True, validators=[validate_single_line])
    email = models.EmailField(blank=True, validators=[validate_single_line])
    notes = models.TextField(blank=True, validators=[validate_multiline])
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        # (name, id) is the keyset of the list page: every page is one index range scan.
        indexes = [models.Index(fields=["name", "id"], name="customer_name_id")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("customers:detail", args=[self.pk])


class PhoneNumber(models.Model):
    """One phone number of a customer: ``raw`` exactly as typed, ``normalized`` for lookup.

    ``normalized`` is ``customers.phones.normalize_phone(raw)`` (E.164, or digits only when the
    number cannot be parsed), recomputed on every save.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones")
    raw = models.CharField("phone number", max_length=64)
    normalized = models.CharField(max_length=32, db_index=True, editable=False)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.raw

    def save(self, *args, **kwargs):
        """Store the normalized key; raises ``InvalidPhoneNumber`` for a malformed number."""
        self.normalized = normalize_phone(self.raw)
        super().save(*args, **kwargs)

    def clean(self):
        """Reject a malformed number with a field error that names it."""
        try:
            self.normalized = normalize_phone(self.raw)
        except InvalidPhoneNumber as exc:
            raise ValidationError({"raw": str(exc)}) from exc
