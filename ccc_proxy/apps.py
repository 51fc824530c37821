from django.apps import AppConfig


class CccProxyConfig(AppConfig):
    """The softphone SDK's server endpoint, forwarding to the CCC OpenAPI."""

    name = "ccc_proxy"
    verbose_name = "CCC proxy"

    def ready(self) -> None:
        from ccc_proxy import checks  # noqa: F401  (registers the system checks)
