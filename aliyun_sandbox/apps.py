from django.apps import AppConfig


class AliyunSandboxConfig(AppConfig):
    """A local stand-in for Alibaba Cloud (OAuth/OIDC, CCC OpenAPI, softphone, call simulator)."""

    name = "aliyun_sandbox"
    verbose_name = "Alibaba Cloud sandbox"
