from django.apps import AppConfig


class CccProxyConfig(AppConfig):
    """The softphone SDK's server endpoint, forwarding to the CCC OpenAPI."""

    name = "ccc_proxy"
    verbose_name = "CCC proxy"
