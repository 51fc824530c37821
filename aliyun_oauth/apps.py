from django.apps import AppConfig


class AliyunOauthConfig(AppConfig):
    """OAuth 2.0 / OIDC client to Alibaba Cloud: per-agent tokens."""

    name = "aliyun_oauth"
    verbose_name = "Alibaba Cloud accounts"
