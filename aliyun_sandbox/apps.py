from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AliyunSandboxConfig(AppConfig):
    """A local stand-in for Alibaba Cloud (OAuth/OIDC, CCC OpenAPI, softphone, call simulator)."""

    name = "aliyun_sandbox"
    verbose_name = _("Alibaba Cloud sandbox")
