from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    """Customers, their phone numbers and the call log."""

    name = "customers"
    verbose_name = _("Customers and calls")
