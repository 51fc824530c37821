from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CccProxyConfig(AppConfig):
    """The softphone SDK's server endpoint, forwarding to the CCC OpenAPI."""

    name = "ccc_proxy"
    verbose_name = _("CCC proxy")

    def ready(self) -> None:
        from ccc_proxy import checks  # noqa: F401  (registers the system checks)
