from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    """Customers, their phone numbers and the call log."""

    name = "customers"
    verbose_name = _("Customers and calls")

    def ready(self):
        # The permission cache must hear of every change of groups and permissions from the
        # start, not from the first permission check on.
        import crmdemo.permission_cache  # noqa: F401
