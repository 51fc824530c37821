"""The OAuth/OIDC provider's routes: ``signin/`` stands for signin.aliyun.com and ``oauth/`` for
oauth.aliyun.com."""

from django.urls import path

from aliyun_sandbox.oauth import views

urlpatterns = [
    path("signin/oauth2/v1/auth", views.authorize, name="oauth_authorize"),
    path("oauth/v1/token", views.token, name="oauth_token"),
    path("oauth/v1/revoke", views.revoke, name="oauth_revoke"),
    path("oauth/v1/userinfo", views.userinfo, name="oauth_userinfo"),
    path("oauth/v1/keys", views.jwks, name="oauth_jwks"),
    path(
        "oauth/.well-known/openid-configuration",
        views.openid_configuration,
        name="oauth_openid_configuration",
    ),
]
