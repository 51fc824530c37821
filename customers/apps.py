from django.apps import AppConfig


class CustomersConfig(AppConfig):
    """Customers, their phone numbers and the call log."""

    name = "customers"
