from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AliyunOauthConfig(AppConfig):
    """OAuth 2.0 / OIDC client to Alibaba Cloud: per-agent tokens."""

    name = "aliyun_oauth"
    verbose_name = _("Alibaba Cloud accounts")
