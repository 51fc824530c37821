"""The sandbox's routes, under ``/sandbox/`` (crmdemo/urls.py), one module per imitated system:
the OAuth/OIDC provider, the CCC OpenAPI and the telephony (agent server, call simulator). All
names live in the ``aliyun_sandbox`` namespace."""

from django.urls import include, path

app_name = "aliyun_sandbox"
urlpatterns = [
    path("", include("aliyun_sandbox.oauth.urls")),
    path("", include("aliyun_sandbox.ccc.urls")),
    path("", include("aliyun_sandbox.telephony.urls")),
]
